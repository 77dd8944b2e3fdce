Extension: LegalBasis
Id: legal-basis
Title: "Legal basis of the return"
Description: "The basis under which the patient's record flows to the national collection (a direction, consent, safeguarding, or consent withheld). A fact of the return, on Bundle.meta."
Context: Bundle.meta
* insert GuideMetadata
* value[x] 1..1
* value[x] only CodeableConcept
* value[x] from LegalBasisValueSet (required)
