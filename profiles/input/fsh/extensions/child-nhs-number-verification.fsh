Extension: ChildNhsNumberVerification
Id: child-nhs-number-verification
Title: "NHS number verification status (dependent child)"
Description: "The verification status of a dependent child's NHS number, with UK Core's value set. UK Core's own Extension-UKCore-NHSNumberVerificationStatus is defined for Patient.identifier only, so it cannot sit on a RelatedPerson's identifier; this extension carries the same value there and is to be withdrawn when UK Core widens its context."
Context: RelatedPerson.identifier
* insert GuideMetadata
* value[x] 1..1
* value[x] only CodeableConcept
* value[x] from https://fhir.hl7.org.uk/ValueSet/UKCore-NHSNumberVerificationStatus (required)
