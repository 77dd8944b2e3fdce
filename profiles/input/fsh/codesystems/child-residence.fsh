CodeSystem: ChildResidenceCodeSystem
Id: child-residence
Title: "Where the child lives"
Description: "Where a dependent child of the patient lives, relative to the patient."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* ^valueSet = Canonical(ChildResidenceValueSet)
* #full-time "Lives with the patient full-time"
* #part-time "Lives with the patient part of the time"
* #other-parent "Lives elsewhere with the other parent"
* #relatives "Lives with relatives or friends (kinship care)"
* #looked-after "Looked after by the local authority (foster or residential care)"
* #unknown "Not known"
