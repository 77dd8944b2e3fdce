CodeSystem: ParentalStatusCodeSystem
Id: parental-status
Title: "Parental status"
Description: "Whether the patient is a parent and whether the children live with the patient. Maps 1:1 to the NDTMS field PRNTSTAT (ConceptMap parental-status-to-ndtms-prntstat) so national figures compare across the substance-misuse and mental health returns."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* ^valueSet = Canonical(ParentalStatusValueSet)
* #all-children-live-with-patient "Parent: all the children live with the patient"
* #some-children-live-with-patient "Parent: some of the children live with the patient"
* #no-children-live-with-patient "Parent: none of the children live with the patient"
* #not-a-parent "Not a parent"
* #declined "Patient declined to answer"
