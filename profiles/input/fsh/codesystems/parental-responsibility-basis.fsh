CodeSystem: ParentalResponsibilityBasisCodeSystem
Id: parental-responsibility-basis
Title: "Legal basis of parental responsibility"
Description: "How a person holds parental responsibility for a child in England and Wales. Sections are of the Children Act 1989 unless stated."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* ^valueSet = Canonical(ParentalResponsibilityBasisValueSet)
* #birth-mother "Birth mother (s.2)"
* #married-father "Father married to the mother at the child's birth (s.2(1))"
* #married-second-female-parent "Second female parent married to or in a civil partnership with the mother at the birth (s.2(1A))"
* #registered-parent "Father or second female parent registered on the birth certificate (s.4(1)(a), s.4ZA(1)(a); births registered from 1 December 2003)"
* #pr-agreement "Parental responsibility agreement (s.4(1)(b), s.4ZA(1)(b))"
* #step-parent-agreement "Step-parent parental responsibility agreement or order (s.4A)"
* #pr-order "Parental responsibility order (s.4(1)(c), s.4ZA(1)(c))"
* #child-arrangements-order "Child arrangements order naming the person as someone the child lives with (s.12(2))"
* #special-guardianship-order "Special guardianship order (s.14A-C)"
* #appointed-guardian "Guardian appointed (s.5)"
* #adoption-order "Adoption order (Adoption and Children Act 2002, s.46)"
* #care-order-shared "Shared with the local authority under a care order (s.33(3))"
