"""The validator's speed-ups change nothing: each compiled short cut gives the outcomes of the generic path.

(Speed itself is measured in bench/bench_validator.py, not asserted here.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fhir_family.conformance import Validator, default_validator
from fhir_family.conformance.rules import ElementRule, Structure

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FILES = sorted(EXAMPLES.glob("**/*.json"))


def _rules(structure: Structure) -> list[ElementRule]:
    found: dict[int, ElementRule] = {}
    stack = list(structure.children)
    while stack:
        rule = stack.pop()
        if id(rule) not in found:
            found[id(rule)] = rule
            stack.extend(rule.children)
            stack.extend(rule.slices)
    return list(found.values())


def _outcome(validator: Validator, path: Path) -> dict[str, Any]:
    return validator.validate(json.loads(path.read_text(encoding="utf-8")))


def test_slice_tables_are_compiled_for_extension_and_identifier_slicing() -> None:
    validator = default_validator()
    patient = validator.compiler.structure(validator.resolve_profile("parent-patient"))
    tables = {rule.path: rule.slice_table for rule in _rules(patient) if rule.slice_table is not None}
    # ParentPatient derives from UKCore-Patient (guide 0.2): UK Core's extension slices come first, the
    # guide's parental-status and local-authority after them; each url finds its slice by one look-up
    by, extension_slices = tables["Patient.extension"]
    assert by == "url"
    assert extension_slices["https://fhir-family.uk/fhir/StructureDefinition/parental-status"] == (
        len(extension_slices) - 2
    )
    assert extension_slices["https://fhir-family.uk/fhir/StructureDefinition/local-authority"] == (
        len(extension_slices) - 1
    )
    assert "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory" in extension_slices
    assert sorted(extension_slices.values()) == list(range(len(extension_slices)))
    assert tables["Patient.identifier"] == (
        "system",
        {"https://fhir.nhs.uk/Id/nhs-number": 0, "https://fhir-family.uk/fhir/Id/provider-record": 1},
    )


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_slice_tables_give_the_generic_matchers_outcome(path: Path) -> None:
    """The same validator with every compiled slice table removed (slice-by-slice matching) agrees."""
    fast = default_validator()
    expected = _outcome(fast, path)
    generic = Validator(fast.store)
    generic.warm_up()
    _outcome(generic, path)  # compiles what this input needs
    for structure in list(generic.compiler._structures.values()):
        if structure is not None:
            for rule in _rules(structure):
                rule.slice_table = None
    assert _outcome(generic, path) == expected


def test_required_elements_are_reported_when_absent_and_optional_ones_are_not() -> None:
    """The walker visits only the elements present and the required ones: both kinds of absence."""
    outcome = default_validator().validate({"resourceType": "Observation", "id": "x"})
    missing = sorted(i["expression"][0] for i in outcome["issue"] if "FF-CARDINALITY-MIN" in json.dumps(i))
    assert missing == ["Observation.code", "Observation.status"]


def test_remembered_primitive_values_are_checked_like_the_others() -> None:
    """code/uri/canonical remember values that matched; a bad value is never remembered or passed."""
    code = default_validator().compiler.primitives["code"]
    assert code.valid is not None
    for kept_apart in ("string", "url", "date"):  # names, addresses, birth dates ... are not kept
        assert default_validator().compiler.primitives[kept_apart].valid is None
    for _ in range(2):
        assert code.check_format("active") is True
        assert code.check_format(" active") is False
        assert code.check_format("two  spaces") is False
    assert "active" in code.valid and " active" not in code.valid
    for number in range(5000):
        code.check_format(f"c{number}")
    assert len(code.valid) <= 4096
    assert code.check_format("x y") is True and code.check_format("x  y") is False
