ValueSet: YesNoUnknownValueSet
Id: yes-no-unknown
Title: "Yes, no or unknown"
Description: "Y, N or UNK."
* insert GuideMetadata
* include codes from system YesNoUnknownCodeSystem
