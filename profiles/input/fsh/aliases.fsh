// Every system URL the guide uses (docs/model.md, "External systems used").
Alias: $nhs-number = https://fhir.nhs.uk/Id/nhs-number
Alias: $ods = https://fhir.nhs.uk/Id/ods-organization-code
Alias: $v3-RoleCode = http://terminology.hl7.org/CodeSystem/v3-RoleCode
Alias: $v2-0063 = http://terminology.hl7.org/CodeSystem/v2-0063
Alias: $v2-0063-vs = http://terminology.hl7.org/ValueSet/v2-0063
Alias: $ukcore-rel = https://fhir.hl7.org.uk/CodeSystem/UKCore-AdditionalPersonRelationshipRole
Alias: $submission = https://fhir-family.uk/fhir/Id/submission
Alias: $iso3166 = urn:iso:std:iso:3166
Alias: $iso3166-2 = urn:iso:std:iso:3166:-2
Alias: $nhs-number-verification = https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus
Alias: $provider-record = https://fhir-family.uk/fhir/Id/provider-record
Alias: $mhsds-service-request = https://fhir-family.uk/fhir/Id/mhsds-service-request
Alias: $pseudonym = https://fhir-family.uk/fhir/Id/nhs-number-pseudonym
Alias: $gss = http://statistics.data.gov.uk/id/statistical-geography
