"""Every input in examples/ehr maps as its ``*.expected.json`` says, and every bundle it gives validates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fhir_family.conformance import default_validator
from fhir_family.mapping.factory import get_parser, guess_format
from fhir_family.mapping.pipeline import MappingPipeline
from fhir_family.mapping.summary import summarise
from fhir_family.outcome import has_errors

EHR_EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "ehr"
INPUTS = sorted(
    path
    for path in EHR_EXAMPLES.rglob("*")
    if path.is_file() and not path.name.endswith(".expected.json") and path.suffix != ".md"
)


def _map(path: Path, validate: bool):
    fmt = guess_format(path)
    with path.open(encoding="utf-8-sig", newline="" if fmt == "csv" else None) as source:
        return fmt, list(MappingPipeline(default_validator(), validate).map_stream(get_parser(fmt), source))


def test_there_are_examples_of_every_format_and_hl7_event() -> None:
    assert {guess_format(p) for p in INPUTS} == {"json", "hl7v2", "csv", "ndjson"}
    events = {p.read_text("latin-1").split("|")[8].split("^")[1] for p in INPUTS if p.suffix == ".hl7"}
    assert {"A04", "A08", "A28", "A31"} <= events
    names = {p.stem for p in INPUTS}
    for edge in (
        "no-nk1",
        "adult-nk1-only",
        "repeated-nk1",
        "child-aged-18",
        "missing-dob",
        "unknown-relationship",
    ):
        assert f"edge-{edge}" in names


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_example_maps_as_documented(path: Path) -> None:
    expected = json.loads(path.with_name(path.stem + ".expected.json").read_text())
    fmt, mapped = _map(path, validate=False)
    assert expected["format"] == fmt
    assert [summarise(item) for item in mapped] == expected["items"]
    assert expected["description"]
    assert f"`{path.name}`" in (EHR_EXAMPLES / "README.md").read_text()


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_bundle_from_an_example_passes_the_validator(path: Path) -> None:
    _fmt, mapped = _map(path, validate=False)
    validator = default_validator()
    for item in mapped:
        if item.bundle is not None:
            outcome = validator.validate(item.bundle)
            assert not has_errors(outcome), json.dumps(outcome, indent=1)


def test_no_name_or_address_from_the_examples_reaches_a_bundle() -> None:
    for path in INPUTS:
        _fmt, mapped = _map(path, validate=False)
        for item in mapped:
            if item.bundle is not None:
                text = json.dumps(item.bundle)
                for private in ("Example Street", "LS1", "Alice", "Carys", "0113", '"telecom"', '"address"'):
                    assert private not in text, (path.name, private)
