CodeSystem: HelpAndProtectionCodeSystem
Id: help-and-protection
Title: "Help and protection"
Description: "Help or protection a child (or an expected child) already has from children's social care or early help on the reporting date. Every level that applies is recorded (not only the highest), one code per level; none and not-known stand alone; no code twice. These are the guide's own codes, not CP-IS codes: CP-IS's coding is not public, so the definitions say what CP-IS records. The social-care comparator is the Children in Need census factor 4B 'Concerns about the mental health of the parent(s)/carer(s)' (and 7A young carer)."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* #none "No help or protection known to be in place" "The provider knows the child has none of the help or protection below."
* #early-help "Early help" "The child (or the family for the child) has an open early help assessment or plan from the local authority or a partner (Working Together 2023, chapter 2)."
* #child-in-need "Child in need (Children Act 1989 s.17)" "The child is a child in need with an open plan or assessment under Children Act 1989 s.17."
* #child-protection-plan "Child protection plan" "The child is subject to a child protection plan (s.47 conference decision). CP-IS records this as a child protection plan."
* #looked-after "Looked-after child (Children Act 1989 s.22)" "The child is looked after by a local authority (s.22, including s.20 accommodation). CP-IS records this as a looked-after child."
* #unborn-child-protection-plan "Unborn child protection plan (pre-birth)" "An unborn child is subject to a pre-birth child protection plan (the expected child only). CP-IS records pre-birth plans against the pregnant woman."
* #previous-child-protection-plan "Child protection plan in the previous 12 months, not now" "The child was subject to a child protection plan at any time in the previous 12 months, and is not now (CP-IS shows ended plans for 12 months)."
* #previous-looked-after "Looked after in the previous 12 months, not now" "The child was looked after at any time in the previous 12 months, and is not now."
* #not-known "Not known" "The provider does not know whether the child has help or protection."
