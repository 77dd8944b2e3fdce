ValueSet: MhsdsTeamTypeValueSet
Id: mhsds-team-type
Title: "In-scope MHSDS service or team types"
Description: "Every code of mhsds-team-type (informative; to be confirmed against the NHS Data Dictionary)."
* insert GuideMetadata
* include codes from system MhsdsTeamTypeCodeSystem
