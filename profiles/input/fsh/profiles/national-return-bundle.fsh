Profile: NationalReturnBundle
Parent: Bundle
Id: national-return-bundle
Title: "National return bundle"
Description: "One provider's national return about one parent for one reporting period: a transaction Bundle holding the ReportingProvider, the ParentPatient, the MentalHealthEpisode and one DependentChild per child. The entries are sliced by resource type, each slice bound to its profile, so a generic validator enforces each entry's profile without meta.profile. Every entry but the Organization is a conditional update on its provider-scoped identifier (provider-record), the Organization a conditional create on its ODS code, so loading the same return twice changes nothing and two providers never write the same resource (guide.md 0.7). The return's own facts (reporting period, legal basis) are extensions on Bundle.meta. Bundle.identifier is the submission id, the collector's idempotency key."
* insert GuideMetadata
* obeys ff-bun-1 and ff-bun-2 and ff-bun-3 and ff-bun-4 and ff-bun-5 and ff-bun-6 and ff-bun-8 and ff-bun-9 and ff-ps-3
* meta 1..1
* meta.extension contains
    ReportingPeriod named reportingPeriod 1..1 and
    LegalBasis named legalBasis 1..1
* meta.extension[reportingPeriod] ^short = "The month the return covers; its end is the reporting date"
* meta.extension[legalBasis] ^short = "The basis under which the record flows"
* identifier 1..1
* identifier ^short = "Submission id"
* identifier.system 1..1
* identifier.system = "https://fhir-family.uk/fhir/Id/submission" (exactly)
* identifier.value 1..1
* type = #transaction (exactly)
* timestamp 1..1
* entry 3..*
* entry.fullUrl 1..1
* entry.fullUrl ^short = "urn:uuid: derived deterministically from the submission id and the entry's role and position"
* entry.resource 1..1
* entry.request 1..1
* entry ^slicing.discriminator.type = #type
* entry ^slicing.discriminator.path = "resource"
* entry ^slicing.rules = #open
* entry ^slicing.description = "Sliced by the type of the entry's resource (each type once, children repeat); each slice's resource must conform to its profile (as HL7 IPS slices its Bundle)."
* entry contains
    organization 1..1 and
    patient 1..1 and
    episode 1..1 and
    child 0..*
* entry[organization].resource only ReportingProvider
* entry[organization] obeys ff-bun-14
* entry[patient].resource only ParentPatient
* entry[patient] obeys ff-bun-11
* entry[episode].resource only MentalHealthEpisode
* entry[episode] obeys ff-bun-12
* entry[child].resource only DependentChild
* entry[child] obeys ff-bun-13
