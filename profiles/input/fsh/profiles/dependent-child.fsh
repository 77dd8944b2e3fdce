Profile: DependentChild
Parent: RelatedPerson
Id: dependent-child
Title: "Dependent child"
Description: "A dependent child (under 18 on the reporting date) of the patient, as a RelatedPerson of the patient: how the child is related to the patient, date of birth, NHS number where known, whether the patient holds parental responsibility, where the child lives, whether the child is a young carer and what help or protection the child has. No name, contact details or free text (data minimisation)."
* insert GuideMetadata
* insert NoIdentifyingDetail
* period 0..0
* extension contains
    ParentalResponsibility named parentalResponsibility 1..1 and
    ChildResidence named childResidence 1..1 and
    YoungCarer named youngCarer 1..1 and
    HelpAndProtection named helpAndProtection 1..*
* insert NhsNumberSlice(0)
* patient only Reference(ParentPatient)
* relationship 1..1
* relationship from DependentChildRelationshipValueSet (required)
* birthDate 1..1
* gender 0..1
