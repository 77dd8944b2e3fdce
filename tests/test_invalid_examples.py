"""Every example in examples/ validates as documented: valid bundles without errors, each invalid one with
exactly the (severity, code, expression) issues its NAME.expected.json lists (information issues ignored)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fhir_family.conformance import default_validator

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
VALID = sorted((EXAMPLES / "bundles").glob("*.json"))
INVALID = sorted(p for p in (EXAMPLES / "invalid").glob("*.json") if not p.name.endswith(".expected.json"))


def _issue_set(outcome: dict) -> set[tuple[str, str, str | None]]:
    return {
        (issue["severity"], issue["code"], (issue.get("expression") or [None])[0])
        for issue in outcome["issue"]
        if issue["severity"] != "information"
    }


def test_examples_exist() -> None:
    assert VALID, "no valid example bundles found"
    assert INVALID, "no invalid examples found"


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_example_has_no_errors(path: Path) -> None:
    outcome = default_validator().validate(json.loads(path.read_text(encoding="utf-8")))
    errors = [i for i in outcome["issue"] if i["severity"] in ("error", "fatal")]
    assert errors == []


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_example_gives_exactly_its_expected_issues(path: Path) -> None:
    expected_doc = json.loads(path.with_name(path.stem + ".expected.json").read_text(encoding="utf-8"))
    expected = {(i["severity"], i["code"], i.get("expression")) for i in expected_doc["issues"]}
    outcome = default_validator().validate(json.loads(path.read_text(encoding="utf-8")))
    assert _issue_set(outcome) == expected, json.dumps(outcome, indent=1)


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_every_issue_carries_a_message_id_and_diagnostics(path: Path) -> None:
    outcome = default_validator().validate(json.loads(path.read_text(encoding="utf-8")))
    for issue in outcome["issue"]:
        if issue["severity"] == "information":
            continue
        assert issue["details"]["coding"][0]["code"].startswith("FF-")
        assert len(issue["diagnostics"]) > 20
