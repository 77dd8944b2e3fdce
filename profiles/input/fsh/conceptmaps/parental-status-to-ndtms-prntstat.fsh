// The guide's parental status -> NDTMS PRNTSTAT, one to one, so the two national returns are comparable.
// ndtms-prntstat is a CodeSystem only (docs/model.md), so the map names no target value set; the group's
// target is the CodeSystem.
Instance: parental-status-to-ndtms-prntstat
InstanceOf: ConceptMap
Usage: #definition
Title: "Parental status to NDTMS PRNTSTAT"
Description: "Maps each parental-status code one to one to the NDTMS PRNTSTAT code with the same meaning."
* insert InstanceMetadata(parental-status-to-ndtms-prntstat)
* name = "ParentalStatusToNdtmsPrntstat"
* sourceCanonical = "https://fhir-family.uk/fhir/ValueSet/parental-status"
* group[0].source = "https://fhir-family.uk/fhir/CodeSystem/parental-status"
* group[0].target = "https://fhir-family.uk/fhir/CodeSystem/ndtms-prntstat"
* group[0] insert MapsTo(all-children-live-with-patient, 11, equivalent)
* group[0] insert MapsTo(some-children-live-with-patient, 12, equivalent)
* group[0] insert MapsTo(no-children-live-with-patient, 13, equivalent)
* group[0] insert MapsTo(not-a-parent, 14, equivalent)
* group[0] insert MapsTo(declined, 15, equivalent)
