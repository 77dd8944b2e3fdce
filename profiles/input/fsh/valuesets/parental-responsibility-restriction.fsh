ValueSet: ParentalResponsibilityRestrictionValueSet
Id: parental-responsibility-restriction
Title: "What shares or restricts parental responsibility"
Description: "Every code of parental-responsibility-restriction."
* insert GuideMetadata
* include codes from system ParentalResponsibilityRestrictionCodeSystem
