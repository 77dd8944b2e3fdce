ValueSet: ParentalStatusValueSet
Id: parental-status
Title: "Parental status"
Description: "Every parental-status code, not-asked included."
* insert GuideMetadata
* include codes from system ParentalStatusCodeSystem
