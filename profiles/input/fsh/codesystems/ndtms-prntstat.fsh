CodeSystem: NdtmsPrntstatCodeSystem
Id: ndtms-prntstat
Title: "NDTMS parental status (PRNTSTAT)"
Description: "Informative copy of the National Drug Treatment Monitoring System field PRNTSTAT (parental status), the substance-misuse precedent this guide maps to. NDTMS, not this guide, owns these codes."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* #11 "Parent: all the children live with the patient"
* #12 "Parent: some of the children live with the patient"
* #13 "Parent: none of the children live with the patient"
* #14 "Not a parent"
* #15 "Patient declined to answer"
