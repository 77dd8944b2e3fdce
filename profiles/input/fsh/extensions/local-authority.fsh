Extension: LocalAuthority
Id: local-authority
Title: "Local authority of residence"
Description: "The local authority the person lives in, as its ONS GSS code (E06, E07, E08, E09 or E10 and six digits), so figures can be produced per local authority and safeguarding partnership without an address. On the patient; on a child only where it differs from the patient's."
Context: Patient, RelatedPerson
* insert GuideMetadata
* obeys ff-la-1
* value[x] 1..1
* value[x] only Coding
* valueCoding.system 1..1
* valueCoding.system = "http://statistics.data.gov.uk/id/statistical-geography" (exactly)
* valueCoding.code 1..1
