// On DependentChild: 'none' and 'not-known' help stand alone (guide.md 0.4: every level that applies is recorded).
Invariant: ff-hp-1
Description: "Help and protection 'none' or 'not-known' must be the only help-and-protection recorded for the child"
Severity: #error
Expression: "extension.where(url = 'https://fhir-family.uk/fhir/StructureDefinition/help-and-protection').value.coding.where(system = 'https://fhir-family.uk/fhir/CodeSystem/help-and-protection' and (code = 'none' or code = 'not-known')).exists() implies extension.where(url = 'https://fhir-family.uk/fhir/StructureDefinition/help-and-protection').count() = 1"
