Invariant: ff-ods-1
Description: "ODS code must be 3 to 6 upper-case letters or digits"
Severity: #error
Expression: "value.matches('^[A-Z0-9]{3,6}$')"
