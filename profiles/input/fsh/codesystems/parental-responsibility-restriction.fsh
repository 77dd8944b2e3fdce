CodeSystem: ParentalResponsibilityRestrictionCodeSystem
Id: parental-responsibility-restriction
Title: "What shares or restricts parental responsibility"
Description: "What shares or limits the parental responsibility the patient holds (on any basis), in England. Not how it was acquired: see parental-responsibility-basis. Legal wording to be confirmed by a lawyer."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* ^valueSet = Canonical(ParentalResponsibilityRestrictionValueSet)
* #care-order "Care order: the local authority shares PR and may limit its exercise (s.33(3))" "A care order is in force: the local authority shares parental responsibility and may limit the patient's exercise of it (Children Act 1989 s.33(3))."
* #special-guardianship-other "Another person is special guardian and may exercise PR exclusively (s.14C(1)(b))" "Another person is the child's special guardian and may exercise parental responsibility to the exclusion of the patient (Children Act 1989 s.14C(1)(b))."
* #placement-order "Placement order: PR given to the adoption agency, which may limit it (ACA 2002 s.25)" "A placement order is in force: parental responsibility is given to the adoption agency, which may limit the patient's exercise of it (Adoption and Children Act 2002 s.25)."
