ValueSet: ThinkFamilyActionValueSet
Id: think-family-action
Title: "Think family action"
Description: "Every code of think-family-action."
* insert GuideMetadata
* include codes from system ThinkFamilyActionCodeSystem
