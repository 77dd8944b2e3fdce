// On NationalReturnBundle (the reporting period is the return's, on Bundle.meta): the patient cannot have been
// asked after the reporting date (ISO dates compare as text).
Invariant: ff-ps-3
Description: "The date the patient was asked (parental-status dateAsked) must be on or before the reporting date (the end of the reporting-period extension on Bundle.meta)"
Severity: #error
Expression: "entry.resource.ofType(Patient).extension.where(url = 'https://fhir-family.uk/fhir/StructureDefinition/parental-status').extension.where(url = 'dateAsked').value.all(iif($this.toString() > %context.meta.extension.where(url = 'https://fhir-family.uk/fhir/StructureDefinition/reporting-period').value.end.toString(), false, true))"
