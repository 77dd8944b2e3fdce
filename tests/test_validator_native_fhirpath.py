"""The guide's invariants compiled to Python (``conformance/fhirpath_native.py``) agree with fhirpathpy.

Every guide invariant without a hand-written twin is compiled at load time; here each compiled form is
evaluated beside fhirpathpy on every example bundle and on mutations made to reach each rule's edges (dates
after, equal to and less precise than the reporting date, primitive extensions, declined and not-a-parent
returns with children, adopted and step children, repeated codes, two patients). The native answer must
equal fhirpathpy's wherever it gives one (None hands the case to fhirpathpy), it must give one on most
samples, and both outcomes must occur among them.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fhir_family.conformance import Validator, default_validator
from fhir_family.conformance.fhirpath_native import compile_native
from fhir_family.conformance.guide_fast_paths import FHIRPATH_ONLY
from fhir_family.conformance.invariants import Invariant
from fhir_family.guide import CANONICAL

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SD = f"{CANONICAL}/StructureDefinition/"
PARENTAL_STATUS = SD + "parental-status"
HELP = SD + "help-and-protection"
PR = SD + "parental-responsibility"
ROLE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"


@functools.cache
def _guide_constraints() -> dict[str, tuple[str, str]]:
    """key -> (expression, what it constrains) for the guide's own invariants: the profile's type, or
    ``Bundle.entry|<slice>`` for a rule on an entry slice, or ``Extension|<url>`` for an extension's rule."""
    found = {}
    for sd in default_validator().store.by_type("StructureDefinition"):
        if not sd.get("url", "").startswith(CANONICAL + "/"):
            continue
        for element in sd.get("differential", {}).get("element", []):
            for constraint in element.get("constraint", []):
                target = sd["type"]
                if element["path"] == "Bundle.entry":
                    target = f"Bundle.entry|{element.get('sliceName', '')}"
                elif sd["type"] == "Extension" and element["path"] == "Extension":
                    target = f"Extension|{sd['url']}"
                found[constraint["key"]] = (constraint["expression"], target)
    return found


def _examples() -> list[dict[str, Any]]:
    bundles = []
    for folder in ("bundles", "invalid"):
        for path in sorted((EXAMPLES / folder).glob("*.json")):
            if not path.name.endswith(".expected.json"):
                bundles.append(json.loads(path.read_text(encoding="utf-8")))
    return bundles


def _resources(bundle: dict, resource_type: str) -> list[dict]:
    return [
        e["resource"]
        for e in bundle.get("entry", [])
        if isinstance(e, dict) and isinstance(e.get("resource"), dict)
        and e["resource"].get("resourceType") == resource_type
    ]


def _status(bundle: dict) -> dict | None:
    for patient in _resources(bundle, "Patient"):
        for extension in patient.get("extension", []):
            if extension.get("url") == PARENTAL_STATUS:
                return extension
    return None


def _part(bundle: dict, url: str) -> dict | None:
    status = _status(bundle)
    return next((p for p in (status or {}).get("extension", []) if p.get("url") == url), None)


def _set_children(field: str, value: Any) -> Callable[[dict], None]:
    def mutate(bundle: dict) -> None:
        for child in _resources(bundle, "RelatedPerson"):
            if value is None:
                child.pop(field, None)
            else:
                child[field] = copy.deepcopy(value)
    return mutate


def _set_period_end(value: Any) -> Callable[[dict], None]:
    def mutate(bundle: dict) -> None:
        part = _part(bundle, "reportingPeriod")
        if part is not None:
            if value is None:
                part.get("valuePeriod", {}).pop("end", None)
            else:
                part.setdefault("valuePeriod", {})["end"] = value
    return mutate


def _set_recorded(key: str, value: Any) -> Callable[[dict], None]:
    def mutate(bundle: dict) -> None:
        part = _part(bundle, "dateRecorded")
        if part is not None:
            for existing in [k for k in part if k.startswith("value")]:
                del part[existing]
            if value is not None:
                part[key] = value
    return mutate


def _set_episode_start(value: Any) -> Callable[[dict], None]:
    def mutate(bundle: dict) -> None:
        for episode in _resources(bundle, "EpisodeOfCare"):
            if value is None:
                episode.get("period", {}).pop("start", None)
            else:
                episode.setdefault("period", {})["start"] = value
    return mutate


def _set_status(code: str) -> Callable[[dict], None]:
    def mutate(bundle: dict) -> None:
        part = _part(bundle, "status")
        if part is not None:
            part["valueCodeableConcept"] = {"coding": [{"system": f"{CANONICAL}/CodeSystem/parental-status",
                                                        "code": code}]}
    return mutate


def _drop_children(bundle: dict) -> None:
    bundle["entry"] = [e for e in bundle.get("entry", []) if e["resource"]["resourceType"] != "RelatedPerson"]


def _add_help(*codes: str) -> Callable[[dict], None]:
    def mutate(bundle: dict) -> None:
        for child in _resources(bundle, "RelatedPerson"):
            for code in codes:
                child.setdefault("extension", []).append(
                    {"url": HELP, "valueCodeableConcept": {
                        "coding": [{"system": f"{CANONICAL}/CodeSystem/help-and-protection", "code": code}]}}
                )
    return mutate


def _only_help(code: str) -> Callable[[dict], None]:
    def mutate(bundle: dict) -> None:
        for child in _resources(bundle, "RelatedPerson"):
            child["extension"] = [e for e in child.get("extension", []) if e.get("url") != HELP]
        _add_help(code)(bundle)
    return mutate


def _relationship(code: str, system: str = ROLE) -> Callable[[dict], None]:
    return _set_children("relationship", [{"coding": [{"system": system, "code": code}]}])


def _pr(held: str | None, basis: str | None) -> Callable[[dict], None]:
    def mutate(bundle: dict) -> None:
        parts = []
        if held:
            parts.append({"url": "held", "valueCodeableConcept": {"coding": [
                {"system": f"{CANONICAL}/CodeSystem/yes-no-unknown", "code": held}]}})
        if basis:
            parts.append({"url": "basis", "valueCodeableConcept": {"coding": [
                {"system": f"{CANONICAL}/CodeSystem/parental-responsibility-basis", "code": basis}]}})
        for child in _resources(bundle, "RelatedPerson"):
            child["extension"] = [e for e in child.get("extension", []) if e.get("url") != PR]
            child["extension"].append({"url": PR, "extension": parts})
    return mutate


def _two_patients(bundle: dict) -> None:
    patient = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    bundle["entry"].append(copy.deepcopy(patient))


def _primitive_extension(bundle: dict) -> None:
    for child in _resources(bundle, "RelatedPerson"):
        child["_birthDate"] = {"extension": [{"url": "http://example.org/x", "valueString": "y"}]}


MUTATIONS: list[Callable[[dict], None]] = [
    _set_children("birthDate", "2099-01-15"),
    _set_children("birthDate", "2026-12-31"),
    _set_children("birthDate", "2026-12"),
    _set_children("birthDate", None),
    _primitive_extension,
    _set_period_end("2026-10-01"),
    _set_period_end("2026-12-31T10:00:00Z"),
    _set_period_end(None),
    _set_recorded("valueDate", "2099-01-01"),
    _set_recorded("valueDateTime", "2026-12-31T23:59:59+01:00"),
    _set_recorded("valueDate", None),
    _set_episode_start("2099-02-01"),
    _set_episode_start("2026-12-31T23:00:00+01:00"),
    _set_episode_start(None),
    _set_status("declined"),
    _set_status("not-a-parent"),
    lambda b: (_set_status("declined")(b), _drop_children(b)),
    lambda b: (_set_status("not-a-parent")(b), _drop_children(b)),
    _add_help("none"),
    _add_help("early-help"),
    _only_help("not-known"),
    lambda b: (_only_help("none")(b), _add_help("none")(b)),
    _relationship("CHLDADOPT"),
    lambda b: (_relationship("SONADOPT")(b), _pr("N", None)(b)),
    lambda b: (_relationship("DAUADOPT")(b), _pr("UNK", None)(b)),
    lambda b: (_relationship("CHLDADOPT")(b), _pr("Y", "adoption-order")(b)),
    lambda b: (_relationship("STPCHLD")(b), _pr("Y", "birth-mother")(b)),
    lambda b: (_relationship("NIECE")(b), _pr("Y", "registered-parent")(b)),
    lambda b: (_relationship("CHILD")(b), _pr("Y", "married-father")(b)),
    lambda b: (_relationship("STPCHLD", "http://example.org/other")(b), _pr("Y", "birth-mother")(b)),
    _two_patients,
]


@functools.cache
def _bundles() -> list[dict]:
    """Read only (cached across the tests)."""
    bundles = _examples()
    for base in list(bundles):
        for mutate in MUTATIONS:
            variant = copy.deepcopy(base)
            try:
                mutate(variant)
            except (KeyError, StopIteration, TypeError, AttributeError):
                continue
            bundles.append(variant)
    return bundles


ENTRY_SLICES = {
    "organization": "Organization", "patient": "Patient", "episode": "EpisodeOfCare", "child": "RelatedPerson"
}
"""NationalReturnBundle's entry slices and the resource type each holds."""


def _extensions(bundle: dict, url: str) -> list[dict]:
    return [
        extension
        for entry in bundle.get("entry", [])
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict)
        for extension in entry["resource"].get("extension", [])
        if isinstance(extension, dict) and extension.get("url") == url
    ]


def _request_variants(entry: dict) -> list[dict]:
    """The entry, and copies with its request's method or condition changed (an Organization PUT, an
    ifNoneExist on another system): the entry rules' both outcomes from real shapes."""
    variants = [entry]
    request = entry.get("request")
    if isinstance(request, dict):
        for field, value in (("method", "GET"), ("url", "Patient/1"), ("ifNoneExist", "identifier=x|1")):
            if field in request:
                variant = copy.deepcopy(entry)
                variant["request"][field] = value
                variants.append(variant)
    return variants


def _extension_variants(extension: dict) -> list[dict]:
    """The extension and, for each code in it, a copy with that code replaced by another (a think-family
    outcome after 'not-needed', a local authority code out of pattern): both outcomes from real shapes."""
    variants = [extension]
    for replacement in ("not-needed", "W06000001"):
        variant = copy.deepcopy(extension)
        parts = [variant, *variant.get("extension", [])]
        for part in parts:
            coding = part.get("valueCoding")
            concept = part.get("valueCodeableConcept", {})
            codings = [coding] if isinstance(coding, dict) else concept.get("coding", [])
            for item in codings:
                item["code"] = replacement
        variants.append(variant)
    return variants


def _samples(profile_type: str, key: str, bundles: list[dict]) -> tuple[list[dict], str | None]:
    if profile_type == "Bundle":
        return bundles, None
    if profile_type.startswith("Bundle.entry|"):
        resource_type = ENTRY_SLICES[profile_type.split("|", 1)[1]]
        entries = [
            entry for bundle in bundles for entry in bundle.get("entry", [])
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict)
            and entry["resource"].get("resourceType") == resource_type
        ]
        return [variant for entry in entries for variant in _request_variants(entry)], None
    if profile_type.startswith("Extension|"):
        url = profile_type.split("|", 1)[1]
        found = [e for bundle in _examples() for e in _extensions(bundle, url)]
        return [variant for extension in found for variant in _extension_variants(extension)], "Extension"
    if profile_type == "RelatedPerson":
        return [child for bundle in bundles for child in _resources(bundle, "RelatedPerson")], None
    if profile_type == "Extension":
        return [status for bundle in bundles if (status := _status(bundle)) is not None], "Extension"
    raise AssertionError(f"{key}: no samples for a {profile_type} invariant")


NATIVE = sorted(key for key in _guide_constraints() if key in FHIRPATH_ONLY)


def test_every_guide_rule_without_a_twin_compiles_natively() -> None:
    """The speed of validation rests on it: a rule outside the native subset runs in fhirpathpy (correct,
    ~1 ms slower per return); extend fhirpath_native.py or write a twin."""
    assert NATIVE, "no guide invariant to compile?"
    assert [key for key in NATIVE if compile_native(_guide_constraints()[key][0]) is None] == []


@pytest.mark.parametrize("key", NATIVE)
def test_native_form_matches_fhirpathpy(key: str) -> None:
    expression, profile_type = _guide_constraints()[key]
    native = compile_native(expression)
    assert native is not None
    reference = Invariant.from_constraint(
        {"key": key, "severity": "error", "human": key, "expression": expression}, fast_paths=False
    )
    samples, type_path = _samples(profile_type, key, _bundles())
    answered, outcomes = 0, set()
    for data in samples:
        mine = native(data)
        theirs = reference.evaluate_fhirpath(data, type_path, data, data)
        if mine is not None:
            assert mine == theirs, (key, json.dumps(data)[:400])
            answered += 1
            outcomes.add(mine)
    assert answered >= 0.8 * len(samples), f"{key}: native answered {answered} of {len(samples)}"
    assert outcomes == {True, False}, f"{key}: the samples must reach both outcomes natively"


@pytest.mark.parametrize(
    ("expression", "data"),
    [
        ("birthDate > '2020'", {"birthDate": "2021"}),  # a date compared as a date: fhirpathpy's
        ("birthDate = '2020-01-01'", {"birthDate": "2020-01-01"}),
        ("deceased.exists()", {"deceasedBoolean": True}),  # a choice other than value[x]
        ("value.exists()", {"valueString": "a", "valueInteger": 1}),
        ("name.toString() = 'a'", {"name": ["a", "b"]}),
        ("amount.value = 1", {"amount": {"value": 1.5}}),
    ],
)
def test_what_it_does_not_model_goes_to_fhirpathpy(expression: str, data: dict) -> None:
    native = compile_native(expression)
    assert native is None or native(data) is None


def test_validation_with_and_without_the_native_forms_agrees_on_the_mutated_returns() -> None:
    fast, slow = default_validator(), Validator(default_validator().store, native_fast_paths=False)
    for bundle in _bundles()[::7]:
        assert fast.validate(bundle) == slow.validate(bundle)


WHERE = "extension.where(url = 'a' and (code = 'b' or code != 'c')).exists()"


@pytest.mark.parametrize(
    "extensions",
    [
        [{"url": "a", "code": "b"}],
        [{"url": "a", "code": "c"}],
        [{"url": "a"}],
        [{"code": "b"}],
        [{"url": "x", "code": "b"}, {"url": "a", "code": "z"}],
        [{"url": 3, "code": "b"}],
        [{"url": "a", "code": "b", "_code": {"id": "1"}}],
        [{"url": "a", "codeString": "b"}],
        [{"url": "2026", "code": "b"}],
        [],
    ],
)
def test_a_where_criterion_read_directly_agrees_with_fhirpathpy(extensions: list) -> None:
    data = {"resourceType": "Basic", "extension": extensions}
    native = compile_native(WHERE)
    assert native is not None
    reference = Invariant.from_constraint(
        {"key": "t-1", "severity": "error", "human": "t", "expression": WHERE}, fast_paths=False
    )
    mine = native(data)
    assert mine is None or mine == reference.evaluate_fhirpath(data, None, data, data)


FOLDED = "extension.where(url = 'a' and (code = 'b' or code = 'c' or (code = 'd' or code = 'e'))).exists()"


@pytest.mark.parametrize(
    "extensions",
    [
        [{"url": "a", "code": "b"}],
        [{"url": "a", "code": "e"}],
        [{"url": "a", "code": "z"}],
        [{"url": "a"}],
        [{"url": "x", "code": "d"}, {"url": "a", "code": "z"}],
        [{"url": "a", "code": 3}],
        [{"url": "a", "code": "c", "_code": {"id": "1"}}],
        [{"url": "a", "code": "1c"}],
        ["a"],
        [],
    ],
)
def test_an_or_chain_folded_into_one_set_agrees_with_fhirpathpy(extensions: list) -> None:
    """``code = 'b' or code = 'c' or ...`` becomes one frozenset look-up at compile time (ff-pr-3 has 23
    codes in one chain): the same answers as fhirpathpy on codes in, out, missing, non-text, extended."""
    data = {"resourceType": "Basic", "extension": extensions}
    native = compile_native(FOLDED)
    assert native is not None
    reference = Invariant.from_constraint(
        {"key": "t-2", "severity": "error", "human": "t", "expression": FOLDED}, fast_paths=False
    )
    mine = native(data)
    assert mine is None or mine == reference.evaluate_fhirpath(data, None, data, data)


def test_an_or_chain_of_one_member_is_folded() -> None:
    """The fold is what the guide's long code lists run on (a regression to a chain of closures is slow)."""
    from fhirpathpy.parser import parse

    from fhir_family.conformance import fhirpath_native

    def predicate(text: str) -> Any:
        return fhirpath_native._predicate(parse(text)["children"][0])

    assert predicate("code = 'b' or code = 'c' or (code = 'd' or code = 'e')").__name__ == "member_in"
    assert predicate("code = 'b' or system = 'c'").__name__ == "joined"
    assert predicate("code = 'b' or code != 'c'").__name__ == "joined"


WHERE_URL = "extension.where(url = 'a').count() = 1"


@pytest.mark.parametrize(
    "extensions",
    [
        [{"url": "a"}],
        [{"url": "a"}, {"url": "b"}],
        [{"url": "a"}, {"url": "a"}],
        [{"url": "a", "_url": {"id": "1"}}],
        [{"url": 3}],
        [{"url": "2026"}],
        [{"code": "a"}],
        ["a"],
        [],
    ],
)
def test_a_where_on_one_member_inlined_agrees_with_fhirpathpy(extensions: list) -> None:
    data = {"resourceType": "Basic", "extension": extensions}
    native = compile_native(WHERE_URL)
    assert native is not None
    reference = Invariant.from_constraint(
        {"key": "t-3", "severity": "error", "human": "t", "expression": WHERE_URL}, fast_paths=False
    )
    mine = native(data)
    assert mine is None or mine == reference.evaluate_fhirpath(data, None, data, data)


VALUE = "extension.where(url = 'a').value.code = 'x'"


@pytest.mark.parametrize(
    "extension",
    [
        {"url": "a", "valueCoding": {"code": "x"}},
        {"url": "a", "valueCoding": {"code": "y"}},
        {"url": "a", "valueCodeableConcept": {"coding": [{"code": "x"}]}},
        {"url": "a", "valueCoding": {"code": "x"}, "valueString": "s"},
        {"url": "a", "valueCode": "x", "_valueCode": {"id": "1"}},
        {"url": "a", "valuex": {"code": "x"}},
        {"url": "a"},
        {"url": "a", "valueCoding": None},
    ],
)
def test_a_choice_value_read_directly_agrees_with_fhirpathpy(extension: dict) -> None:
    """``.value`` on one extension finds its one ``value[x]`` directly; two of them, a primitive extension
    and the rest go the general way (and to fhirpathpy where the native form does not model them)."""
    data = {"resourceType": "Basic", "extension": [extension]}
    native = compile_native(VALUE)
    assert native is not None
    reference = Invariant.from_constraint(
        {"key": "t-4", "severity": "error", "human": "t", "expression": VALUE}, fast_paths=False
    )
    mine = native(data)
    assert mine is None or mine == reference.evaluate_fhirpath(data, None, data, data)


IMPLIES = "a.exists() implies b.coding.where(system = 's' and (code = 'x' or code = 'y')).count() = 1"
_B_ODD = [
    {"coding": [{"system": "s", "code": "x", "_code": {"id": "1"}}]},  # primitive extension: not modelled
    {"coding": ["text"]},  # a member of a primitive: not modelled
    {"coding": [{"system": ["s", "t"], "code": "x"}]},
    {"coding": [{"system": "s", "code": 1}]},
    {"coding": [{"system": "s", "code": "x"}, {"system": "s", "code": "y"}]},
    {"coding": [{"system": "s", "code": "x"}]},
    {},
]


@pytest.mark.parametrize("a", [None, True, [True, False]])
@pytest.mark.parametrize("b", _B_ODD)
def test_implies_with_a_false_antecedent_skips_a_consequent_that_cannot_fail(a: Any, b: dict) -> None:
    """``X implies Y`` answers true without evaluating Y when X is false and Y is one fhirpathpy evaluates
    on any JSON without an error (member paths, ``where`` over ``=`` tests, ``count()``): the same answer
    as fhirpathpy, including on consequents the native form does not model."""
    data: dict[str, Any] = {"resourceType": "Basic", "b": b}
    if a is not None:
        data["a"] = a
    native = compile_native(IMPLIES)
    assert native is not None
    reference = Invariant.from_constraint(
        {"key": "t-5", "severity": "error", "human": "t", "expression": IMPLIES}, fast_paths=False
    )
    expected = reference.evaluate_fhirpath(data, None, data, data)
    mine = native(data)
    assert mine is None or mine == expected
    if a is None:
        assert mine is True and expected is True  # the consequent is not evaluated at all


@pytest.mark.parametrize(
    ("consequent", "safe"),
    [
        ("b.where(code = 'x').empty()", True),
        ("entry.resource.ofType(RelatedPerson).empty()", True),
        ("b.where(code = 'x').count() = 1", True),
        ("b.where(active).empty()", False),  # a bare member read as a Boolean can fail
        ("b.code > 'x'", False),  # an ordering of several items fails
        ("b.single().exists()", False),
        ("b.where(code != 'x').empty()", False),
        ("b.value.all(iif($this.toString() > 'x', false, true))", False),
    ],
)
def test_only_consequents_that_cannot_fail_are_skipped(consequent: str, safe: bool) -> None:
    from fhirpathpy.parser import parse

    from fhir_family.conformance.fhirpath_native import _children, _never_fails

    tree = parse(f"a.exists() implies {consequent}")
    while tree.get("type") != "ImpliesExpression":
        tree = _children(tree)[0]
    assert _never_fails(_children(tree)[1]) is safe
