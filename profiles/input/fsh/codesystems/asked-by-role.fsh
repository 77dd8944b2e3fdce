CodeSystem: AskedByRoleCodeSystem
Id: asked-by-role
Title: "Role of who asked"
Description: "The professional role of the person who asked the patient about children. A role, never a name: the return identifies no member of staff."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* ^valueSet = Canonical(AskedByRoleValueSet)
* #care-coordinator "Care coordinator" "The patient's care coordinator (or lead professional under the Community Mental Health Framework)."
* #nurse "Nurse" "A registered mental health nurse who is not the care coordinator."
* #psychiatrist "Psychiatrist" "A psychiatrist (consultant, specialty doctor or trainee)."
* #psychologist "Psychologist" "A clinical or counselling psychologist."
* #social-worker "Social worker" "A social worker, including an approved mental health professional."
* #peer-support "Peer support worker" "A peer support worker."
* #other "Other professional" "Any other professional of the service."
