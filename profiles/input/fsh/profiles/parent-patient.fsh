// What ParentPatient and PseudonymisedParentPatient share: everything but the NHS number.
RuleSet: ParentPatientRules
* insert NoIdentifyingDetail
* contact 0..0
* maritalStatus 0..0
* generalPractitioner 0..0
* link 0..0
* extension contains
    ParentalStatus named parentalStatus 1..1 and
    LocalAuthority named localAuthority 0..1 MS
* insert PopulateIfKnown(extension[localAuthority])
* identifier 1..*
* gender 1..1
* birthDate 1..1
* managingOrganization 1..1
* managingOrganization only Reference(ReportingProvider)

Profile: ParentPatient
Parent: UKCore-Patient
Id: parent-patient
Title: "Parent patient"
Description: "An adult in a mental health service, as sent in a national return: NHS number (with UK Core's verification status), the provider's own patient id (provider-record, the key of the conditional update), date of birth, gender, the reporting provider, the local authority of residence and the parental-status extension. No name, contact details or free text (data minimisation)."
* insert GuideMetadata
* insert ParentPatientRules
* insert ProviderRecordSlice(1)
* identifier[nhsNumber] 1..1 MS
* identifier[nhsNumber] ^short = "NHS number"
* identifier[nhsNumber] ^definition = "The person's NHS number: 10 digits, the last a modulus-11 check digit."
* identifier[nhsNumber] obeys ff-nhs-1
* identifier[nhsNumber].extension[nhsNumberVerificationStatus] MS
* insert PopulateIfKnown(identifier[nhsNumber].extension[nhsNumberVerificationStatus])

Profile: PseudonymisedParentPatient
Parent: UKCore-Patient
Id: pseudonymised-parent-patient
Title: "Pseudonymised parent patient"
Description: "ParentPatient as the national collector exports it: the NHS number is replaced by the collector's pseudonym (required), and the provider-record identifier may be dropped; otherwise as ParentPatient."
* insert GuideMetadata
* insert ParentPatientRules
* insert ProviderRecordSlice(0)
* identifier[nhsNumber] 0..0
* insert PseudonymSlice(1)
