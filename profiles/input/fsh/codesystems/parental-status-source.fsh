CodeSystem: ParentalStatusSourceCodeSystem
Id: parental-status-source
Title: "Source of the parental status"
Description: "Where the provider's answer about the patient's children came from."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* ^valueSet = Canonical(ParentalStatusSourceValueSet)
* #self-report "The patient told the service" "The patient said so when asked (self-report)."
* #records "The provider's own records" "Taken from the provider's own records (an earlier assessment, a referral letter) without asking the patient again."
* #other-agency "Another agency told the provider" "Another agency (children's social care, the GP, a health visitor, a school) told the provider."
