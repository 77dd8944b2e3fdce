// On the parental-responsibility extension: `basis` only when `held` is Y (yes-no-unknown).
Invariant: ff-pr-1
Description: "A legal basis for parental responsibility may be given only when responsibility is held (Y)"
Severity: #error
Expression: "extension.where(url = 'basis').exists() implies extension.where(url = 'held').value.coding.where(system = 'https://fhir-family.uk/fhir/CodeSystem/yes-no-unknown' and code = 'Y').exists()"
