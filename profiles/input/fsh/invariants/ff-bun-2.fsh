Invariant: ff-bun-2
Description: "A national return holds exactly one Organization and exactly one EpisodeOfCare"
Severity: #error
Expression: "entry.resource.ofType(Organization).count() = 1 and entry.resource.ofType(EpisodeOfCare).count() = 1"
