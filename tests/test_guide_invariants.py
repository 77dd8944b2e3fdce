"""The guide's invariants, read from the committed StructureDefinitions, run by fhirpathpy on JSON samples.

The expressions are taken from the generated JSON (not copied here), so a broken edit to an invariant's FSH
shows up as soon as the guide is rebuilt.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from fhirpathpy import compile as fhirpath_compile
from fhirpathpy.models import models

from fhir_family.guide import CANONICAL, REPO_ROOT, guide_resources_dir

YNU = f"{CANONICAL}/CodeSystem/yes-no-unknown"
ALL_KEYS = [
    "ff-nhs-1", "ff-ods-1", "ff-pr-1", "ff-ps-1", "ff-bun-1", "ff-bun-2", "ff-bun-3", "ff-bun-4",
    # the 0.2 consistency rules (docs/guide.md section 0.5)
    "ff-hp-1", "ff-hp-2", "ff-pr-2", "ff-pr-3", "ff-ps-3", "ff-bun-5", "ff-bun-6", "ff-bun-8", "ff-bun-9",
    # 0.2: who was asked, support, think family, geography, and each entry's conditional request
    "ff-ps-2", "ff-ps-4", "ff-tf-1", "ff-la-1", "ff-bun-11", "ff-bun-12", "ff-bun-13", "ff-bun-14",
]


@cache
def constraints() -> dict[str, dict[str, Any]]:
    """Every ff-* constraint in the generated StructureDefinitions, by key (one definition per key)."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(guide_resources_dir().glob("StructureDefinition-*.json")):
        sd = json.loads(path.read_text(encoding="utf-8"))
        for element in sd["differential"]["element"]:
            for constraint in element.get("constraint", []):
                if constraint["key"].startswith("ff-"):
                    previous = found.setdefault(constraint["key"], constraint)
                    assert previous["expression"] == constraint["expression"], constraint["key"]
    return found


@cache
def invariant(key: str) -> Callable[[dict[str, Any]], list[Any]]:
    return fhirpath_compile(constraints()[key]["expression"], models["r4"])


def holds(key: str, node: dict[str, Any]) -> bool:
    """FHIR reads an invariant that yields `true` as passing; empty or false fails."""
    return invariant(key)(node) == [True]


def test_every_invariant_of_the_contract_is_in_the_guide_with_human_text_and_error_severity() -> None:
    assert sorted(constraints()) == sorted(ALL_KEYS)
    for key, constraint in constraints().items():
        assert constraint["severity"] == "error", key
        assert len(constraint["human"]) > 20, key
        invariant(key)  # compiles


@pytest.mark.parametrize(
    "value", ["9434765919", "9000000009", "4010232137", "1000000060", "0000000000", "9876543210"]
)
def test_nhs_number_accepts_valid_check_digit(value: str) -> None:
    assert holds("ff-nhs-1", {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": value})


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("9434765918", "wrong check digit"),
        ("9000000001", "wrong check digit"),
        ("4010232138", "wrong check digit"),
        ("943476591", "9 digits"),
        ("94347659199", "11 digits"),
        ("943476591X", "non-digit"),
        ("943 476 5919", "spaces"),
        ("", "empty"),
        ("1234567890", "check value 10, last digit 0"),
        ("1234567891", "check value 10, last digit 1"),
    ],
)
def test_nhs_number_rejects(value: str, why: str) -> None:
    assert not holds("ff-nhs-1", {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": value}), why


def test_nhs_number_rejects_missing_value() -> None:
    assert not holds("ff-nhs-1", {"system": "https://fhir.nhs.uk/Id/nhs-number"})


@pytest.mark.parametrize(("value", "ok"), [
    ("RX4", True), ("R1A", True), ("ABC123", True), ("8JD29", True),
    ("rx4", False), ("AB", False), ("ABCDEFG", False), ("R-1A", False), ("", False),
])
def test_ods_code(value: str, ok: bool) -> None:
    assert holds("ff-ods-1", {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": value}) is ok


def parental_responsibility(held: str | None, bases: list[str], system: str = YNU) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    if held is not None:
        parts.append({"url": "held", "valueCodeableConcept": {"coding": [{"system": system, "code": held}]}})
    for basis in bases:
        parts.append({"url": "basis", "valueCodeableConcept": {"coding": [
            {"system": f"{CANONICAL}/CodeSystem/parental-responsibility-basis", "code": basis}]}})
    return {"url": f"{CANONICAL}/StructureDefinition/parental-responsibility", "extension": parts}


@pytest.mark.parametrize(("sample", "ok"), [
    (parental_responsibility("Y", ["birth-mother"]), True),
    (parental_responsibility("Y", ["registered-parent", "child-arrangements-order"]), True),
    (parental_responsibility("Y", []), True),
    (parental_responsibility("N", []), True),
    (parental_responsibility("UNK", []), True),
    (parental_responsibility("N", ["birth-mother"]), False),
    (parental_responsibility("UNK", ["pr-order"]), False),
    (parental_responsibility(None, ["pr-order"]), False),
    (parental_responsibility("Y", ["pr-order"], system="http://example.org/other"), False),
])
def test_parental_responsibility_basis_only_when_held(sample: dict[str, Any], ok: bool) -> None:
    assert holds("ff-pr-1", sample) is ok


def parental_status(**parts: Any) -> dict[str, Any]:
    status = {"url": "status", "valueCodeableConcept": {"coding": [
        {"system": f"{CANONICAL}/CodeSystem/parental-status", "code": "not-a-parent"}]}}
    period = {"url": "reportingPeriod", "valuePeriod": {"start": "2026-10-01", "end": "2026-10-31"}}
    extension = [status, period]
    kinds = {"expectingChild": "valueBoolean", "expectedDueDate": "valueDate",
             "unbornChildHelp": "valueCodeableConcept"}
    for name, value in parts.items():
        extension.append({"url": name, kinds[name]: value})
    return {"url": f"{CANONICAL}/StructureDefinition/parental-status", "extension": extension}


UCP = {"coding": [{"system": f"{CANONICAL}/CodeSystem/help-and-protection",
                   "code": "unborn-child-protection-plan"}]}


@pytest.mark.parametrize(("sample", "ok"), [
    (parental_status(), True),
    (parental_status(expectingChild=False), True),
    (parental_status(expectingChild=True), True),
    (parental_status(expectingChild=True, expectedDueDate="2027-02-01"), True),
    (parental_status(expectingChild=True, expectedDueDate="2027-02-01", unbornChildHelp=UCP), True),
    (parental_status(expectedDueDate="2027-02-01"), False),
    (parental_status(unbornChildHelp=UCP), False),
    (parental_status(expectingChild=False, expectedDueDate="2027-02-01"), False),
    (parental_status(expectingChild=False, unbornChildHelp=UCP), False),
])
def test_expected_child_details_only_when_expecting(sample: dict[str, Any], ok: bool) -> None:
    assert holds("ff-ps-1", sample) is ok


def bundle() -> dict[str, Any]:
    """A minimal return: only the shape the bundle rules look at (other profile rules are not tested)."""
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": "urn:uuid:00000000-0000-5000-8000-000000000001",
             "resource": {"resourceType": "Organization"}},
            {"fullUrl": "urn:uuid:00000000-0000-5000-8000-000000000002",
             "resource": {"resourceType": "Patient"}},
            {"fullUrl": "urn:uuid:00000000-0000-5000-8000-000000000003",
             "resource": {"resourceType": "EpisodeOfCare",
                          "patient": {"reference": "urn:uuid:00000000-0000-5000-8000-000000000002"}}},
            {"fullUrl": "urn:uuid:00000000-0000-5000-8000-000000000004",
             "resource": {"resourceType": "RelatedPerson",
                          "patient": {"reference": "urn:uuid:00000000-0000-5000-8000-000000000002"}}},
            {"fullUrl": "urn:uuid:00000000-0000-5000-8000-000000000005",
             "resource": {"resourceType": "RelatedPerson",
                          "patient": {"reference": "urn:uuid:00000000-0000-5000-8000-000000000002"}}},
        ],
    }


def without_children() -> dict[str, Any]:
    sample = bundle()
    del sample["entry"][3:]
    return sample


def with_entry(resource: dict[str, Any], full_url: str = "urn:uuid:00000000-0000-5000-8000-000000000099"):
    sample = bundle()
    sample["entry"].append({"fullUrl": full_url, "resource": resource})
    return sample


def without_type(resource_type: str) -> dict[str, Any]:
    sample = bundle()
    sample["entry"] = [e for e in sample["entry"] if e["resource"]["resourceType"] != resource_type]
    return sample


def child_pointing_at(reference: str | None) -> dict[str, Any]:
    sample = bundle()
    child = sample["entry"][4]["resource"]
    if reference is None:
        del child["patient"]
    else:
        child["patient"]["reference"] = reference
    return sample


@pytest.mark.parametrize("key", ["ff-bun-1", "ff-bun-2", "ff-bun-3", "ff-bun-4"])
@pytest.mark.parametrize("sample", [bundle(), without_children()], ids=["with-children", "no-children"])
def test_bundle_rules_accept_a_well_formed_return(key: str, sample: dict[str, Any]) -> None:
    assert holds(key, copy.deepcopy(sample))


@pytest.mark.parametrize(("key", "sample"), [
    ("ff-bun-1", without_type("Patient")),
    ("ff-bun-1", with_entry({"resourceType": "Patient"})),
    ("ff-bun-2", without_type("Organization")),
    ("ff-bun-2", without_type("EpisodeOfCare")),
    ("ff-bun-2", with_entry({"resourceType": "Organization"})),
    ("ff-bun-2", with_entry({"resourceType": "EpisodeOfCare"})),
    ("ff-bun-3", child_pointing_at("urn:uuid:00000000-0000-5000-8000-000000000001")),
    ("ff-bun-3", child_pointing_at("Patient/123")),
    ("ff-bun-3", without_type("Patient")),
    ("ff-bun-4", with_entry({"resourceType": "Observation"})),
    ("ff-bun-4", with_entry({"resourceType": "Practitioner"})),
], ids=lambda v: v if isinstance(v, str) else "")
def test_bundle_rules_reject(key: str, sample: dict[str, Any]) -> None:
    assert not holds(key, sample)


def test_bundle_rules_are_independent_of_each_other() -> None:
    """A foreign resource breaks ff-bun-4 only; the counting rules still hold."""
    sample = with_entry({"resourceType": "Observation"})
    assert [holds(key, sample) for key in ["ff-bun-1", "ff-bun-2", "ff-bun-3", "ff-bun-4"]] == [
        True, True, True, False]


def contract_invariants() -> dict[str, tuple[str, str]]:
    """key -> (severity, human) from the invariants table of docs/model.md, Markdown backticks removed."""
    table: dict[str, tuple[str, str]] = {}
    text = (REPO_ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`ff-"):
            table[cells[0].strip("`")] = (cells[2], cells[3].replace("`", ""))
    return table


def test_invariants_say_what_the_contract_says() -> None:
    contract = contract_invariants()
    assert sorted(contract) == sorted(ALL_KEYS)
    for key, (severity, human) in contract.items():
        assert (constraints()[key]["severity"], constraints()[key]["human"]) == (severity, human), key


def test_nhs_number_expression_is_the_contract_expression_word_for_word() -> None:
    text = (REPO_ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    contract = text.split("`ff-nhs-1` expression (Identifier context):\n`", 1)[1].split("`\n", 1)[0]
    assert constraints()["ff-nhs-1"]["expression"] == contract
    assert constraints()["ff-ods-1"]["expression"] == "value.matches('^[A-Z0-9]{3,6}$')"


PS_SYSTEM = f"{CANONICAL}/CodeSystem/parental-status"


def _status(code: str, *parts: dict[str, Any]) -> dict[str, Any]:
    status = {"url": "status", "valueCodeableConcept": {"coding": [{"system": PS_SYSTEM, "code": code}]}}
    return {"url": f"{CANONICAL}/StructureDefinition/parental-status", "extension": [status, *parts]}


ASKED = {"url": "dateAsked", "valueDate": "2026-01-12"}
ROLE = {"url": "askedBy", "valueCodeableConcept": {"coding": [{"code": "nurse"}]}}


@pytest.mark.parametrize(
    ("extension", "ok"),
    [
        (_status("declined", ASKED), True),
        (_status("declined"), False),  # asked, so dateAsked is required
        (_status("not-asked"), True),
        (_status("not-asked", ASKED), False),  # nobody asked: no date
        (_status("not-asked", ROLE), False),  # ... and no role
    ],
)
def test_date_asked_unless_not_asked(extension: dict[str, Any], ok: bool) -> None:
    assert holds("ff-ps-2", extension) is ok


def _support(*codes: str) -> dict[str, Any]:
    system = f"{CANONICAL}/CodeSystem/support-offered"
    return _status("declined", *(
        {"url": "supportOffered", "valueCodeableConcept": {"coding": [{"system": system, "code": c}]}}
        for c in codes
    ))


def test_support_none_stands_alone() -> None:
    assert holds("ff-ps-4", _support("none"))
    assert holds("ff-ps-4", _support("parenting-support", "carers-assessment"))
    assert not holds("ff-ps-4", _support("none", "parenting-support"))


def _think_family(action: str, outcome: str | None) -> dict[str, Any]:
    parts = [{"url": "action", "valueCodeableConcept": {"coding": [
        {"system": f"{CANONICAL}/CodeSystem/think-family-action", "code": action}]}}]
    if outcome:
        parts.append({"url": "outcome", "valueCodeableConcept": {"coding": [
            {"system": f"{CANONICAL}/CodeSystem/think-family-outcome", "code": outcome}]}})
    return {"url": f"{CANONICAL}/StructureDefinition/think-family-referral", "extension": parts}


@pytest.mark.parametrize(
    ("action", "outcome", "ok"),
    [
        ("referred", "accepted-cin", True),
        ("notified", "no-further-action", True),
        ("not-needed", None, True),
        ("not-needed", "no-further-action", False),
        ("already-known", "awaited", False),
    ],
)
def test_think_family_outcome_only_after_referral_or_notification(action: str, outcome: str | None,
                                                                  ok: bool) -> None:
    assert holds("ff-tf-1", _think_family(action, outcome)) is ok


@pytest.mark.parametrize(
    ("code", "ok"),
    [("E08000025", True), ("E09000002", True), ("E10000014", True), ("E06000001", True),
     ("W06000015", False), ("E05000001", False), ("E0800002", False), ("e08000025", False)],
)
def test_local_authority_is_an_english_gss_code(code: str, ok: bool) -> None:
    """ff-la-1 through the validator (it types valueCoding; bare fhirpathpy on an untyped dict does not)."""
    from dataclasses import replace

    from fhir_family.conformance import default_validator
    from fhir_family.guide.examples.valid import MOTHER_THREE_CHILDREN
    from fhir_family.mapping.bundle import build_bundle

    bundle = build_bundle(replace(MOTHER_THREE_CHILDREN, local_authority=code))
    found = [
        (i["code"], i["expression"][0], i["diagnostics"][:8])
        for i in default_validator().validate(bundle)["issue"]
        if i["severity"] == "error"
    ]
    assert found == ([] if ok else [("invariant", "Bundle.entry[1].resource.extension[1]", "ff-la-1:")])


PROVIDER_RECORD = "https://fhir-family.uk/fhir/Id/provider-record"
NHS = "https://fhir.nhs.uk/Id/nhs-number"


@pytest.mark.parametrize(
    ("key", "request_", "ok"),
    [
        ("ff-bun-11", {"method": "PUT", "url": f"Patient?identifier={PROVIDER_RECORD}|XFF01/P1"}, True),
        ("ff-bun-11", {"method": "PUT", "url": f"Patient?identifier={NHS}|9434765919"}, False),
        ("ff-bun-11", {"method": "POST", "url": "Patient"}, False),
        ("ff-bun-12", {"method": "PUT", "url": f"EpisodeOfCare?identifier={PROVIDER_RECORD}|X/SR1"}, True),
        ("ff-bun-12", {"method": "POST", "url": "EpisodeOfCare"}, False),
        ("ff-bun-13", {"method": "PUT", "url": f"RelatedPerson?identifier={PROVIDER_RECORD}|X/P1/C1"}, True),
        ("ff-bun-13", {"method": "PUT", "url": f"Patient?identifier={PROVIDER_RECORD}|XFF01/P1/C1"}, False),
        ("ff-bun-14", {"method": "POST", "url": "Organization",
                       "ifNoneExist": "identifier=https://fhir.nhs.uk/Id/ods-organization-code|XFF01"}, True),
        ("ff-bun-14", {"method": "POST", "url": "Organization"}, False),
    ],
)
def test_each_entry_is_its_conditional_interaction(key: str, request_: dict[str, Any], ok: bool) -> None:
    assert holds(key, {"fullUrl": "urn:uuid:x", "request": request_}) is ok
