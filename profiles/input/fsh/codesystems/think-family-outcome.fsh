CodeSystem: ThinkFamilyOutcomeCodeSystem
Id: think-family-outcome
Title: "Think family outcome"
Description: "The outcome of a referral or notification to children's social care or early help (think-family action referred or notified)."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* ^valueSet = Canonical(ThinkFamilyOutcomeValueSet)
* #accepted-early-help "Accepted for early help" "The child or family was offered an early help assessment or plan."
* #accepted-cin "Accepted as a child in need (s.17)" "Children's social care accepted the child for a child in need assessment or plan (Children Act 1989 s.17)."
* #s47-enquiry "Child protection enquiry (s.47)" "Children's social care started a child protection enquiry (Children Act 1989 s.47)."
* #no-further-action "No further action" "Children's social care or early help decided to take no further action."
* #awaited "Outcome awaited" "The outcome was not known to the service by the reporting date."
