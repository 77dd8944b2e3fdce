// On DependentChild: an adoption order always gives the adopter parental responsibility (ACA 2002 s.46(1)), so
// held may not be N or UNK (an unknown code is reported by its binding alone).
Invariant: ff-pr-2
Description: "An adopted child (CHLDADOPT, DAUADOPT, SONADOPT) must have parental responsibility held = Y: an adoption order gives the adopter parental responsibility (Adoption and Children Act 2002 s.46(1))"
Severity: #error
Expression: "relationship.coding.where(system = 'http://terminology.hl7.org/CodeSystem/v3-RoleCode' and (code = 'CHLDADOPT' or code = 'DAUADOPT' or code = 'SONADOPT')).exists() implies extension.where(url = 'https://fhir-family.uk/fhir/StructureDefinition/parental-responsibility').extension.where(url = 'held').value.coding.where(system = 'https://fhir-family.uk/fhir/CodeSystem/yes-no-unknown' and (code = 'N' or code = 'UNK')).empty()"
