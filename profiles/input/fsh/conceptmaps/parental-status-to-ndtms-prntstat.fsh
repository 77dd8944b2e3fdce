// The guide's parental status -> NDTMS PRNTSTAT. "Parent or carer" is wider than NDTMS "parent", so the NDTMS
// targets of the three parent-or-carer codes are narrower; not-asked has no PRNTSTAT code (unmatched).
// ndtms-prntstat is a CodeSystem only (docs/model.md), so the map names no target value set; the group's
// target is the CodeSystem. Equivalences: fhir_family.model.PARENTAL_STATUS_EQUIVALENCE.
Instance: parental-status-to-ndtms-prntstat
InstanceOf: ConceptMap
Usage: #definition
Title: "Parental status to NDTMS PRNTSTAT"
Description: "Maps each parental-status code to the NDTMS PRNTSTAT code (owned by OHID) that counts the same patients where NDTMS would: the guide's 'parent or carer' is wider than NDTMS 'parent', so those maps are narrower; not-asked has no PRNTSTAT code. A child counts as living with the patient when its residence is full-time or part-time (at least 2 nights in every 14); unknown counts as not living with the patient. OHID should confirm the mapping."
* insert InstanceMetadata(parental-status-to-ndtms-prntstat)
* name = "ParentalStatusToNdtmsPrntstat"
* sourceCanonical = "https://fhir-family.uk/fhir/ValueSet/parental-status"
* group[0].source = "https://fhir-family.uk/fhir/CodeSystem/parental-status"
* group[0].target = "https://fhir-family.uk/fhir/CodeSystem/ndtms-prntstat"
* group[0] insert MapsTo(all-children-live-with-patient, 11, narrower)
* group[0].element[=].target[0].comment = "PRNTSTAT 11 counts parents; this code also counts a carer who is not a parent (a special guardian, a kinship carer, a step-parent). A part-time child (at least 2 nights in every 14) lives with the patient; a child whose residence is unknown does not."
* group[0] insert MapsTo(some-children-live-with-patient, 12, narrower)
* group[0].element[=].target[0].comment = "PRNTSTAT 12 counts parents; this code also counts carers who are not parents. Part-time children live with the patient; unknown residence counts as not living with the patient, so one full-time and one unknown child give this code."
* group[0] insert MapsTo(no-children-live-with-patient, 13, narrower)
* group[0].element[=].target[0].comment = "PRNTSTAT 13 counts parents; this code also counts carers who are not parents. No listed child is full-time or part-time with the patient."
* group[0] insert MapsTo(not-a-parent, 14, wider)
* group[0].element[=].target[0].comment = "PRNTSTAT 14 'not a parent' is wider: it also holds a kinship carer who is not a parent, whom this guide codes as a parent or carer."
* group[0] insert MapsTo(declined, 15, equivalent)
* group[0].element[+].code = #not-asked
* group[0].element[=].target[0].equivalence = #unmatched
* group[0].element[=].target[0].comment = "NDTMS has no PRNTSTAT code for a patient who was never asked (or whose answer was not recorded); such a return has no PRNTSTAT value."
