// On NationalReturnBundle: 'not a parent' means no child under the inclusion rules (guide.md 0.2), so none is listed.
Invariant: ff-bun-9
Description: "A return whose parental status is 'not-a-parent' lists no dependent children (children of the household are counted in childrenInHousehold)"
Severity: #error
Expression: "entry.resource.ofType(Patient).extension.where(url = 'https://fhir-family.uk/fhir/StructureDefinition/parental-status').extension.where(url = 'status').value.coding.where(system = 'https://fhir-family.uk/fhir/CodeSystem/parental-status' and code = 'not-a-parent').exists() implies entry.resource.ofType(RelatedPerson).empty()"
