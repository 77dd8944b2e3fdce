Profile: DependentChild
Parent: UKCore-RelatedPerson
Id: dependent-child
Title: "Dependent child"
Description: "A dependent child (under 18 on the reporting date) of the patient, as a RelatedPerson of the patient: how the child is related to the patient, date of birth, NHS number where known, whether the patient holds parental responsibility, where the child lives, whether the child is a young carer and what help or protection the child has. No name, contact details or free text (data minimisation)."
* insert GuideMetadata
* obeys ff-hp-1 and ff-hp-2 and ff-pr-2 and ff-pr-3
* insert NoIdentifyingDetail
* active MS
* period MS
* period ^short = "When the child stopped being a dependant of the patient (period.end); see the inclusion rules"
* extension contains
    ParentalResponsibility named parentalResponsibility 1..1 and
    ChildResidence named childResidence 1..1 and
    YoungCarer named youngCarer 1..1 and
    HelpAndProtection named helpAndProtection 1..*
* insert NhsNumberSlice(0)
* identifier[nhsNumber] MS
* insert PopulateIfKnown(identifier[nhsNumber])
* identifier[nhsNumber].extension contains $nhs-number-verification named nhsNumberVerificationStatus 0..1 MS
* patient only Reference(ParentPatient)
* relationship 1..1
* relationship from DependentChildRelationshipValueSet (required)
* birthDate 1..1
* gender 0..1
