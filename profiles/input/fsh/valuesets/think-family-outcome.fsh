ValueSet: ThinkFamilyOutcomeValueSet
Id: think-family-outcome
Title: "Think family outcome"
Description: "Every code of think-family-outcome."
* insert GuideMetadata
* include codes from system ThinkFamilyOutcomeCodeSystem
