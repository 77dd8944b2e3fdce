"""The walker specialised per structure (``conformance/walker_plans.py``) gives the generic walker's outcomes.

Every comparison is of the full OperationOutcome (each issue's severity, code, message id, diagnostics,
expression and rule, in order): on every example (valid and invalid, EHR payloads and OperationOutcomes
included), on the UK Core package's own examples and on seeded mutations of the national returns that reach
the shapes the specialised closures hand back to the generic code (unknown and ``_name`` properties, nulls,
arrays where a value belongs and back, empty arrays, wrong JSON types, bad formats, codes outside their value
set, properties out of definition order, duplicated items, missing required elements).
"""

from __future__ import annotations

import copy
import functools
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fhir_family.conformance import Validator, default_validator
from fhir_family.conformance.engine import Walker
from fhir_family.conformance.walker_plans import SpecialisedWalker
from fhir_family.guide import guide_dependency_dirs

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FILES = sorted(EXAMPLES.glob("**/*.json"))
BUNDLES = sorted((EXAMPLES / "bundles").glob("*.json"))
MUTATIONS_PER_BUNDLE = 60


@functools.cache
def _generic() -> Validator:
    return Validator(default_validator().store, specialised_walker=False)


def _both(document: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    return default_validator().validate(copy.deepcopy(document)), _generic().validate(copy.deepcopy(document))


def test_the_default_validator_walks_specialised_and_the_flag_switches_it_off() -> None:
    assert type(default_validator().walker) is SpecialisedWalker
    assert type(_generic().walker) is Walker


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_every_example_gives_the_generic_outcome(path: Path) -> None:
    specialised, generic = _both(json.loads(path.read_text(encoding="utf-8")))
    assert specialised == generic


def _uk_core_examples() -> list[Path]:
    found: list[Path] = []
    for folder in guide_dependency_dirs():
        found.extend(sorted((folder / "examples").glob("*.json")))
    return found


def test_the_uk_core_examples_give_the_generic_outcome() -> None:
    examples = _uk_core_examples()
    if not examples:
        pytest.skip("UK Core is not in the FHIR package cache (fhir-family packages install)")
    issues = 0
    for path in examples:
        specialised, generic = _both(json.loads(path.read_text(encoding="utf-8")))
        assert specialised == generic, path.name
        issues += len(generic["issue"])
    assert issues > 0  # some of them raise issues here, so the comparison covers the fall-backs too


def _places(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every (path, value) inside a JSON document, the document itself first."""
    yield path, value
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _places(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _places(child, (*path, index))


def _parent(document: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        document = document[step]
    return document


def _mutate(document: Any, rng: random.Random) -> Any:
    """One seeded change at a random place of a copy of ``document``."""
    mutated = copy.deepcopy(document)
    places = [(path, value) for path, value in _places(mutated) if path]
    path, value = rng.choice(places)
    parent, last = _parent(mutated, path), path[-1]
    kind = rng.randrange(14)
    if kind == 0 and isinstance(parent, dict):
        del parent[last]
    elif kind == 1:
        parent[last] = None
    elif kind == 2:
        parent[last] = [value]
    elif kind == 3 and isinstance(value, list):
        parent[last] = value[0] if value else []
    elif kind == 4:
        parent[last] = []
    elif kind == 5 and isinstance(parent, dict):
        parent["bogus" + str(rng.randrange(3))] = "x"
    elif kind == 6 and isinstance(parent, dict) and isinstance(last, str):
        parent["_" + last] = rng.choice([{"id": "a"}, {"extension": []}, "x", {"extension": [{"url": "u"}]}])
    elif kind == 7 and isinstance(value, dict):
        parent[last] = dict(reversed(list(value.items())))
    elif kind == 8 and isinstance(parent, list):
        parent.append(copy.deepcopy(value))
    elif kind == 9 and isinstance(value, str):
        parent[last] = rng.choice([value + " ", "zzz", "", "2021-02-29", "1" + value, value.upper()])
    elif kind == 10:
        parent[last] = rng.choice([1, 1.5, True, "x", {}, {"id": "x"}, -1, 2**40])
    elif kind == 11 and isinstance(parent, dict) and isinstance(last, str):
        parent[last + rng.choice(["String", "Code", "Boolean"])] = parent.pop(last)
    elif kind == 12 and isinstance(value, dict) and value:
        value.pop(rng.choice(list(value)))
    else:
        parent[last] = copy.deepcopy(rng.choice(places)[1])  # a value from elsewhere in the document
    return mutated


@pytest.mark.parametrize("path", BUNDLES, ids=lambda p: p.stem)
def test_seeded_mutations_give_the_generic_outcome(path: Path) -> None:
    bundle = json.loads(path.read_text(encoding="utf-8"))
    rng = random.Random(path.stem)
    differing = 0
    for _ in range(MUTATIONS_PER_BUNDLE):
        mutated = _mutate(bundle, rng)
        if rng.random() < 0.4:  # two faults at once: the second may sit inside what the first left intact
            mutated = _mutate(mutated, rng)
        specialised, generic = _both(mutated)
        assert specialised == generic, json.dumps(generic["issue"])[:600]
        differing += specialised != default_validator().validate(bundle)
    assert differing > MUTATIONS_PER_BUNDLE // 3  # the mutations do reach faults, not only harmless places


@pytest.mark.parametrize(
    "entry",
    [
        {"fullUrl": "urn:uuid:0b1c6f52-7a0e-4d1e-9a55-3f3a36f2c001"},  # no resource: no slice by type
        {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}},
        {"resource": {"resourceType": "Nope"}},
        {"resource": {"resourceType": 3}},
        {"resource": [{"resourceType": "Patient"}]},
        {"resource": None},
        "entry",
        {"resource": {"resourceType": "RelatedPerson"}},
    ],
)
def test_entries_sliced_by_resource_type_give_the_generic_outcome(entry: Any) -> None:
    """``Bundle.entry`` is sliced by the type of its resource: odd entries added to a national return."""
    bundle = json.loads((BUNDLES[0]).read_text(encoding="utf-8"))
    bundle["entry"].insert(1, entry)
    specialised, generic = _both(bundle)
    assert specialised == generic
    assert specialised["issue"]  # each of them is a fault somewhere
