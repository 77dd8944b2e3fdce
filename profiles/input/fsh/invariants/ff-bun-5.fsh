// On NationalReturnBundle: no child born after the reporting date, the end of the return's reporting period on
// Bundle.meta (ISO dates compare as text; a partial date is not flagged early).
Invariant: ff-bun-5
Description: "No dependent child may be born after the reporting date (the end of the reporting-period extension on Bundle.meta)"
Severity: #error
Expression: "entry.resource.ofType(RelatedPerson).all(iif(birthDate.toString() > %context.meta.extension.where(url = 'https://fhir-family.uk/fhir/StructureDefinition/reporting-period').value.end.toString(), false, true))"
