// On NationalReturnBundle: no child born after the reporting date (ISO dates compare as text; a partial date is not flagged early).
Invariant: ff-bun-5
Description: "No dependent child may be born after the reporting date (reportingPeriod.end of the parent's parental-status)"
Severity: #error
Expression: "entry.resource.ofType(RelatedPerson).all(iif(birthDate.toString() > %context.entry.resource.ofType(Patient).extension.where(url = 'https://fhir-family.uk/fhir/StructureDefinition/parental-status').extension.where(url = 'reportingPeriod').value.end.toString(), false, true))"
