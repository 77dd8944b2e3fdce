// On the parental-status extension: dateAsked is required unless the status is not-asked; when it is, nobody
// asked, so there is no dateAsked, askedBy or source.
Invariant: ff-ps-2
Description: "dateAsked is required unless the status is 'not-asked'; a 'not-asked' status has no dateAsked, askedBy or source"
Severity: #error
Expression: "iif(extension.where(url = 'status').value.coding.where(system = 'https://fhir-family.uk/fhir/CodeSystem/parental-status' and code = 'not-asked').exists(), extension.where(url = 'dateAsked' or url = 'askedBy' or url = 'source').empty(), extension.where(url = 'dateAsked').exists())"
