ValueSet: ParentalStatusValueSet
Id: parental-status
Title: "Parental status"
Description: "Every parental-status code (1:1 with NDTMS PRNTSTAT)."
* insert GuideMetadata
* include codes from system ParentalStatusCodeSystem
