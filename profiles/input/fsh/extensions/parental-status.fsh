Extension: ParentalStatus
Id: parental-status
Title: "Parental status"
Description: "Whether the patient is a parent or carer of dependent children (under 18) and whether they live with the patient (1:1 with NDTMS PRNTSTAT), with the NDTMS household count, an expected child, and the reporting period the answer belongs to."
Context: Patient
* insert GuideMetadata
* obeys ff-ps-1 and ff-ps-3
* extension contains
    status 1..1 and
    childrenInHousehold 0..1 and
    expectingChild 0..1 and
    expectedDueDate 0..1 and
    unbornChildHelp 0..1 and
    reportingPeriod 1..1 and
    dateRecorded 0..1
* extension[status] ^short = "Parental status (NDTMS PRNTSTAT)"
* extension[status].value[x] 1..1
* extension[status].value[x] only CodeableConcept
* extension[status].value[x] from ParentalStatusValueSet (required)
* extension[childrenInHousehold] ^short = "Number of under-18s living in the patient's household (NDTMS CHILDWTH)"
* extension[childrenInHousehold].value[x] 1..1
* extension[childrenInHousehold].value[x] only unsignedInt
* extension[expectingChild] ^short = "The patient, or the patient's partner, is pregnant (NDTMS PREGNANT)"
* extension[expectingChild].value[x] 1..1
* extension[expectingChild].value[x] only boolean
* extension[expectedDueDate] ^short = "Expected due date of the expected child"
* extension[expectedDueDate].value[x] 1..1
* extension[expectedDueDate].value[x] only date
* extension[unbornChildHelp] ^short = "Help or protection already in place for the expected child"
* extension[unbornChildHelp].value[x] 1..1
* extension[unbornChildHelp].value[x] only CodeableConcept
* extension[unbornChildHelp].value[x] from UnbornHelpAndProtectionValueSet (required)
* extension[reportingPeriod] ^short = "Reporting period; its end is the reporting date (children must be under 18 on it)"
* extension[reportingPeriod].value[x] 1..1
* extension[reportingPeriod].value[x] only Period
* extension[reportingPeriod].valuePeriod.start 1..1
* extension[reportingPeriod].valuePeriod.end 1..1
* extension[dateRecorded] ^short = "When the patient was last asked about their parental status"
* extension[dateRecorded].value[x] 1..1
* extension[dateRecorded].value[x] only date
