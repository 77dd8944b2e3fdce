Profile: ReportingProvider
Parent: UKCore-Organization
Id: reporting-provider
Title: "Reporting provider"
Description: "The provider organisation that sends the national return, identified by its ODS code."
* insert GuideMetadata
* identifier 1..*
* identifier[odsOrganisationCode] 1..1 MS
* identifier[odsOrganisationCode] ^short = "ODS code of the organisation"
* identifier[odsOrganisationCode] obeys ff-ods-1
* name 0..1
