// On NationalReturnBundle.entry:patient: a conditional update on the provider-scoped identifier (guide.md 0.7).
Invariant: ff-bun-11
Description: "The Patient entry is a conditional update (PUT) keyed on its provider-record identifier"
Severity: #error
Expression: "request.method = 'PUT' and request.url.startsWith('Patient?identifier=https://fhir-family.uk/fhir/Id/provider-record|')"
