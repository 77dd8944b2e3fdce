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
from fhir_family.conformance.invariants import (
    FAST_PATHS,
    FAST_PATHS_WITH_RESOURCE,
    SKIPPED,
    Invariant,
    compile_expression,
    ele1_holds,
    ext1_holds,
)

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
    edge = [
        {"resourceType": "Bundle", "type": "searchset", "total": 1, "entry": [{"search": {"mode": "match"}}]},
        {"resourceType": "Bundle", "type": "collection", "total": 1},
        {"resourceType": "Bundle", "type": "document", "entry": [{"resource": {"resourceType": "Patient"}}]},
        {"resourceType": "Bundle", "type": "message", "entry": [{"resource": {"resourceType": "Patient"}}]},
        {"resourceType": "Bundle", "type": "transaction", "entry": [{"fullUrl": "urn:uuid:1"}]},
        {"resourceType": "Bundle", "type": "batch-response", "entry": [{"response": {"status": "200"}}]},
        {"fullUrl": "http://x/Patient/1/_history/2", "resource": {"resourceType": "Patient"}},
        {"fullUrl": "http://x/Patient/1"},
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


FAST = sorted({**FAST_PATHS, **FAST_PATHS_WITH_RESOURCE})


@pytest.mark.parametrize(("key", "expression"), FAST, ids=[k for k, _e in FAST])
def test_fast_path_matches_fhirpath(key: str, expression: str) -> None:
    invariant = Invariant.from_constraint(
        {"key": key, "severity": "error", "human": key, "expression": expression}
    )
    compared = 0
    for data, resource in _samples():
        native = invariant.evaluate(data, None, resource, resource)
        reference = invariant.evaluate_fhirpath(data, None, resource, resource)
        if reference is None:
            continue  # fhirpathpy cannot evaluate it on this input (the sample is not of the right type)
        assert native == reference, (key, data)
        compared += 1
    assert compared > 10


def test_fast_path_expressions_are_the_genuine_core_ones() -> None:
    """A fast path is keyed by the exact core expression; each must occur in the core definitions."""
    validator = default_validator()
    core_expressions = set()
    for type_name in ("Bundle", "Patient", "Organization", "Reference", "RelatedPerson", "EpisodeOfCare"):
        for element in validator.compiler.snapshot(type_name):
            for constraint in element.get("constraint", []):
                core_expressions.add((constraint["key"], constraint.get("expression")))
    missing = [key for key in FAST if key not in core_expressions]
    assert missing == []


def test_skipped_invariants_are_documented() -> None:
    readme = (Path(__file__).resolve().parent.parent / "src/fhir_family/conformance/README.md").read_text()
    for key in SKIPPED:
        assert key in readme
