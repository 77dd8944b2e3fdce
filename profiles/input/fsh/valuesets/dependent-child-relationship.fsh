// RelatedPerson.relationship is the role the related person plays towards the patient: a child of the patient
// is CHILD. UK Core Guardian and Carer describe someone who cares for the patient, so they are left out; the
// child's own caring role is the young-carer extension. Displays are those of the R4 core code systems.
ValueSet: DependentChildRelationshipValueSet
Id: dependent-child-relationship
Title: "Dependent child relationship"
Description: "How a dependent child is related to the patient: v3 RoleCode child and kinship codes, plus UK Core Dependant."
* insert GuideMetadata
* $v3-RoleCode#CHILD "child"
* $v3-RoleCode#NCHILD "natural child"
* $v3-RoleCode#DAU "natural daughter"
* $v3-RoleCode#SON "natural son"
* $v3-RoleCode#STPCHLD "step child"
* $v3-RoleCode#STPDAU "stepdaughter"
* $v3-RoleCode#STPSON "stepson"
* $v3-RoleCode#CHLDFOST "foster child"
* $v3-RoleCode#DAUFOST "foster daughter"
* $v3-RoleCode#SONFOST "foster son"
* $v3-RoleCode#CHLDADOPT "adopted child"
* $v3-RoleCode#DAUADOPT "adopted daughter"
* $v3-RoleCode#SONADOPT "adopted son"
* $v3-RoleCode#GRNDCHILD "grandchild"
* $v3-RoleCode#GRNDDAU "granddaughter"
* $v3-RoleCode#GRNDSON "grandson"
* $v3-RoleCode#NIENEPH "niece/nephew"
* $v3-RoleCode#NIECE "niece"
* $v3-RoleCode#NEPHEW "nephew"
* $v3-RoleCode#SIB "sibling"
* $v3-RoleCode#BRO "brother"
* $v3-RoleCode#SIS "sister"
* $ukcore-rel#Dependant "Dependant"
