// What DependentChild and PseudonymisedDependentChild share: everything but the identifiers.
RuleSet: DependentChildRules
* obeys ff-hp-1 and ff-hp-2 and ff-pr-2 and ff-pr-3
* insert NoIdentifyingDetail
* active MS
* period MS
* period ^short = "When the child stopped being a dependant of the patient (period.end); see the inclusion rules"
* insert PopulateIfKnown(period)
* extension contains
    ParentalResponsibility named parentalResponsibility 1..1 and
    ChildResidence named childResidence 1..1 and
    YoungCarer named youngCarer 1..1 and
    HelpAndProtection named helpAndProtection 1..* and
    ThinkFamilyReferral named thinkFamilyReferral 0..1 MS and
    LocalAuthority named localAuthority 0..1 MS
* insert PopulateIfKnown(extension[thinkFamilyReferral])
* extension[localAuthority] ^short = "The child's local authority of residence, only where it differs from the patient's"
* insert PopulateIfKnown(extension[localAuthority])
* relationship 1..1
* relationship from DependentChildRelationshipValueSet (required)
* birthDate 1..1
* gender 0..1

Profile: DependentChild
Parent: UKCore-RelatedPerson
Id: dependent-child
Title: "Dependent child"
Description: "A dependent child (under 18 on the reporting date) of the patient, as a RelatedPerson of the patient: how the child is related to the patient, date of birth, NHS number where known, the provider-record identifier (the key of the conditional update), whether the patient holds parental responsibility, where the child lives, whether the child is a young carer, what help or protection the child has, any think-family referral and, where it differs, the child's local authority. No name, contact details or free text (data minimisation). A child's NHS number carries its verification status in the guide's child-nhs-number-verification extension (UK Core's own is defined for Patient.identifier only)."
* insert GuideMetadata
* insert DependentChildRules
* insert NhsNumberSlice(0)
* identifier[nhsNumber] MS
* insert PopulateIfKnown(identifier[nhsNumber])
* identifier[nhsNumber].extension contains ChildNhsNumberVerification named nhsNumberVerificationStatus 0..1 MS
* insert PopulateIfKnown(identifier[nhsNumber].extension[nhsNumberVerificationStatus])
* insert ProviderRecordSlice(1)
* patient only Reference(ParentPatient)

Profile: PseudonymisedDependentChild
Parent: UKCore-RelatedPerson
Id: pseudonymised-dependent-child
Title: "Pseudonymised dependent child"
Description: "DependentChild as the national collector exports it: any NHS number is replaced by the collector's pseudonym (optional, as the NHS number is), and the provider-record identifier may be dropped; otherwise as DependentChild."
* insert GuideMetadata
* insert DependentChildRules
* insert NhsNumberSlice(0)
* identifier[nhsNumber] 0..0
* insert ProviderRecordSlice(0)
* insert PseudonymSlice(0)
* patient only Reference(PseudonymisedParentPatient)
