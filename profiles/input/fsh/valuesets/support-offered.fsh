ValueSet: SupportOfferedValueSet
Id: support-offered
Title: "Support offered to the parent"
Description: "Every code of support-offered."
* insert GuideMetadata
* include codes from system SupportOfferedCodeSystem
