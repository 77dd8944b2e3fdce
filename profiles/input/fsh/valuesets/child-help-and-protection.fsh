ValueSet: ChildHelpAndProtectionValueSet
Id: child-help-and-protection
Title: "Help and protection for a child"
Description: "Help or protection a born child can have (no unborn-child protection plan)."
* insert GuideMetadata
* HelpAndProtectionCodeSystem#none "No help or protection known to be in place"
* HelpAndProtectionCodeSystem#early-help "Early help"
* HelpAndProtectionCodeSystem#child-in-need "Child in need (Children Act 1989 s.17)"
* HelpAndProtectionCodeSystem#child-protection-plan "Child protection plan (CP-IS CPP)"
* HelpAndProtectionCodeSystem#looked-after "Looked-after child (CP-IS LAC)"
* HelpAndProtectionCodeSystem#not-known "Not known"
