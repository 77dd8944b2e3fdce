Profile: MentalHealthEpisode
Parent: UKCore-EpisodeOfCare
Id: mental-health-episode
Title: "Mental health episode"
Description: "The adult mental health service episode that puts the parent in scope of the return: the MHSDS service request id and the provider-record identifier (the key of the conditional update), the MHSDS service or team type, and its period."
* insert GuideMetadata
* text 0..0
* diagnosis 0..0
* referralRequest 0..0
* careManager 0..0
* team 0..0
* account 0..0
* identifier ^slicing.discriminator.type = #value
* identifier ^slicing.discriminator.path = "system"
* identifier ^slicing.rules = #open
* identifier ^slicing.description = "Sliced on the identifier system."
* insert ProviderRecordSlice(1)
* identifier contains mhsdsServiceRequest 1..1 MS
* identifier[mhsdsServiceRequest] ^short = "MHSDS service request id (ServiceRequestId)"
* identifier[mhsdsServiceRequest] ^definition = "The MHSDS service request id of the referral this episode belongs to, unique within the provider: joins the return to MHSDS."
* identifier[mhsdsServiceRequest].system 1..1
* identifier[mhsdsServiceRequest].system = "https://fhir-family.uk/fhir/Id/mhsds-service-request" (exactly)
* identifier[mhsdsServiceRequest].value 1..1
* status 1..1
* type 1..1 MS
* type from MhsdsTeamTypeValueSet (extensible)
* type ^short = "MHSDS service or team type (ServTeamTypeRefToMH) of the team that holds the episode: what puts the patient in scope"
* patient 1..1
* patient only Reference(ParentPatient)
* managingOrganization 1..1
* managingOrganization only Reference(ReportingProvider)
* period 1..1
* period.start 1..1
