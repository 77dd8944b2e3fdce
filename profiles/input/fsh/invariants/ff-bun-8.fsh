// On NationalReturnBundle: a patient who declined to answer, or was not asked, lists no children (guide.md 0.3).
Invariant: ff-bun-8
Description: "A return whose parental status is 'declined' or 'not-asked' lists no dependent children"
Severity: #error
Expression: "entry.resource.ofType(Patient).extension.where(url = 'https://fhir-family.uk/fhir/StructureDefinition/parental-status').extension.where(url = 'status').value.coding.where(system = 'https://fhir-family.uk/fhir/CodeSystem/parental-status' and (code = 'declined' or code = 'not-asked')).exists() implies entry.resource.ofType(RelatedPerson).empty()"
