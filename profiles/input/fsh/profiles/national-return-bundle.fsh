Profile: NationalReturnBundle
Parent: Bundle
Id: national-return-bundle
Title: "National return bundle"
Description: "One provider's national return about one parent: a transaction Bundle (so any FHIR server can take it as-is) holding the ReportingProvider, the ParentPatient, the MentalHealthEpisode and one DependentChild per child. Entries use conditional create/update on identifiers, so resending the same return changes nothing; Bundle.identifier is the submission id."
* insert GuideMetadata
* obeys ff-bun-1 and ff-bun-2 and ff-bun-3 and ff-bun-4 and ff-bun-5 and ff-bun-6 and ff-bun-8 and ff-bun-9
* identifier 1..1
* identifier ^short = "Submission id (system https://fhir-family.uk/fhir/Id/submission)"
* identifier.system 1..1
* identifier.value 1..1
* type = #transaction (exactly)
* timestamp 1..1
* entry 3..*
* entry.fullUrl 1..1
* entry.fullUrl ^short = "urn:uuid: derived deterministically from the submission id and the entry's role and position"
* entry.resource 1..1
* entry.request 1..1
