Extension: ParentalStatus
Id: parental-status
Title: "Parental status"
Description: "Whether the patient is a parent or carer of dependent children (under 18) and whether they live with the patient (mapped to NDTMS PRNTSTAT), or that the patient declined or was not asked; the NDTMS household count; an expected child; when the patient was asked, the role of who asked and the source; and the support offered to the patient as a parent. The reporting period is the return's, on Bundle.meta (extension reporting-period), not the person's."
Context: Patient
* insert GuideMetadata
* obeys ff-ps-1 and ff-ps-2 and ff-ps-4
* extension contains
    status 1..1 and
    childrenInHousehold 0..1 MS and
    expectingChild 0..1 MS and
    expectedDueDate 0..1 and
    unbornChildHelp 0..1 and
    dateAsked 0..1 MS and
    askedBy 0..1 MS and
    source 0..1 MS and
    supportOffered 0..* MS
* extension[status] ^short = "Parental status (mapped to NDTMS PRNTSTAT); not-asked when nobody asked"
* extension[status].value[x] 1..1
* extension[status].value[x] only CodeableConcept
* extension[status].value[x] from ParentalStatusValueSet (required)
* extension[childrenInHousehold] ^short = "Number of under-18s living in the patient's household (NDTMS CHILDWTH)"
* insert PopulateIfKnown(extension[childrenInHousehold])
* extension[childrenInHousehold].value[x] 1..1
* extension[childrenInHousehold].value[x] only unsignedInt
* extension[expectingChild] ^short = "The patient, or the patient's partner, is pregnant (NDTMS PREGNANT)"
* insert PopulateIfKnown(extension[expectingChild])
* extension[expectingChild].value[x] 1..1
* extension[expectingChild].value[x] only boolean
* extension[expectedDueDate] ^short = "Expected due date of the expected child"
* extension[expectedDueDate].value[x] 1..1
* extension[expectedDueDate].value[x] only date
* extension[unbornChildHelp] ^short = "Help or protection already in place for the expected child"
* extension[unbornChildHelp].value[x] 1..1
* extension[unbornChildHelp].value[x] only CodeableConcept
* extension[unbornChildHelp].value[x] from UnbornHelpAndProtectionValueSet (required)
* extension[dateAsked] ^short = "When the patient was last asked about children (required unless not-asked, ff-ps-2; on or before the reporting date, ff-ps-3)"
* extension[dateAsked].value[x] 1..1
* extension[dateAsked].value[x] only date
* extension[askedBy] ^short = "The role (never the name) of who asked; absent when not-asked"
* insert PopulateIfKnown(extension[askedBy])
* extension[askedBy].value[x] 1..1
* extension[askedBy].value[x] only CodeableConcept
* extension[askedBy].value[x] from AskedByRoleValueSet (required)
* extension[source] ^short = "Where the answer came from: self-report, records, other agency; absent when not-asked"
* insert PopulateIfKnown(extension[source])
* extension[source].value[x] 1..1
* extension[source].value[x] only CodeableConcept
* extension[source].value[x] from ParentalStatusSourceValueSet (required)
* extension[supportOffered] ^short = "Support offered to the patient as a parent or carer in the period; repeats; none stands alone (ff-ps-4)"
* insert PopulateIfKnown(extension[supportOffered])
* extension[supportOffered].value[x] 1..1
* extension[supportOffered].value[x] only CodeableConcept
* extension[supportOffered].value[x] from SupportOfferedValueSet (required)
