// Metadata every conformance resource carries (docs/model.md: version 0.2.0, status draft, publisher with a
// contact, copyright, jurisdiction England: the legal bases are those of England). A fixed date keeps rebuilds
// byte-identical.
RuleSet: GuideMetadata
* ^version = "0.2.0"
* ^status = #draft
* ^experimental = false
* ^date = "2026-11-23"
* ^publisher = "fhir-family"
* ^contact.name = "fhir-family"
* ^contact.telecom.system = #email
* ^contact.telecom.value = "guide@fhir-family.uk"
* ^purpose = "Part of a national data definition that lets adult mental health services in England record and report that a patient is a parent or carer of dependent children, so that those children are identified and supported (Ofsted and CQC, 'What about the children?')."
* ^copyright = "CC0-1.0. Codes from HL7 (v3 RoleCode, v2 table 0063) and HL7 UK (UK Core) are used under their licences; NDTMS codes are owned by the Office for Health Improvement and Disparities (OHID)."
* ^jurisdiction = $iso3166-2#GB-ENG "England"

// The same metadata for resources written as Instances (ConceptMaps), which assign elements directly.
RuleSet: InstanceMetadata(id)
* url = "https://fhir-family.uk/fhir/ConceptMap/{id}"
* version = "0.2.0"
* status = #draft
* experimental = false
* date = "2026-11-23"
* publisher = "fhir-family"
* contact.name = "fhir-family"
* contact.telecom.system = #email
* contact.telecom.value = "guide@fhir-family.uk"
* copyright = "CC0-1.0. Codes from HL7 (v3 RoleCode, v2 table 0063) and HL7 UK (UK Core) are used under their licences; NDTMS codes are owned by the Office for Health Improvement and Disparities (OHID)."
* jurisdiction = $iso3166-2#GB-ENG "England"
