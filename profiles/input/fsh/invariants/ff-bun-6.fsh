// On NationalReturnBundle: the episode that puts the parent in scope started by the reporting date.
Invariant: ff-bun-6
Description: "The mental health episode must start on or before the reporting date (reportingPeriod.end of the parent's parental-status)"
Severity: #error
Expression: "entry.resource.ofType(EpisodeOfCare).all(iif(period.start.toString().substring(0, 10) > %context.entry.resource.ofType(Patient).extension.where(url = 'https://fhir-family.uk/fhir/StructureDefinition/parental-status').extension.where(url = 'reportingPeriod').value.end.toString(), false, true))"
