CodeSystem: ChildResidenceCodeSystem
Id: child-residence
Title: "Where the child lives"
Description: "Where a dependent child of the patient lives, relative to the patient. full-time and part-time count as living with the patient for parental status (PRNTSTAT 11/12); unknown counts as not living with the patient."
* insert GuideMetadata
* ^caseSensitive = true
* ^content = #complete
* ^valueSet = Canonical(ChildResidenceValueSet)
* #full-time "Lives with the patient full-time" "The child's main home is the patient's home."
* #part-time "Lives with the patient part of the time" "The child's main home is elsewhere but the child stays in the patient's home at least 2 nights in every 14 (shared care), whatever any court order says."
* #other-parent "Lives elsewhere with the other parent" "The child lives with their other parent, not with the patient (fewer than 2 nights in 14 with the patient)."
* #relatives "Lives with relatives or friends (kinship care)" "The child lives with relatives or family friends under an informal or private arrangement, or a kinship order (kinship care), not with the patient."
* #looked-after "Looked after by the local authority (foster or residential care)" "The child is looked after by a local authority (Children Act 1989 s.22): foster, residential or kinship foster care, or placed for adoption."
* #elsewhere "Lives elsewhere (independent or supported accommodation, school, custody, hospital)" "The child lives elsewhere: independent or supported accommodation, boarding or residential school, youth custody, or a hospital as an inpatient."
* #unknown "Not known" "Where the child lives is not known."
