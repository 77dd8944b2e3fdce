Extension: ParentalResponsibility
Id: parental-responsibility
Title: "Parental responsibility"
Description: "Whether the patient holds parental responsibility for this child (Children Act 1989, England), how it was acquired (basis) and what shares or restricts it (restriction). A patient can be a parent without parental responsibility, and can hold it without being a parent."
Context: RelatedPerson
* insert GuideMetadata
* obeys ff-pr-1
* extension contains
    held 1..1 and
    basis 0..* MS and
    restriction 0..* MS
* extension[held] ^short = "The patient holds parental responsibility for the child: Y, N or UNK"
* extension[held].value[x] 1..1
* extension[held].value[x] only CodeableConcept
* extension[held].value[x] from YesNoUnknownValueSet (required)
* extension[basis] ^short = "How the patient acquired parental responsibility (only when held is Y); several may apply"
* insert PopulateIfKnown(extension[basis])
* extension[basis].value[x] 1..1
* extension[basis].value[x] only CodeableConcept
* extension[basis].value[x] from ParentalResponsibilityBasisValueSet (required)
* extension[restriction] ^short = "What shares or restricts the patient's parental responsibility (a care order, another's special guardianship, a placement order)"
* insert PopulateIfKnown(extension[restriction])
* extension[restriction].value[x] 1..1
* extension[restriction].value[x] only CodeableConcept
* extension[restriction].value[x] from ParentalResponsibilityRestrictionValueSet (required)
