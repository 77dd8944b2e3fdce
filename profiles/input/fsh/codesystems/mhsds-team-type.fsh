CodeSystem: MhsdsTeamTypeCodeSystem
Id: mhsds-team-type
Title: "In-scope MHSDS service or team types"
Description: "Informative copy of the MHSDS service or team type codes (ServTeamTypeRefToMH) of the adult secondary mental health services in scope of the return, plus the guide's own code IP for an inpatient spell (MHSDS records inpatients by ward, not team type). The codes and displays must be confirmed against the NHS Data Dictionary (NHS England owns them); the binding is extensible so a confirmed code can be sent before this copy is corrected. Out of scope: NHS Talking Therapies, learning-disability-only and children and young people's services."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* ^experimental = false
* ^valueSet = Canonical(MhsdsTeamTypeValueSet)
* #A02 "Crisis Resolution Team/Home Treatment Service" "Crisis resolution and home treatment."
* #A03 "Adult Community Mental Health Team" "Adult community mental health team."
* #A04 "Older People Community Mental Health Team" "Community mental health team for older people."
* #A05 "Assertive Outreach Team" "Assertive outreach."
* #A06 "Rehabilitation and Recovery Team" "Rehabilitation and recovery."
* #A07 "General Psychiatry Service" "General psychiatry."
* #A08 "Psychiatric Liaison Service" "Psychiatric liaison (in an acute hospital)."
* #A12 "Personality Disorder Service" "Personality disorder service."
* #A13 "Early Intervention Team for Psychosis" "Early intervention in psychosis."
* #B01 "Forensic Mental Health Service" "Forensic mental health service."
* #C02 "Perinatal Mental Health Service" "Specialist community perinatal mental health."
* #C10 "Community Eating Disorder Service" "Adult community eating disorder service."
* #IP "Adult acute or psychiatric intensive care inpatient ward (no team type: hospital spell)" "The guide's own code: the episode is an adult acute or psychiatric intensive care inpatient spell, which MHSDS records by ward rather than by team type."
