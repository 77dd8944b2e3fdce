ValueSet: ChildHelpAndProtectionValueSet
Id: child-help-and-protection
Title: "Help and protection for a child"
Description: "Help or protection a born child can have (no unborn-child protection plan)."
* insert GuideMetadata
* HelpAndProtectionCodeSystem#none "No help or protection known to be in place"
* HelpAndProtectionCodeSystem#early-help "Early help"
* HelpAndProtectionCodeSystem#child-in-need "Child in need (Children Act 1989 s.17)"
* HelpAndProtectionCodeSystem#child-protection-plan "Child protection plan"
* HelpAndProtectionCodeSystem#looked-after "Looked-after child (Children Act 1989 s.22)"
* HelpAndProtectionCodeSystem#previous-child-protection-plan "Child protection plan in the previous 12 months, not now"
* HelpAndProtectionCodeSystem#previous-looked-after "Looked after in the previous 12 months, not now"
* HelpAndProtectionCodeSystem#not-known "Not known"
