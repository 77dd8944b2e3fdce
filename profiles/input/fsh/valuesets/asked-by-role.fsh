ValueSet: AskedByRoleValueSet
Id: asked-by-role
Title: "Role of who asked"
Description: "Every code of asked-by-role."
* insert GuideMetadata
* include codes from system AskedByRoleCodeSystem
