CodeSystem: YesNoUnknownCodeSystem
Id: yes-no-unknown
Title: "Yes, no or unknown"
Description: "A three-valued answer, so that 'not known' is recorded rather than left out."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* ^valueSet = Canonical(YesNoUnknownValueSet)
* #Y "Yes"
* #N "No"
* #UNK "Unknown"
