CodeSystem: SupportOfferedCodeSystem
Id: support-offered
Title: "Support offered to the parent"
Description: "Support the service offered the patient as a parent or carer in the reporting period. Repeats, one code per kind of support; none stands alone."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* ^valueSet = Canonical(SupportOfferedValueSet)
* #parenting-support "Parenting support" "A parenting programme or parenting support, from the service or by referral."
* #family-intervention "Family intervention" "Family intervention or family therapy involving the children or about them."
* #carers-assessment "Carer's assessment" "A carer's assessment offered to the patient as a carer of a child, or to a young carer in the family (Care Act 2014, Children and Families Act 2014 s.96)."
* #think-family-discussion "Think family discussion" "A 'think family' discussion with the patient about the children's needs and the effect of the parent's illness on them."
* #none "No support offered" "No support as a parent or carer was offered in the period."
