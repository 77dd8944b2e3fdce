CodeSystem: ParentalStatusCodeSystem
Id: parental-status
Title: "Parental status"
Description: "Whether the patient is a parent or carer of dependent children (the children listed under the guide's inclusion rules, docs/guide.md 0.2) and whether they live with the patient, or that the patient declined or was not asked. 'Parent or carer' is wider than NDTMS 'parent', so the ConceptMap parental-status-to-ndtms-prntstat maps the three parent-or-carer codes as narrower, not equivalent; not-asked has no PRNTSTAT code. A child 'lives with the patient' when its residence is full-time or part-time (at least 2 nights in every 14); a child whose residence is unknown counts as not living with the patient."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* ^valueSet = Canonical(ParentalStatusValueSet)
* #all-children-live-with-patient "Parent: all the children live with the patient" "The patient is a parent or carer of one or more children listed under the inclusion rules, and every one of them lives with the patient (full-time or part-time)."
* #some-children-live-with-patient "Parent: some of the children live with the patient" "The patient is a parent or carer of two or more listed children; at least one lives with the patient and at least one does not."
* #no-children-live-with-patient "Parent: none of the children live with the patient" "The patient is a parent or carer of one or more listed children and none of them lives with the patient."
* #not-a-parent "Not a parent" "The patient was asked and has no child under the inclusion rules (no birth or adoptive child under 18, holds parental responsibility for no child, and is the main carer of no child of the household); other children of the household are counted in childrenInHousehold."
* #declined "Patient declined to answer" "The patient was asked and declined to say whether they are a parent or carer."
* #not-asked "Not asked or not recorded" "Nobody asked the patient, or the answer was not recorded, by the reporting date. Makes non-identification measurable: every patient in the population gets a return."
