// Every RelatedPerson's patient.reference is the fullUrl of the Patient entry in the same Bundle.
Invariant: ff-bun-3
Description: "Every RelatedPerson's patient references the Patient in this Bundle (by its fullUrl)"
Severity: #error
Expression: "entry.resource.ofType(RelatedPerson).patient.reference.subsetOf(%context.entry.where(resource is Patient).fullUrl)"
