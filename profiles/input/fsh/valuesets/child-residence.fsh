ValueSet: ChildResidenceValueSet
Id: child-residence
Title: "Where the child lives"
Description: "Every child-residence code."
* insert GuideMetadata
* include codes from system ChildResidenceCodeSystem
