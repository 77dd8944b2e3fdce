ValueSet: LegalBasisValueSet
Id: legal-basis
Title: "Legal basis of the return"
Description: "Every code of legal-basis."
* insert GuideMetadata
* include codes from system LegalBasisCodeSystem
