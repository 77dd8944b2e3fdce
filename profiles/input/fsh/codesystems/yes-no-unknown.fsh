CodeSystem: YesNoUnknownCodeSystem
Id: yes-no-unknown
Title: "Yes, no or unknown"
Description: "A three-valued answer, so that 'not known' is recorded rather than left out."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* ^valueSet = Canonical(YesNoUnknownValueSet)
* #Y "Yes" "The answer is yes."
* #N "No" "The answer is no."
* #UNK "Unknown" "The answer is not known to the sender."
