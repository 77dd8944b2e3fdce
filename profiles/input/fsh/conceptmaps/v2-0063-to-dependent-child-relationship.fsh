// HL7 v2 NK1-3 (table 0063) -> the dependent-child relationship value set. Codes not listed have no map:
// adult relationships (MTH, FTH, SPO, EMC ...) are not dependent children.
RuleSet: MapsTo(source, target, equivalence)
* element[+].code = #{source}
* element[=].target[0].code = #{target}
* element[=].target[0].equivalence = #{equivalence}

Instance: v2-0063-to-dependent-child-relationship
InstanceOf: ConceptMap
Usage: #definition
Title: "HL7 v2 table 0063 to dependent child relationship"
Description: "Maps HL7 v2 NK1-3 relationship codes (table 0063) that describe a child or other dependant of the patient to the dependent-child relationship value set. Every other code has no map."
* insert InstanceMetadata(v2-0063-to-dependent-child-relationship)
* name = "V2Table0063ToDependentChildRelationship"
* sourceCanonical = "http://terminology.hl7.org/ValueSet/v2-0063"
* targetCanonical = "https://fhir-family.uk/fhir/ValueSet/dependent-child-relationship"
* group[0].source = $v2-0063
* group[0].target = $v3-RoleCode
* group[0] insert MapsTo(CHD, CHILD, equivalent)
* group[0].element[=].target[0].comment = "v2 CHD 'Child' and v3 CHILD 'child' are the same role: the NK1 person is the patient's child, of any kind."
* group[0] insert MapsTo(NCH, NCHILD, equivalent)
* group[0].element[=].target[0].comment = "v2 NCH 'Natural child' and v3 NCHILD 'natural child': the patient's birth child."
* group[0] insert MapsTo(SCH, STPCHLD, equivalent)
* group[0].element[=].target[0].comment = "v2 SCH 'Stepchild' and v3 STPCHLD 'step child': a child of the patient's spouse or partner."
* group[0] insert MapsTo(FCH, CHLDFOST, equivalent)
* group[0].element[=].target[0].comment = "v2 FCH 'Foster child' and v3 CHLDFOST 'foster child'."
* group[0] insert MapsTo(GCH, GRNDCHILD, equivalent)
* group[0].element[=].target[0].comment = "v2 GCH 'Grandchild' and v3 GRNDCHILD 'grandchild' (kinship care)."
* group[0] insert MapsTo(SIB, SIB, equivalent)
* group[0].element[=].target[0].comment = "v2 SIB and v3 SIB 'sibling' are the same role; a sibling is listed only when under 18 and the patient holds parental responsibility or is the main carer (inclusion rules)."
* group[0] insert MapsTo(BRO, BRO, equivalent)
* group[0].element[=].target[0].comment = "v2 BRO and v3 BRO 'brother' are the same role; listed only when under 18 and the patient holds parental responsibility or is the main carer."
* group[0] insert MapsTo(SIS, SIS, equivalent)
* group[0].element[=].target[0].comment = "v2 SIS and v3 SIS 'sister' are the same role; listed only when under 18 and the patient holds parental responsibility or is the main carer."
* group[1].source = $v2-0063
* group[1].target = $ukcore-rel
* group[1] insert MapsTo(WRD, Dependant, wider)
* group[1].element[=].target[0].comment = "A ward of court the patient cares for is one kind of dependant: UK Core Dependant of patient is wider."
* group[1] insert MapsTo(DEP, Dependant, wider)
* group[1].element[=].target[0].comment = "A handicapped dependent is one kind of dependant: UK Core Dependant of patient is wider (and does not carry the dated wording)."
