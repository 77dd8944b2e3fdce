Extension: ChildResidence
Id: child-residence
Title: "Child residence"
Description: "Where the dependent child lives, relative to the patient."
Context: RelatedPerson
* insert GuideMetadata
* value[x] 1..1
* value[x] only CodeableConcept
* value[x] from ChildResidenceValueSet (required)
