"""Line/column locations of issues in the JSON text (operationoutcome-issue-line/-col extensions)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fhir_family.conformance import default_validator
from fhir_family.conformance.locations import COLUMN_EXTENSION, LINE_EXTENSION, add_locations, json_path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "invalid"
INVALID = sorted(p for p in EXAMPLES.glob("*.json") if not p.name.endswith(".expected.json"))


def _location(issue: dict) -> tuple[int, int]:
    values = {e["url"]: e.get("valueInteger") for e in issue.get("extension", [])}
    return values[LINE_EXTENSION], values[COLUMN_EXTENSION]


def _text_at(text: str, line: int, column: int) -> str:
    return text.splitlines()[line - 1][column - 1 :]


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_every_issue_of_an_invalid_example_is_located(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    outcome = add_locations(default_validator().validate(json.loads(text)), text)
    for issue in outcome["issue"]:
        if issue["severity"] == "information":
            continue
        line, column = _location(issue)
        here = _text_at(text, line, column)
        expression = issue["expression"][0]
        last = expression.rsplit(".", 1)[-1].split("[")[0]
        if expression.endswith("]"):
            assert here.startswith(("{", '"')), here  # an array item: its value
        elif issue["code"] == "required":
            assert here.startswith(("{", '"')), here  # the object that should hold the missing element
        elif last.startswith("ofType("):
            assert here.startswith('"value'), here
        elif last != "Bundle" and not last.startswith("resource"):
            assert here.startswith(f'"{last}"'), (issue["expression"], here)


def test_locations_on_a_hand_written_document() -> None:
    text = (
        '{\n  "resourceType": "Patient",\n  "gender": "F",\n  "birthDate": "2000-01-01",\n'
        '  "_birthDate": {"extension": [{"url": "http://example.org/x", "valueString": "y"}]},\n'
        '  "foo": [1, 2]\n}'
    )
    outcome = add_locations(
        default_validator().validate(json.loads(text), "http://hl7.org/fhir/StructureDefinition/Patient"),
        text,
    )
    located = {issue["expression"][0]: _location(issue) for issue in outcome["issue"]}
    assert located == {
        "Patient.gender": (3, 3),
        "Patient.birthDate.extension[0]": (5, 32),
        "Patient.foo": (6, 3),
    }


def test_json_path_spellings() -> None:
    assert json_path("Bundle.entry[1].resource.extension[0].value.ofType(CodeableConcept)")[0] == (
        "entry",
        1,
        "resource",
        "extension",
        0,
        "valueCodeableConcept",
    )
    assert ("_birthDate", "extension", 0) in json_path("Patient.birthDate.extension[0]")


def test_text_that_is_not_the_json_leaves_the_outcome_alone() -> None:
    outcome = default_validator().validate({"resourceType": "Patient", "gender": "F"})
    assert add_locations(outcome, "not json") == outcome
