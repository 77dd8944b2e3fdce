Profile: ParentPatient
Parent: Patient
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
* insert NhsNumberSlice(1)
* gender 1..1
* birthDate 1..1
* managingOrganization 1..1
* managingOrganization only Reference(ReportingProvider)
