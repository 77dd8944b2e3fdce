ValueSet: ParentalStatusSourceValueSet
Id: parental-status-source
Title: "Source of the parental status"
Description: "Every code of parental-status-source."
* insert GuideMetadata
* include codes from system ParentalStatusSourceCodeSystem
