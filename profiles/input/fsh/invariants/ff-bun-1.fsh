Invariant: ff-bun-1
Description: "A national return holds exactly one Patient"
Severity: #error
Expression: "entry.resource.ofType(Patient).count() = 1"
