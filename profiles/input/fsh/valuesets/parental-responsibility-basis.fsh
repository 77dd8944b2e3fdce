ValueSet: ParentalResponsibilityBasisValueSet
Id: parental-responsibility-basis
Title: "Legal basis of parental responsibility"
Description: "Every legal basis of parental responsibility in England and Wales this guide knows."
* insert GuideMetadata
* include codes from system ParentalResponsibilityBasisCodeSystem
