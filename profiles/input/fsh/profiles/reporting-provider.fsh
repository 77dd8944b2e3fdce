Profile: ReportingProvider
Parent: Organization
Id: reporting-provider
Title: "Reporting provider"
Description: "The provider organisation that sends the national return, identified by its ODS code."
* insert GuideMetadata
* identifier 1..*
* identifier ^slicing.discriminator.type = #value
* identifier ^slicing.discriminator.path = "system"
* identifier ^slicing.rules = #open
* identifier ^slicing.description = "Sliced on the identifier system; the ODS code has its own slice."
* identifier contains odsCode 1..1
* identifier[odsCode] ^short = "ODS code of the organisation"
* identifier[odsCode] obeys ff-ods-1
* identifier[odsCode].system 1..1
* identifier[odsCode].system = "https://fhir.nhs.uk/Id/ods-organization-code" (exactly)
* identifier[odsCode].value 1..1
* name 0..1
