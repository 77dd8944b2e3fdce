Invariant: ff-bun-4
Description: "Every resource in the return is a Patient, RelatedPerson, Organization or EpisodeOfCare"
Severity: #error
Expression: "entry.resource.all(($this is Patient) or ($this is RelatedPerson) or ($this is Organization) or ($this is EpisodeOfCare))"
