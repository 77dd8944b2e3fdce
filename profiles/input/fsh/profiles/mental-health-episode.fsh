Profile: MentalHealthEpisode
Parent: UKCore-EpisodeOfCare
Id: mental-health-episode
Title: "Mental health episode"
Description: "The adult mental health service episode that puts the parent in scope of the return, with its period."
* insert GuideMetadata
* text 0..0
* diagnosis 0..0
* referralRequest 0..0
* careManager 0..0
* team 0..0
* account 0..0
* status 1..1
* patient 1..1
* patient only Reference(ParentPatient)
* managingOrganization 1..1
* managingOrganization only Reference(ReportingProvider)
* period 1..1
* period.start 1..1
