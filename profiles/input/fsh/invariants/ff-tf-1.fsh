// On the think-family-referral extension: an outcome follows a referral or a notification only.
Invariant: ff-tf-1
Description: "A think-family outcome may be given only when the action is 'referred' or 'notified'"
Severity: #error
Expression: "extension.where(url = 'outcome').exists() implies extension.where(url = 'action').value.coding.where(system = 'https://fhir-family.uk/fhir/CodeSystem/think-family-action' and (code = 'referred' or code = 'notified')).exists()"
