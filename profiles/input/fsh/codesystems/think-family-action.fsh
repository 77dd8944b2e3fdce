CodeSystem: ThinkFamilyActionCodeSystem
Id: think-family-action
Title: "Think family action"
Description: "What the service did in the reporting period about a child's needs: a referral or notification to children's social care or early help, or why none was made."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* ^valueSet = Canonical(ThinkFamilyActionValueSet)
* #referred "Referred to children's social care or early help" "The service referred the child to children's social care (a request for support or a safeguarding referral) or to early help."
* #notified "Children's social care notified (information shared, no referral)" "The service shared information about the child with children's social care without a referral (for example with the child's allocated social worker)."
* #already-known "Already known to children's social care" "No referral or notification was made because the child is already known to children's social care and the social worker is aware."
* #not-needed "No referral or notification needed" "The service considered the child's needs and decided no referral or notification was needed."
* #not-known "Not known" "Whether a referral or notification was made is not known."
