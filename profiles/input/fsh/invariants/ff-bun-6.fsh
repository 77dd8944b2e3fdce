// On NationalReturnBundle: the episode that puts the parent in scope started by the reporting date.
Invariant: ff-bun-6
Description: "The mental health episode must start on or before the reporting date (the end of the reporting-period extension on Bundle.meta)"
Severity: #error
Expression: "entry.resource.ofType(EpisodeOfCare).all(iif(period.start.toString().substring(0, 10) > %context.meta.extension.where(url = 'https://fhir-family.uk/fhir/StructureDefinition/reporting-period').value.end.toString(), false, true))"
