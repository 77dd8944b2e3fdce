Profile: ParentPatient
Parent: UKCore-Patient
Id: parent-patient
Title: "Parent patient"
Description: "An adult in a mental health service, as sent in a national return: NHS number, date of birth, gender, the reporting provider and the parental-status extension. No name, contact details or free text (data minimisation)."
* insert GuideMetadata
* insert NoIdentifyingDetail
* contact 0..0
* maritalStatus 0..0
* generalPractitioner 0..0
* link 0..0
* extension contains ParentalStatus named parentalStatus 1..1
* identifier 1..*
* identifier[nhsNumber] 1..1 MS
* identifier[nhsNumber] ^short = "NHS number"
* identifier[nhsNumber] ^definition = "The person's NHS number: 10 digits, the last a modulus-11 check digit."
* identifier[nhsNumber] obeys ff-nhs-1
* identifier[nhsNumber].extension[nhsNumberVerificationStatus] MS
* insert PopulateIfKnown(identifier[nhsNumber].extension[nhsNumberVerificationStatus])
* gender 1..1
* birthDate 1..1
* managingOrganization 1..1
* managingOrganization only Reference(ReportingProvider)
