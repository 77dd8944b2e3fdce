// On the local-authority extension: an English local authority's ONS GSS code (model.GSS_LOCAL_AUTHORITY_PATTERN).
Invariant: ff-la-1
Description: "A local authority is an ONS GSS code: E06, E07, E08, E09 or E10 and six digits"
Severity: #error
Expression: "value.code.matches('^E(0[6-9]|10)[0-9]{6}$')"
