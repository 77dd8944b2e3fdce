Extension: HelpAndProtection
Id: help-and-protection
Title: "Help and protection"
Description: "Help or protection the child already has from children's social care; repeats, one per kind of help."
Context: RelatedPerson
* insert GuideMetadata
* value[x] 1..1
* value[x] only CodeableConcept
* value[x] from ChildHelpAndProtectionValueSet (required)
