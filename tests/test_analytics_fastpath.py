"""The native evaluator for simple paths (analytics/fastpath.py) against fhirpathpy: same answer on every
path it takes, over the example bundles, a synthetic month and every resource of the official suite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fhir_family.analytics.bundles import bundle_resources, resources_of
from fhir_family.analytics.fastpath import BAIL, compile_fast
from fhir_family.analytics.fhirpath import compile_path, evaluate, to_value
from fhir_family.analytics.suite import SuiteNotFoundError, suite_dir, suite_files
from fhir_family.analytics.views import load_views
from fhir_family.collector.synthetic import synthetic_month
from fhir_family.mapping.bundle import build_bundle

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples" / "bundles").glob("*.json"))


def _paths_of(view: dict) -> list[str]:
    paths = [w["path"] for w in view.get("where", [])]

    def walk(select: dict) -> None:
        paths.extend(c["path"] for c in select.get("column", []))
        for sub in (*select.get("select", []), *select.get("unionAll", [])):
            walk(sub)

    for select in view.get("select", []):
        walk(select)
    return paths


def _constants(view: dict) -> dict:
    return {
        c["name"]: next((v for k, v in c.items() if k.startswith("value")), None)
        for c in view.get("constant", [])
    }


def _agree(path: str, resources: list[dict], variables: dict) -> int:
    """Number of resources the fast version answered (and matched fhirpathpy on)."""
    fast = compile_fast(path)
    if fast is None:
        return 0
    slow = compile_path(path, path)
    answered = 0
    for resource in resources:
        scope = {**variables, "rowIndex": 0, "resource": resource}
        mine = fast(resource, scope)
        if mine is BAIL:
            continue
        try:
            theirs = [to_value(v) for v in evaluate(slow, resource, scope, path)]
        except Exception:  # fhirpathpy errors here (e.g. a collection where a singleton is needed)
            continue
        assert [to_value(v) for v in mine] == theirs, (path, resource.get("id"))
        answered += 1
    return answered


def test_view_paths_agree_over_examples_and_a_synthetic_month():
    resources = list(resources_of(json.loads(p.read_text(encoding="utf-8")) for p in EXAMPLES))
    resources += list(resources_of(build_bundle(r) for r in synthetic_month(patients_per_provider=15)))
    answered = 0
    for view in load_views().values():
        for path in _paths_of(view.source):
            answered += _agree(
                path, [r for r in resources if r["resourceType"] == view.resource], _constants(view.source)
            )
    assert answered > 1000  # the fast version really carries the views


def test_suite_paths_agree_on_the_suites_resources():
    try:
        folder = suite_dir()
    except SuiteNotFoundError as exc:
        pytest.skip(str(exc))
    answered = 0
    for path in suite_files(folder):
        data = json.loads(path.read_text(encoding="utf-8"))
        for test in data["tests"]:
            view = test["view"]
            resources = [r for r in data["resources"] if r.get("resourceType") == view.get("resource")]
            for fhirpath in _paths_of(view):
                if not isinstance(fhirpath, str):
                    continue
                try:
                    compile_path(fhirpath, fhirpath)
                except Exception:
                    continue
                answered += _agree(fhirpath, resources, _constants(view))
    assert answered > 50


@pytest.mark.parametrize(
    "path",
    [
        "name.given.join(',')",  # other functions
        "Patient.name",  # a type name first
        "$this.name",
        "a and b",
        "name.family = 'x' and active",
    ],
)
def test_paths_outside_the_subset_have_no_fast_version(path):
    assert compile_fast(path) is None


def test_choice_and_primitive_extensions_bail_to_fhirpathpy():
    fast = compile_fast("value")
    assert fast({"resourceType": "Observation", "valueString": "x"}, {}) is BAIL
    birth = compile_fast("birthDate")
    assert birth({"resourceType": "Patient", "_birthDate": {"extension": []}}, {}) is BAIL
    assert birth({"resourceType": "Patient", "birthDate": "2001"}, {}) == ["2001"]
    name_type = compile_fast("name.ofType(HumanName)")
    assert name_type({"resourceType": "Patient", "name": [{"family": "x"}]}, {}) is BAIL


def test_bundle_resources_are_plain_resources():
    resources = bundle_resources(json.loads(EXAMPLES[0].read_text(encoding="utf-8")))
    assert all("id" in r for r in resources)
