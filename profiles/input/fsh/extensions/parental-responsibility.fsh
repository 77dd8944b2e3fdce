Extension: ParentalResponsibility
Id: parental-responsibility
Title: "Parental responsibility"
Description: "Whether the patient holds parental responsibility for this child (Children Act 1989) and on what legal basis. A patient can be a parent without parental responsibility, and can hold it without being a parent."
Context: RelatedPerson
* insert GuideMetadata
* obeys ff-pr-1
* extension contains
    held 1..1 and
    basis 0..*
* extension[held] ^short = "The patient holds parental responsibility for the child: Y, N or UNK"
* extension[held].value[x] 1..1
* extension[held].value[x] only CodeableConcept
* extension[held].value[x] from YesNoUnknownValueSet (required)
* extension[basis] ^short = "Legal basis of the patient's parental responsibility (only when held is Y)"
* extension[basis].value[x] 1..1
* extension[basis].value[x] only CodeableConcept
* extension[basis].value[x] from ParentalResponsibilityBasisValueSet (required)
