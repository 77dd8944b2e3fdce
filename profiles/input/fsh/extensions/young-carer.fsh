Extension: YoungCarer
Id: young-carer
Title: "Young carer"
Description: "Whether the child provides care for the patient or another family member (Children in Need census factor 7A)."
Context: RelatedPerson
* insert GuideMetadata
* value[x] 1..1
* value[x] only CodeableConcept
* value[x] from YesNoUnknownValueSet (required)
