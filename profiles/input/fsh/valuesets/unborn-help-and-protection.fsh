ValueSet: UnbornHelpAndProtectionValueSet
Id: unborn-help-and-protection
Title: "Help and protection for an expected child"
Description: "Help or protection an unborn child can have (child in need, child protection plan and looked after apply only once born)."
* insert GuideMetadata
* HelpAndProtectionCodeSystem#none "No help or protection known to be in place"
* HelpAndProtectionCodeSystem#early-help "Early help"
* HelpAndProtectionCodeSystem#unborn-child-protection-plan "Unborn child protection plan (pre-birth)"
* HelpAndProtectionCodeSystem#not-known "Not known"
