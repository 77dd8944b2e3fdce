// On DependentChild: each kind of help once.
Invariant: ff-hp-2
Description: "No help-and-protection code may be recorded twice for one child"
Severity: #error
Expression: "extension.where(url = 'https://fhir-family.uk/fhir/StructureDefinition/help-and-protection').value.coding.where(system = 'https://fhir-family.uk/fhir/CodeSystem/help-and-protection').code.isDistinct()"
