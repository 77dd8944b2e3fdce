CodeSystem: ParentalResponsibilityBasisCodeSystem
Id: parental-responsibility-basis
Title: "Legal basis of parental responsibility"
Description: "How the patient acquired parental responsibility for a child, in England (GB-ENG; the Children Act 1989 applies in England and Wales, and Scotland and Northern Ireland have their own law). Sections are of the Children Act 1989 unless stated. Several may apply. What shares or restricts parental responsibility (a care order, another person's special guardianship, a placement order) is not a basis: see parental-responsibility-restriction. Legal wording to be confirmed by a lawyer."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* ^valueSet = Canonical(ParentalResponsibilityBasisValueSet)
* #birth-mother "Birth mother (s.2(1), s.2(2)(a))" "The patient is the child's birth mother (s.2(1), s.2(2)(a))."
* #married-father "Father married to the mother at the birth or after it (s.2(1), s.2(3))" "Father married to the mother at the birth, or who married her after it (s.2(1), s.2(3) read with Family Law Reform Act 1987 s.1, including legitimation)."
* #married-second-female-parent "Second female parent married to or in a civil partnership with the mother (s.2(1A))" "Second female parent married to or in a civil partnership with the mother at the time of treatment (s.2(1A); HFEA 2008 s.42)."
* #registered-father "Father registered on the birth certificate (s.4(1)(a))" "Father registered on the birth certificate, births registered from 1 December 2003 (s.4(1)(a))."
* #registered-second-female-parent "Second female parent registered on the birth certificate (s.4ZA(1)(a))" "Second female parent registered on the birth certificate (s.4ZA(1)(a); HFEA 2008 s.43, children conceived from 6 April 2009)."
* #pr-agreement "Parental responsibility agreement (s.4(1)(b), s.4ZA(1)(b))" "Parental responsibility agreement with the mother (s.4(1)(b), s.4ZA(1)(b))."
* #step-parent-agreement "Step-parent parental responsibility agreement or order (s.4A)" "Step-parent parental responsibility agreement or order (s.4A)."
* #pr-order "Parental responsibility order (s.4(1)(c), s.4ZA(1)(c))" "Parental responsibility order (s.4(1)(c), s.4ZA(1)(c)), including one made under s.12(1) with a 'lives with' child arrangements order for a parent without parental responsibility."
* #child-arrangements-order-lives-with "Child arrangements order: a non-parent the child lives with (s.12(2))" "Child arrangements order naming a person who is not a parent or guardian as someone the child lives with (s.12(2)). Never a basis for a parent: a parent named in such an order gets a parental responsibility order (pr-order)."
* #child-arrangements-order-spends-time "Child arrangements order: a non-parent the child spends time with, PR directed (s.12(2A))" "Child arrangements order naming a non-parent as someone the child spends time with, where the court directs that they have parental responsibility (s.12(2A))."
* #special-guardianship-order "Special guardianship order (s.14C(1)(a))" "The patient is the child's special guardian under a special guardianship order (s.14C(1)(a))."
* #appointed-guardian "Guardian appointed (s.5)" "Guardian appointed by a parent or the court (s.5)."
* #adoption-order "Adoption order (Adoption and Children Act 2002 s.46(1))" "The patient adopted the child under an adoption order (Adoption and Children Act 2002 s.46(1))."
* #placement-for-adoption "Prospective adopter, child placed for adoption (ACA 2002 s.25(3))" "Prospective adopter with whom the child is placed for adoption (Adoption and Children Act 2002 s.25(3))."
* #parental-order "Parental order (HFEA 2008 s.54, s.54A)" "Intended parent under a parental order (Human Fertilisation and Embryology Act 2008 s.54 or s.54A)."
