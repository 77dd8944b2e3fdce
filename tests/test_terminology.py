"""Terminology: local ValueSet expansion over the genuine core package and the guide's own terminology."""

from __future__ import annotations

import json

import pytest

from fhir_family.conformance.packages import DefinitionStore
from fhir_family.conformance.terminology import Terminology
from fhir_family.guide import CANONICAL, core_package_dir, guide_resources_dir

V3_ROLE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
UKCORE_REL = "https://fhir.hl7.org.uk/CodeSystem/UKCore-AdditionalPersonRelationshipRole"
GENDER_VS = "http://hl7.org/fhir/ValueSet/administrative-gender"
GENDER_CS = "http://hl7.org/fhir/administrative-gender"
BUNDLE_TYPE_VS = "http://hl7.org/fhir/ValueSet/bundle-type"
BUNDLE_TYPE_CS = "http://hl7.org/fhir/bundle-type"
PERSONAL_REL_VS = "http://terminology.hl7.org/ValueSet/v3-PersonalRelationshipRoleType"
RELATEDPERSON_REL_VS = "http://hl7.org/fhir/ValueSet/relatedperson-relationshiptype"
YESNODONTKNOW_VS = "http://hl7.org/fhir/ValueSet/yesnodontknow"
SNOMED = "http://snomed.info/sct"

TEST_CS = {
    "resourceType": "CodeSystem",
    "url": "https://example.org/fhir/CodeSystem/help",
    "content": "complete",
    "concept": [
        {"code": "none", "display": "None"},
        {
            "code": "support",
            "display": "Support",
            "concept": [
                {"code": "early-help", "display": "Early help"},
                {"code": "cin", "display": "In need"},
            ],
        },
        {"code": "ucp", "display": "Unborn plan", "property": [{"code": "unborn", "valueBoolean": True}]},
    ],
}
LOCAL_VALUESETS = [
    {
        "resourceType": "ValueSet",
        "url": "https://example.org/fhir/ValueSet/whole",
        "compose": {
            "include": [{"system": TEST_CS["url"]}],
            "exclude": [{"system": TEST_CS["url"], "concept": [{"code": "none"}]}],
        },
    },
    {
        "resourceType": "ValueSet",
        "url": "https://example.org/fhir/ValueSet/descendants",
        "compose": {
            "include": [
                {
                    "system": TEST_CS["url"],
                    "filter": [{"property": "concept", "op": "descendent-of", "value": "support"}],
                }
            ]
        },
    },
    {
        "resourceType": "ValueSet",
        "url": "https://example.org/fhir/ValueSet/unborn",
        "compose": {
            "include": [
                {"system": TEST_CS["url"], "filter": [{"property": "unborn", "op": "=", "value": "true"}]}
            ]
        },
    },
    {
        "resourceType": "ValueSet",
        "url": "https://example.org/fhir/ValueSet/relationship",
        "compose": {
            "include": [
                {"system": V3_ROLE, "concept": [{"code": "CHILD"}, {"code": "NOT-A-ROLE-CODE"}]},
                {"system": UKCORE_REL, "concept": [{"code": "Dependant", "display": "Dependant"}]},
            ]
        },
    },
    {
        "resourceType": "ValueSet",
        "url": "https://example.org/fhir/ValueSet/whole-ukcore",
        "compose": {"include": [{"system": UKCORE_REL}, {"system": V3_ROLE, "concept": [{"code": "SON"}]}]},
    },
    {
        "resourceType": "ValueSet",
        "url": "https://example.org/fhir/ValueSet/missing-import",
        "compose": {"include": [{"valueSet": ["https://example.org/fhir/ValueSet/not-there"]}]},
    },
    {
        "resourceType": "ValueSet",
        "url": "https://example.org/fhir/ValueSet/loop",
        "compose": {
            "include": [
                {"valueSet": ["https://example.org/fhir/ValueSet/loop"]},
                {"system": TEST_CS["url"], "concept": [{"code": "none"}]},
            ]
        },
    },
    {
        "resourceType": "ValueSet",
        "url": "https://example.org/fhir/ValueSet/pre-expanded",
        "expansion": {
            "contains": [
                {
                    "system": SNOMED,
                    "code": "123",
                    "display": "x",
                    "contains": [{"system": SNOMED, "code": "456"}],
                }
            ]
        },
    },
]


@pytest.fixture(scope="module")
def terminology(tmp_path_factory: pytest.TempPathFactory) -> Terminology:
    folder = tmp_path_factory.mktemp("guide")
    for number, resource in enumerate([TEST_CS, *LOCAL_VALUESETS]):
        (folder / f"r{number}.json").write_text(json.dumps(resource))
    return Terminology(DefinitionStore(core_package_dir(), [folder]))


@pytest.mark.parametrize(
    ("valueset", "system", "code", "valid"),
    [
        (GENDER_VS, GENDER_CS, "female", True),
        (GENDER_VS, None, "unknown", True),
        (GENDER_VS, GENDER_CS, "F", False),
        (GENDER_VS, None, "Male", False),
        (BUNDLE_TYPE_VS, BUNDLE_TYPE_CS, "transaction", True),
        (BUNDLE_TYPE_VS, BUNDLE_TYPE_CS, "transaction-response", True),
        (BUNDLE_TYPE_VS, BUNDLE_TYPE_CS, "message-ish", False),
        (BUNDLE_TYPE_VS, GENDER_CS, "male", False),
        # is-a over v3-RoleCode: nested concepts and the extra `child` hierarchy property (DAUC -> DAUFOST)
        (PERSONAL_REL_VS, V3_ROLE, "CHILD", True),
        (PERSONAL_REL_VS, V3_ROLE, "NCHILD", True),
        (PERSONAL_REL_VS, V3_ROLE, "DAUFOST", True),
        (PERSONAL_REL_VS, V3_ROLE, "STPSON", True),
        (PERSONAL_REL_VS, V3_ROLE, "NIECE", True),
        (PERSONAL_REL_VS, V3_ROLE, "GUARD", False),  # under _AffiliationRoleType, not a personal relationship
        (PERSONAL_REL_VS, V3_ROLE, "_PersonalRelationshipRoleType", False),  # excluded abstract root
        (RELATEDPERSON_REL_VS, V3_ROLE, "CHLDFOST", True),
        (RELATEDPERSON_REL_VS, "http://terminology.hl7.org/CodeSystem/v2-0131", "N", True),
        # valueSet import: yesnodontknow = v2-0136 + data-absent-reason asked-unknown
        (YESNODONTKNOW_VS, "http://terminology.hl7.org/CodeSystem/v2-0136", "Y", True),
        (YESNODONTKNOW_VS, "http://terminology.hl7.org/CodeSystem/data-absent-reason", "asked-unknown", True),
        (YESNODONTKNOW_VS, "http://terminology.hl7.org/CodeSystem/data-absent-reason", "masked", False),
        # two ValueSets in one include are intersected: action-participant-role = practitioner-role AND ...
        ("http://hl7.org/fhir/ValueSet/action-participant-role", V3_ROLE, "CHILD", False),
    ],
)
def test_core_valuesets(
    terminology: Terminology, valueset: str, system: str | None, code: str, valid: bool
) -> None:
    assert terminology.validate_code(valueset, system, code).valid is valid


def test_result_details(terminology: Terminology) -> None:
    result = terminology.validate_code(PERSONAL_REL_VS, V3_ROLE, "CHILD")
    assert (result.system_known, result.code_known, result.display) == (True, True, "child")
    unknown = terminology.validate_code(PERSONAL_REL_VS, V3_ROLE, "NOPE")
    assert (unknown.valid, unknown.code_known) == (False, False)
    assert "Unknown code" in unknown.message and V3_ROLE in unknown.message
    outside = terminology.validate_code(PERSONAL_REL_VS, V3_ROLE, "GUARD")
    assert outside.code_known is True and "not in ValueSet" in outside.message


@pytest.mark.parametrize(
    ("system", "code", "known"),
    [
        (V3_ROLE, "CHILD", True),
        (V3_ROLE, "child", False),  # v3 is case sensitive
        (GENDER_CS, "other", True),
        (GENDER_CS, "x", False),
        (SNOMED, "12345", None),
        (UKCORE_REL, "Dependant", None),
        ("http://loinc.org", "1234-5", None),
    ],
)
def test_code_in_system(terminology: Terminology, system: str, code: str, known: bool | None) -> None:
    assert terminology.code_in_system(system, code) is known


@pytest.mark.parametrize(
    ("valueset", "system", "code", "valid"),
    [
        ("whole", TEST_CS["url"], "early-help", True),  # nested concept of a whole system
        ("whole", TEST_CS["url"], "support", True),
        ("whole", TEST_CS["url"], "none", False),  # excluded
        ("descendants", TEST_CS["url"], "cin", True),
        ("descendants", TEST_CS["url"], "support", False),  # descendent-of excludes the root
        ("unborn", TEST_CS["url"], "ucp", True),
        ("unborn", TEST_CS["url"], "none", False),
        ("relationship", V3_ROLE, "CHILD", True),
        ("relationship", V3_ROLE, "NOT-A-ROLE-CODE", False),  # enumerated but not a code of the system
        ("relationship", UKCORE_REL, "Dependant", True),  # enumerated from an unavailable system
        ("relationship", UKCORE_REL, "Carer", False),
        ("relationship", None, "Dependant", True),
        ("whole-ukcore", UKCORE_REL, "Carer", None),  # whole unavailable system: cannot check
        ("whole-ukcore", V3_ROLE, "SON", True),
        ("whole-ukcore", V3_ROLE, "DAU", False),  # other systems are still decidable
        ("missing-import", V3_ROLE, "SON", None),
        ("loop", TEST_CS["url"], "none", True),
        ("pre-expanded", SNOMED, "456", True),
        ("pre-expanded", SNOMED, "789", False),
    ],
)
def test_local_valuesets(
    terminology: Terminology, valueset: str, system: str | None, code: str, valid: bool | None
) -> None:
    url = f"https://example.org/fhir/ValueSet/{valueset}"
    assert terminology.validate_code(url, system, code).valid is valid


def test_unknown_valueset_cannot_be_checked(terminology: Terminology) -> None:
    result = terminology.validate_code("https://example.org/fhir/ValueSet/nowhere", V3_ROLE, "CHILD")
    assert result.valid is None and "not available" in result.message


def test_expansion_is_computed_once(terminology: Terminology) -> None:
    first = terminology.expand(PERSONAL_REL_VS)
    assert first is not None and terminology.expand(PERSONAL_REL_VS + "|2.0.0") is first
    assert isinstance(first.codes, frozenset) and (V3_ROLE, "CHILD") in first.codes


def test_codeable_concept_any_coding(terminology: Terminology) -> None:
    result = terminology.validate_codings(PERSONAL_REL_VS, [(SNOMED, "1"), (V3_ROLE, "SON")])
    assert result.valid is True
    assert terminology.validate_codings(PERSONAL_REL_VS, [(V3_ROLE, "GUARD")]).valid is False


GUIDE_GENERATED = (guide_resources_dir() / "ValueSet-dependent-child-relationship.json").is_file()


@pytest.mark.skipif(not GUIDE_GENERATED, reason="the guide's resources have not been generated yet")
@pytest.mark.parametrize(
    ("valueset", "system", "code", "valid"),
    [
        ("dependent-child-relationship", V3_ROLE, "CHILD", True),
        ("dependent-child-relationship", V3_ROLE, "SONADOPT", True),
        ("dependent-child-relationship", V3_ROLE, "NIECE", True),
        ("dependent-child-relationship", UKCORE_REL, "Dependant", True),
        ("dependent-child-relationship", V3_ROLE, "GUARD", False),
        ("dependent-child-relationship", V3_ROLE, "MTH", False),
        ("dependent-child-relationship", UKCORE_REL, "Carer", False),
        ("parental-status", f"{CANONICAL}/CodeSystem/parental-status", "not-a-parent", True),
        ("parental-status", f"{CANONICAL}/CodeSystem/parental-status", "14", False),
        ("yes-no-unknown", f"{CANONICAL}/CodeSystem/yes-no-unknown", "UNK", True),
        ("child-help-and-protection", f"{CANONICAL}/CodeSystem/help-and-protection", "looked-after", True),
        (
            "child-help-and-protection",
            f"{CANONICAL}/CodeSystem/help-and-protection",
            "unborn-child-protection-plan",
            False,
        ),
        (
            "unborn-help-and-protection",
            f"{CANONICAL}/CodeSystem/help-and-protection",
            "unborn-child-protection-plan",
            True,
        ),
        ("unborn-help-and-protection", f"{CANONICAL}/CodeSystem/help-and-protection", "child-in-need", False),
    ],
)
def test_guide_valuesets(valueset: str, system: str, code: str, valid: bool) -> None:
    terminology = Terminology(DefinitionStore(core_package_dir(), [guide_resources_dir()]))
    assert terminology.validate_code(f"{CANONICAL}/ValueSet/{valueset}", system, code).valid is valid


def _bindings(structure_definition: dict, part: str) -> list[tuple[str, str, str]]:
    return [
        (element["id"], element["binding"]["strength"], element["binding"]["valueSet"])
        for element in structure_definition.get(part, {}).get("element", [])
        if element.get("binding", {}).get("valueSet")
    ]


@pytest.mark.skipif(not GUIDE_GENERATED, reason="the guide's resources have not been generated yet")
def test_every_guide_binding_expands_completely() -> None:
    """A guide binding to a ValueSet that cannot be expanded locally would only ever produce warnings. The
    store is the default validator's (R4 core, UK Core and the guide): the guide binds one UK Core value set,
    the NHS number verification status on a child's NHS number."""
    from fhir_family.conformance.validator import default_validator

    store = default_validator().store
    terminology = Terminology(store)
    guide = {sd["url"] for sd in DefinitionStore(core_package_dir(), [guide_resources_dir()])
             .by_type("StructureDefinition") if sd["url"].startswith(CANONICAL)}
    bindings = [
        b for sd in store.by_type("StructureDefinition") if sd["url"] in guide
        for b in _bindings(sd, "differential")
    ]
    assert bindings
    for element_id, _strength, valueset in bindings:
        expansion = terminology.expand(valueset)
        assert expansion is not None and expansion.complete and expansion.codes, (element_id, valueset)


@pytest.mark.parametrize(
    "type_name",
    [
        "Bundle",
        "Patient",
        "RelatedPerson",
        "Organization",
        "EpisodeOfCare",
        "Identifier",
        "Coding",
        "Period",
        "Reference",
        "Meta",
    ],
)
def test_core_required_bindings_of_a_return_expand_completely(
    terminology: Terminology, type_name: str
) -> None:
    """Every required binding met in a national return is decidable offline (errors, not mere warnings)."""
    sd = terminology.store.structure_definition(type_name)
    assert sd is not None
    for element_id, strength, valueset in _bindings(sd, "snapshot"):
        if strength == "required":
            expansion = terminology.expand(valueset)
            assert expansion is not None and expansion.complete and expansion.codes, (element_id, valueset)
