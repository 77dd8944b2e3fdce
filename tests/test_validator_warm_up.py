"""``Validator.warm_up`` builds what the first validation would otherwise build: a worker's first request is
then as fast as its later ones (the first validation of a process used to be 4-10 ms slower)."""

from __future__ import annotations

import json

from fhir_family.conformance import Validator, default_validator
from fhir_family.conformance.validator import guide_example_returns
from fhir_family.conformance.walker_plans import SpecialisedWalker
from fhir_family.guide import CANONICAL, examples_dir

TYPICAL = examples_dir() / "bundles" / "mother-with-pr-three-children-living-with-her.json"


def _profiles(validator: Validator) -> list[str]:
    """This guide's own profiles (the other loaded ones get their plans on first use)."""
    return sorted({url for url in validator._profiles_by_alias.values() if url.startswith(CANONICAL + "/")})


def _plans(validator: Validator) -> dict[int, object]:
    walker = validator.walker
    assert isinstance(walker, SpecialisedWalker)
    return walker._object_plans


def test_warm_up_builds_the_specialised_plan_of_every_guide_profile() -> None:
    validator = Validator(default_validator().store)
    assert not _plans(validator)
    validator.warm_up()
    plans = _plans(validator)
    profiles = _profiles(validator)
    assert len(profiles) > 10
    assert id(validator.compiler.structure("Bundle")) in plans
    for url in profiles:
        structure = validator.compiler.structure(url)
        if structure is not None:
            assert id(structure) in plans, url


def test_after_warm_up_with_the_example_returns_a_validation_builds_nothing_new() -> None:
    validator = Validator(default_validator().store)
    validator.warm_up(guide_example_returns())
    plans, structures = len(_plans(validator)), len(validator.compiler._structures)
    outcome = validator.validate(json.loads(TYPICAL.read_text(encoding="utf-8")))
    assert not [i for i in outcome["issue"] if i["severity"] in ("error", "fatal")]
    assert len(_plans(validator)) == plans
    assert len(validator.compiler._structures) == structures


def test_the_default_validator_is_warmed_with_the_guide_examples() -> None:
    assert len(guide_example_returns()) == len(list((examples_dir() / "bundles").glob("*.json"))) > 0
    validator = default_validator()
    plans = _plans(validator)
    for url in _profiles(validator):
        structure = validator.compiler.structure(url)
        if structure is not None:
            assert id(structure) in plans, url


def test_warm_up_of_the_generic_walker_only_compiles() -> None:
    validator = Validator(default_validator().store, specialised_walker=False)
    validator.warm_up(guide_example_returns()[:1])
    assert validator.compiler.structure(_profiles(validator)[0]) is not None
