"""The natively implemented invariants agree with fhirpathpy evaluating the genuine core FHIRPath.

ele-1 and ext-1 are never sent to fhirpathpy by the validator, and a few hot core invariants (dom-2..5, bdl-*,
ref-1, org-1) take a native fast path; these tests evaluate both on the same samples and compare.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fhirpathpy.engine.nodes import ResourceNode

from fhir_family.conformance import default_validator
from fhir_family.conformance.guide_fast_paths import FHIRPATH_ONLY, GUIDE_FAST_PATHS
from fhir_family.conformance.invariants import (
    FAST_PATHS,
    FAST_PATHS_WITH_RESOURCE,
    SKIPPED,
    Invariant,
    compile_expression,
    ele1_holds,
    ext1_holds,
)
from fhir_family.guide import CANONICAL

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "bundles"
ELE_1 = "hasValue() or (children().count() > id.count())"
EXT_1 = "extension.exists() != value.exists()"


def fhirpath(expression: str, data: Any, type_path: str) -> list:
    return compile_expression(expression)(ResourceNode.create_node(data, type_path), {})


@pytest.mark.parametrize(
    ("data", "type_path"),
    [
        ({}, "Identifier"),
        ({"id": "a"}, "Identifier"),
        ({"value": "x"}, "Identifier"),
        ({"id": "a", "system": "http://x"}, "Identifier"),
        ({"extension": [{"url": "http://x", "valueString": "y"}]}, "Period"),
        ({"coding": [{"code": "a"}]}, "CodeableConcept"),
        ({"start": "2020-01-01"}, "Period"),
    ],
)
def test_ele1_native_matches_fhirpath(data: dict, type_path: str) -> None:
    assert fhirpath(ELE_1, data, type_path) == [ele1_holds(data)]


@pytest.mark.parametrize(
    "extension",
    [
        {"url": "http://x"},
        {"url": "http://x", "valueString": "y"},
        {"url": "http://x", "valueCodeableConcept": {"text": "t"}},
        {"url": "http://x", "extension": [{"url": "a", "valueBoolean": True}]},
        {"url": "http://x", "valueBoolean": False, "extension": [{"url": "a", "valueBoolean": True}]},
        {"url": "http://x", "valuePeriod": {"start": "2020"}},
        {"url": "http://x", "_valueString": {"extension": [{"url": "http://y", "valueCode": "z"}]}},
        {
            "url": "http://x",
            "_valueString": {"extension": [{"url": "http://y", "valueCode": "z"}]},
            "extension": [{"url": "a", "valueBoolean": True}],
        },
    ],
)
def test_ext1_native_matches_fhirpath(extension: dict) -> None:
    assert fhirpath(EXT_1, extension, "Extension") == [ext1_holds(extension)]


def _samples() -> list[tuple[dict, dict]]:
    """(data, enclosing resource): every Bundle, entry and resource of the examples, plus edge cases."""
    samples: list[tuple[dict, dict]] = []
    for path in sorted(EXAMPLES.glob("*.json")):
        bundle = json.loads(path.read_text(encoding="utf-8"))
        samples.append((bundle, bundle))
        for entry in bundle["entry"]:
            samples.append((entry, bundle))
            samples.append((entry["resource"], entry["resource"]))
            samples.extend((ref, entry["resource"]) for ref in _references(entry["resource"]))
    edge = [
        {"resourceType": "Bundle", "type": "searchset", "total": 1, "entry": [{"search": {"mode": "match"}}]},
        {"resourceType": "Bundle", "type": "collection", "total": 1},
        {"resourceType": "Bundle", "type": "document", "entry": [{"resource": {"resourceType": "Patient"}}]},
        {"resourceType": "Bundle", "type": "message", "entry": [{"resource": {"resourceType": "Patient"}}]},
        {"resourceType": "Bundle", "type": "transaction", "entry": [{"fullUrl": "urn:uuid:1"}]},
        {"resourceType": "Bundle", "type": "batch-response", "entry": [{"response": {"status": "200"}}]},
        {"fullUrl": "http://x/Patient/1/_history/2", "resource": {"resourceType": "Patient"}},
        {"fullUrl": "http://x/Patient/1"},
        {"start": "2020-01-02", "end": "2020-01-01"},
        {"start": "2020-01-01", "end": "2020-01-01"},
        {"start": "2019-12-31", "end": "2020-01-01"},
        {"start": "2020-01-01"},
        {"end": "2020"},
        {"start": "2020-01-01T10:00:00Z", "end": "2020-01-01"},
        {"reference": "#p1"},
        {"reference": "Patient/1"},
        {"display": "only a display"},
        {"resourceType": "Organization"},
        {"resourceType": "Organization", "name": "x"},
        {"resourceType": "Organization", "identifier": [{"value": "x"}]},
        {
            "resourceType": "Patient",
            "contained": [{"resourceType": "Patient", "id": "c", "meta": {"versionId": "1"}}],
        },
    ]
    samples.extend((item, item) for item in edge)
    return samples


def _references(value: object) -> list[dict]:
    """Every Reference-shaped object inside a resource (samples for ref-1)."""
    if isinstance(value, list):
        return [ref for item in value for ref in _references(item)]
    if not isinstance(value, dict):
        return []
    found = [value] if "reference" in value else []
    return found + [ref for child in value.values() for ref in _references(child)]


FAST = sorted({**FAST_PATHS, **FAST_PATHS_WITH_RESOURCE})


@pytest.mark.parametrize(("key", "expression"), FAST, ids=[k for k, _e in FAST])
def test_fast_path_matches_fhirpath(key: str, expression: str) -> None:
    invariant = Invariant.from_constraint(
        {"key": key, "severity": "error", "human": key, "expression": expression}
    )
    compared = 0
    for data, resource in _samples():
        native = invariant.evaluate(data, None, resource, resource)
        if not invariant.fhirpath_result(data, None, resource, resource):
            # fhirpathpy cannot evaluate it on this input, or finds none of the elements it reads (a sample
            # of another type: ref-1 on a Bundle); an empty result on the right type is a failure, and
            # the required elements the expressions read make that a cardinality error first
            continue
        reference = invariant.evaluate_fhirpath(data, None, resource, resource)
        assert native == reference, (key, data)
        compared += 1
    assert compared > 10


def test_fast_path_expressions_are_the_genuine_core_ones() -> None:
    """A fast path is keyed by the exact core expression; each must occur in the core definitions."""
    validator = default_validator()
    core_expressions = set()
    for type_name in (
        "Bundle",
        "Patient",
        "Organization",
        "Reference",
        "RelatedPerson",
        "EpisodeOfCare",
        "Period",
    ):
        for element in validator.compiler.snapshot(type_name):
            for constraint in element.get("constraint", []):
                core_expressions.add((constraint["key"], constraint.get("expression")))
    missing = [key for key in FAST if key not in core_expressions]
    assert missing == []


def test_skipped_invariants_are_documented() -> None:
    readme = (Path(__file__).resolve().parent.parent / "src/fhir_family/conformance/README.md").read_text()
    for key in SKIPPED:
        assert key in readme


# -- the guide's invariants: native twins vs the FHIRPath in the committed StructureDefinitions --


def _guide_constraints() -> dict[str, str]:
    constraints = {}
    for sd in default_validator().store.by_type("StructureDefinition"):
        if not sd.get("url", "").startswith(CANONICAL + "/"):
            continue  # UK Core's own invariants are not the guide's
        for element in sd.get("differential", {}).get("element", []):
            for constraint in element.get("constraint", []):
                constraints[constraint["key"]] = constraint["expression"]
    return constraints


def test_every_guide_invariant_has_a_twin_proven_against_its_current_expression() -> None:
    """Fails when the guide's FHIRPath changes: re-prove (these tests) and update the twin's key."""
    guide = _guide_constraints()
    assert guide, "the guide defines no invariants?"
    # every twin is proven against the guide's current text; the rest are FHIRPath-only by name (changed
    # deliberately in 0.2: the consistency rules run in fhirpathpy, so a twin is no longer required for each)
    assert set(GUIDE_FAST_PATHS) <= {(key, expression) for key, expression in guide.items()}
    assert set(guide) - {key for key, _ in GUIDE_FAST_PATHS} == FHIRPATH_ONLY


def _nhs_samples() -> list[dict]:
    import random

    rng = random.Random(20261123)
    numbers = [f"{rng.randrange(10**10):010d}" for _ in range(300)]
    numbers += [
        "9434765919",
        "9434765870",
        "943476591",
        "94347659190",
        "943476591X",
        "",
        "9434765919\n",
        " 9434765919",
        "0000000000",
        "1000000010",
    ]
    return [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": n} for n in numbers]


def _extension_samples() -> list[dict]:
    samples = []
    for folder in ("bundles", "invalid"):
        for path in sorted((EXAMPLES.parent / folder).glob("*.json")):
            if path.name.endswith(".expected.json"):
                continue
            bundle = json.loads(path.read_text(encoding="utf-8"))
            for entry in bundle.get("entry", []):
                for extension in entry.get("resource", {}).get("extension", []):
                    samples.append(extension)
    held = {
        "url": "held",
        "valueCodeableConcept": {
            "coding": [{"system": "https://fhir-family.uk/fhir/CodeSystem/yes-no-unknown", "code": "N"}]
        },
    }
    basis = {"url": "basis", "valueCodeableConcept": {"coding": [{"system": "x", "code": "birth-mother"}]}}
    samples += [
        {"url": "x", "extension": [basis]},
        {"url": "x", "extension": [held, basis]},
        {"url": "x", "extension": [held]},
        {"url": "x", "extension": [{"url": "expectedDueDate", "valueDate": "2026-11-01"}]},
        {
            "url": "x",
            "extension": [
                {"url": "unbornChildHelp", "valueCodeableConcept": {"text": "t"}},
                {"url": "expectingChild", "valueBoolean": True},
            ],
        },
        {
            "url": "x",
            "extension": [
                {"url": "expectedDueDate", "valueDate": "2026-11-01"},
                {"url": "expectingChild", "valueBoolean": False},
            ],
        },
    ]
    return samples


def _bundle_samples() -> list[dict]:
    bundles = []
    for folder in ("bundles", "invalid"):
        for path in sorted((EXAMPLES.parent / folder).glob("*.json")):
            if not path.name.endswith(".expected.json"):
                bundles.append(json.loads(path.read_text(encoding="utf-8")))
    base = json.loads(next(iter(sorted(EXAMPLES.glob("*.json")))).read_text(encoding="utf-8"))
    extra = json.loads(json.dumps(base))
    extra["entry"].append({"fullUrl": "urn:uuid:x", "resource": {"resourceType": "Observation"}})
    no_patient = json.loads(json.dumps(base))
    no_patient["entry"] = [e for e in no_patient["entry"] if e["resource"]["resourceType"] != "Patient"]
    bundles += [extra, no_patient, {"resourceType": "Bundle", "type": "transaction"}]
    bundles += _reporting_end_samples(base)
    return bundles


def _reporting_end_samples(base: dict) -> list[dict]:
    """ff-bun-5/6 edge cases: partial and full dates and times on either side, no end, two periods."""
    samples = []
    for end, birth, start in [
        ("2026-03-31T23:59:59Z", "2026-03-31", "2026-03-31T10:00:00Z"),
        ("2026-03-31", "2026-04", "2026-04-01T00:00:00+01:00"),
        ("2026-03-31", "2027", "2026"),
        (None, "2030-01-01", "2030-01-01"),
    ]:
        sample = json.loads(json.dumps(base))
        for part in sample["meta"]["extension"]:
            if part["url"].endswith("/reporting-period"):
                if end is None:
                    part["valuePeriod"].pop("end", None)
                else:
                    part["valuePeriod"]["end"] = end
        for entry in sample["entry"]:
            resource = entry["resource"]
            if resource["resourceType"] == "RelatedPerson":
                resource["birthDate"] = birth
            elif resource["resourceType"] == "EpisodeOfCare":
                resource.setdefault("period", {})["start"] = start
        samples.append(sample)
    two_periods = json.loads(json.dumps(base))
    two_periods["meta"]["extension"] += [
        e for e in base["meta"]["extension"] if e["url"].endswith("/reporting-period")
    ]
    samples.append(two_periods)
    return samples


def _samples_for(key: str) -> list[dict]:
    if key == "ff-nhs-1":
        return _nhs_samples()
    if key == "ff-ods-1":
        return [{"value": v} for v in ("XFF01", "RX4", "xff01", "AB", "ABCDEFG", "AB-12", "A1B2C3", "RX4\n")]
    if key in ("ff-pr-1", "ff-ps-1"):
        return _extension_samples()
    return _bundle_samples()


GUIDE = sorted(GUIDE_FAST_PATHS)


@pytest.mark.parametrize(("key", "expression"), GUIDE, ids=[k for k, _e in GUIDE])
def test_guide_twin_matches_fhirpath(key: str, expression: str) -> None:
    invariant = Invariant.from_constraint(
        {"key": key, "severity": "error", "human": key, "expression": expression}
    )
    type_path = (
        "Identifier"
        if key in ("ff-nhs-1", "ff-ods-1")
        else ("Extension" if key.startswith(("ff-pr", "ff-ps")) else None)
    )
    outcomes = set()
    for data in _samples_for(key):
        native = invariant.evaluate(data, type_path, data, data)
        reference = invariant.evaluate_fhirpath(data, type_path, data, data)
        assert native == reference, (key, data)
        outcomes.add(native)
    assert outcomes == {True, False}, "the samples must exercise both outcomes"


@pytest.mark.parametrize("folder", ["bundles", "invalid"])
def test_validator_without_twins_gives_identical_outcomes(folder: str) -> None:
    from fhir_family.conformance import Validator

    slow = Validator(default_validator().store, native_fast_paths=False)
    for path in sorted((EXAMPLES.parent / folder).glob("*.json")):
        if path.name.endswith(".expected.json"):
            continue
        bundle = json.loads(path.read_text(encoding="utf-8"))
        assert slow.validate(bundle) == default_validator().validate(bundle), path.name


def test_every_core_invariant_compiles_or_is_listed_as_skipped() -> None:
    """A fhirpathpy upgrade that stops compiling a core invariant would silently drop a check."""
    import glob

    from fhir_family.guide import core_package_dir

    failures, compiled = [], 0
    seen: set[tuple[str, str]] = set()
    for path in sorted(glob.glob(str(core_package_dir() / "StructureDefinition-*.json"))):
        sd = json.loads(Path(path).read_text(encoding="utf-8"))
        if sd.get("derivation") != "specialization":
            continue
        for element in sd.get("snapshot", {}).get("element", []):
            for constraint in element.get("constraint", []):
                key = (constraint["key"], constraint.get("expression", ""))
                if key in seen or key[0] in ("ele-1", "ext-1"):
                    continue
                seen.add(key)
                if Invariant.from_constraint(constraint).skip_reason is not None:
                    continue
                try:
                    compile_expression(key[1])
                    compiled += 1
                except Exception as exc:  # noqa: BLE001 - reported below
                    failures.append(f"{key[0]}: {exc}")
    assert failures == []
    assert compiled > 200
