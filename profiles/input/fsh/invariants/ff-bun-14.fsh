// On NationalReturnBundle.entry:organization: a conditional create on the ODS code, so a return never changes it.
Invariant: ff-bun-14
Description: "The Organization entry is a conditional create (POST with ifNoneExist on its ODS code)"
Severity: #error
Expression: "request.method = 'POST' and request.ifNoneExist.startsWith('identifier=https://fhir.nhs.uk/Id/ods-organization-code|')"
