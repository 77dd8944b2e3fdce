CodeSystem: HelpAndProtectionCodeSystem
Id: help-and-protection
Title: "Help and protection"
Description: "Help or protection a child (or an expected child) already has from children's social care. CP-IS (Child Protection Information Sharing) codes are given where they exist."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* #none "No help or protection known to be in place"
* #early-help "Early help"
* #child-in-need "Child in need (Children Act 1989 s.17)"
* #child-protection-plan "Child protection plan (CP-IS CPP)"
* #looked-after "Looked-after child (CP-IS LAC)"
* #unborn-child-protection-plan "Unborn child protection plan (CP-IS UCP)"
* #not-known "Not known"
