// Metadata every conformance resource carries (docs/model.md: version 0.1.0, status draft, publisher,
// jurisdiction GB). A fixed date keeps rebuilds byte-identical.
RuleSet: GuideMetadata
* ^version = "0.1.0"
* ^status = #draft
* ^experimental = false
* ^date = "2026-11-23"
* ^publisher = "fhir-family"
* ^jurisdiction = $iso3166#GB "United Kingdom of Great Britain and Northern Ireland"

// The same metadata for resources written as Instances (ConceptMaps), which assign elements directly.
RuleSet: InstanceMetadata(id)
* url = "https://fhir-family.uk/fhir/ConceptMap/{id}"
* version = "0.1.0"
* status = #draft
* experimental = false
* date = "2026-11-23"
* publisher = "fhir-family"
* jurisdiction = $iso3166#GB "United Kingdom of Great Britain and Northern Ireland"
