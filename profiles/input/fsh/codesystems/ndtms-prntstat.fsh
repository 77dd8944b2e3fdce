CodeSystem: NdtmsPrntstatCodeSystem
Id: ndtms-prntstat
Title: "NDTMS parental status (PRNTSTAT)"
Description: "Informative copy of the National Drug Treatment Monitoring System (NDTMS) field PRNTSTAT (parental status), the substance-misuse precedent this guide maps to. NDTMS and its codes are owned by the Office for Health Improvement and Disparities (OHID), not by this guide. The displays are NDTMS's wording as a public NDTMS vendor export gives it; they have not been checked against OHID's own NDTMS data set specification, so they are not claimed to be verbatim, and OHID should confirm them. No definitions are given: NDTMS's own definitions were not available, and this guide does not invent them."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* #11 "All the children live with client"
* #12 "Some of the children live with client"
* #13 "None of the children live with client"
* #14 "Not a parent"
* #15 "Client declined to answer"
