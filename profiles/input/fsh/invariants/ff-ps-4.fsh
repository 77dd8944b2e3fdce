// On the parental-status extension: 'none' support stands alone.
Invariant: ff-ps-4
Description: "supportOffered 'none' must be the only support offered recorded"
Severity: #error
Expression: "extension.where(url = 'supportOffered').value.coding.where(system = 'https://fhir-family.uk/fhir/CodeSystem/support-offered' and code = 'none').exists() implies extension.where(url = 'supportOffered').count() = 1"
