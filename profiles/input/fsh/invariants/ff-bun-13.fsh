// On NationalReturnBundle.entry:child: a conditional update on the provider-scoped identifier (guide.md 0.7).
Invariant: ff-bun-13
Description: "Each RelatedPerson entry is a conditional update (PUT) keyed on its provider-record identifier"
Severity: #error
Expression: "request.method = 'PUT' and request.url.startsWith('RelatedPerson?identifier=https://fhir-family.uk/fhir/Id/provider-record|')"
