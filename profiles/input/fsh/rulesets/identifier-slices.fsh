// The provider-scoped business identifier (guide.md 0.7): `<ODS>/<local id>[/<local child id>]`, the key of the
// entry's conditional update, so a resend changes nothing and two providers never write the same resource.
// Needs `identifier` already sliced on `system` (UK Core's Patient slicing, or NhsNumberSlice).
RuleSet: ProviderRecordSlice(min)
* identifier contains providerRecord {min}..1 MS
* identifier[providerRecord] ^short = "Provider-scoped business identifier: <ODS>/<local id>"
* identifier[providerRecord] ^definition = "The provider's own id for this resource, prefixed with the provider's ODS code (local ids percent-encoded): the key of the entry's conditional update (guide.md 0.7)."
* identifier[providerRecord].system 1..1
* identifier[providerRecord].system = "https://fhir-family.uk/fhir/Id/provider-record" (exactly)
* identifier[providerRecord].value 1..1

// The collector's pseudonym of an NHS number (export profiles only): hex HMAC-SHA256 under the collector's key.
RuleSet: PseudonymSlice(min)
* identifier contains pseudonym {min}..1 MS
* identifier[pseudonym] ^short = "Pseudonymised NHS number (the collector's pseudonym)"
* identifier[pseudonym] ^definition = "The NHS number replaced by the national collector's pseudonym (hex HMAC-SHA256 under the collector's key)."
* identifier[pseudonym].system 1..1
* identifier[pseudonym].system = "https://fhir-family.uk/fhir/Id/nhs-number-pseudonym" (exactly)
* identifier[pseudonym].value 1..1
