"""The committed examples: fresh, parseable, minimal, each invalid one documented as docs/model.md says."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from fhir_family import model as t
from fhir_family.guide import core_package_dir
from fhir_family.guide.examples import INVALID_EXAMPLES, VALID_EXAMPLES, build_examples
from fhir_family.guide.examples.__main__ import main as builder_main
from fhir_family.mapping.nhs_number import is_valid_nhs_number
from fhir_family.outcome import IssueSeverity, IssueType

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
VALID_FILES = sorted((EXAMPLES / "bundles").glob("*.json"))
INVALID_FILES = sorted(
    p for p in (EXAMPLES / "invalid").glob("*.json") if not p.name.endswith(".expected.json")
)
ALL_FILES = VALID_FILES + INVALID_FILES

#: Invalid examples whose whole point is an element the other examples must never carry.
MINIMISATION_EXEMPT = {"patient-has-name.json": "name", "child-has-telecom.json": "telecom"}
#: Examples with a bad NHS number -> the entry whose (first) identifier carries it.
BAD_NHS_NUMBER_EXAMPLES = {
    "patient-nhs-number-bad-check-digit.json": 1,
    "child-nhs-number-bad-check-digit.json": 3,
}


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


def _walk(node: Any):
    """Every (key, value, parent dict) in a JSON tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value, node
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_the_issue_asks_for_enough_examples():
    assert len(VALID_FILES) >= 8
    assert len(INVALID_FILES) >= 12
    assert {p.stem for p in VALID_FILES} == set(VALID_EXAMPLES)
    assert {p.stem for p in INVALID_FILES} == {e.name for e in INVALID_EXAMPLES}


def test_committed_examples_equal_a_fresh_build(tmp_path):
    written = build_examples(tmp_path)
    fresh = {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in written}
    committed = {
        p.relative_to(EXAMPLES).as_posix(): p.read_bytes()
        for folder in ("bundles", "invalid")
        for p in (EXAMPLES / folder).glob("*.json")
    }
    committed["README.md"] = (EXAMPLES / "README.md").read_bytes()
    assert sorted(fresh) == sorted(committed), "run: python -m fhir_family.guide.examples"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"stale examples {stale}; run: python -m fhir_family.guide.examples"


def test_build_is_byte_stable_and_removes_files_it_no_longer_makes(tmp_path):
    first = {p: p.read_bytes() for p in build_examples(tmp_path)}
    leftover = tmp_path / "invalid" / "renamed-long-ago.json"
    leftover.write_text("{}\n", encoding="utf-8")
    unrelated = tmp_path / "payloads" / "ehr.json"
    unrelated.parent.mkdir()
    unrelated.write_text("{}\n", encoding="utf-8")
    second = {p: p.read_bytes() for p in build_examples(tmp_path)}
    assert first == second
    assert not leftover.exists()
    assert unrelated.exists()  # only bundles/ and invalid/ belong to the builder
    json_files = [text for path, text in second.items() if path.suffix == ".json"]
    assert all(text.endswith(b"}\n") and b'\n  "' in text for text in json_files)


def test_readme_lists_every_example_and_its_issues():
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for path in ALL_FILES:
        assert f"({path.parent.name}/{path.name})" in readme
    for example in INVALID_EXAMPLES:
        for issue in example.issues:
            assert f"`{issue.code}` `{issue.expression}`" in readme


def test_module_entry_point_writes_into_a_given_folder(tmp_path, capsys):
    assert builder_main([str(tmp_path)]) == 0
    assert (tmp_path / "bundles" / "parent-declined-to-answer.json").exists()
    assert "example files" in capsys.readouterr().out
    assert builder_main(["--bogus"]) == 2


@pytest.mark.parametrize("path", VALID_FILES, ids=_ids(VALID_FILES))
def test_valid_example_parses_in_fhir_resources_r4b(path):
    parsed = Bundle.model_validate(_load(path))
    assert parsed.type == "transaction"


@pytest.mark.parametrize("path", VALID_FILES, ids=_ids(VALID_FILES))
def test_valid_example_shape(path):
    bundle = _load(path)
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds[:3] == ["Organization", "Patient", "EpisodeOfCare"]
    assert set(kinds[3:]) <= {"RelatedPerson"}
    urls = {e["fullUrl"] for e in bundle["entry"]}
    references = [value for key, value, _ in _walk(bundle) if key == "reference"]
    assert references and set(references) <= urls
    for entry in bundle["entry"]:
        assert entry["fullUrl"].startswith("urn:uuid:")
        assert entry["request"]["method"] in {"POST", "PUT"}
        assert len(entry["resource"]["meta"]["profile"]) == 1


@pytest.mark.parametrize("path", VALID_FILES, ids=_ids(VALID_FILES))
def test_valid_example_children_are_under_18_on_the_reporting_date(path):
    bundle = _load(path)
    patient = bundle["entry"][1]["resource"]
    assert all(e["url"] != "reportingPeriod" for e in patient["extension"][0]["extension"])
    # the reporting period is the return's, on Bundle.meta (guide 0.2), not the person's
    (period,) = [e["valuePeriod"] for e in bundle["meta"]["extension"] if e["url"] == t.EXT_REPORTING_PERIOD]
    reporting_date = period["end"]
    assert re.fullmatch(r"2026-\d\d-\d\d", period["start"]) and period["start"].endswith("-01")
    for entry in bundle["entry"][3:]:
        born = entry["resource"]["birthDate"]
        eighteenth = f"{int(born[:4]) + 18}{born[4:]}"
        assert eighteenth > reporting_date, (born, reporting_date)


@pytest.mark.parametrize("path", ALL_FILES, ids=_ids(ALL_FILES))
def test_no_names_addresses_telecoms_or_text(path):
    bundle = _load(path)
    allowed = MINIMISATION_EXEMPT.get(path.name)
    found = set()
    for entry in bundle["entry"]:
        resource = entry["resource"]
        for key, _, _ in _walk(resource):
            if key == "name" and resource["resourceType"] == "Organization":
                continue
            if key in {"name", "address", "telecom", "text", "photo", "contact", "given", "family"}:
                found.add(key)
    if allowed:
        assert allowed in found, f"{path.name} exists to show a {allowed}"
        found -= {allowed, "given", "family"}
    assert not found


@pytest.mark.parametrize("path", ALL_FILES, ids=_ids(ALL_FILES))
def test_nhs_numbers_are_valid_synthetic_ones(path):
    numbers = []
    for key, value, parent in _walk(_load(path)):
        if key == "system" and value == t.NHS_NUMBER_SYSTEM and "value" in parent:
            numbers.append(parent["value"])
        if (
            key == "url"
            and isinstance(value, str)
            and value.startswith(f"Patient?identifier={t.NHS_NUMBER_SYSTEM}|")
        ):
            numbers.append(value.rsplit("|", 1)[1])
    assert numbers
    assert all(n.startswith("999") for n in numbers)
    invalid = {n for n in numbers if not is_valid_nhs_number(n)}
    if path.name in BAD_NHS_NUMBER_EXAMPLES:
        # only that one person's number is bad (for the patient also in the conditional-update URL)
        entry = _load(path)["entry"][BAD_NHS_NUMBER_EXAMPLES[path.name]]
        assert invalid == {entry["resource"]["identifier"][0]["value"]}
        assert len(invalid) < len(set(numbers))
    else:
        assert not invalid


@pytest.mark.parametrize("path", INVALID_FILES, ids=_ids(INVALID_FILES))
def test_invalid_example_has_its_expected_issues(path):
    expected = _load(path.with_name(f"{path.stem}.expected.json"))
    assert set(expected) == {"description", "issues"}
    assert len(expected["description"]) > 20
    assert expected["issues"]
    for issue in expected["issues"]:
        assert set(issue) == {"severity", "code", "expression"}
        assert issue["severity"] in {IssueSeverity.ERROR, IssueSeverity.WARNING}
        assert issue["code"] in set(IssueType)
        assert issue["expression"] == "Bundle" or issue["expression"].startswith("Bundle.")


def test_every_expected_file_has_its_example():
    for expected in (EXAMPLES / "invalid").glob("*.expected.json"):
        assert expected.with_name(expected.name.replace(".expected.json", ".json")).exists()


def test_warning_only_examples_are_the_acceptable_ones():
    warnings_only = {
        e.name for e in INVALID_EXAMPLES if all(issue.severity == "warning" for issue in e.issues)
    }
    assert warnings_only == {"unknown-extension-warning", "status-disagrees-with-children"}


def test_each_invalid_example_differs_from_the_valid_base():
    base = _load(EXAMPLES / "bundles" / "mother-with-pr-three-children-living-with-her.json")
    for path in INVALID_FILES:
        bundle = _load(path)
        assert bundle != base
        assert bundle["identifier"] == base["identifier"]


# --- expressions point where docs/model.md says they point -------------------------------------------------

_SEGMENT = re.compile(r"^(?P<name>[A-Za-z]+)(?:\[(?P<index>\d+)\])?$")
_OF_TYPE = re.compile(r"^ofType\((?P<type>[A-Za-z]+)\)$")


@cache
def _elements(type_name: str) -> dict[str, dict[str, Any]]:
    path = core_package_dir() / f"StructureDefinition-{type_name}.json"
    definition = json.loads(path.read_text(encoding="utf-8"))
    return {element["path"]: element for element in definition["snapshot"]["element"]}


def _segments(expression: str) -> list[str]:
    parts = expression.split(".")
    merged: list[str] = []
    for part in parts:
        if _OF_TYPE.match(part):
            merged[-1] = f"{merged[-1]}.{part}"
        else:
            merged.append(part)
    return merged


def _resolve(bundle: dict[str, Any], expression: str, whole_list: bool = False) -> tuple[bool, list[str]]:
    """Follow a FHIRPath like ``Bundle.entry[3].resource.extension[1].value.ofType(CodeableConcept)``.

    Returns whether the target exists and a list of index-convention violations, checked against the genuine
    core definitions: an element whose base max is more than 1 needs an index, one with max 1 must not have
    one. With ``whole_list`` the last segment may name a repeating element without an index: a prohibited
    element (``name`` 0..0) is reported as a whole, as the conventions table shows.
    """
    segments = _segments(expression)
    assert segments[0] == "Bundle"
    node: Any = bundle
    type_name, element_path = "Bundle", "Bundle"
    problems: list[str] = []
    for position, segment in enumerate(segments[1:], start=1):
        last = position == len(segments) - 1
        of_type = None
        if ".ofType(" in segment:
            segment, choice = segment.split(".", 1)
            of_type = _OF_TYPE.match(choice)["type"]
        match = _SEGMENT.match(segment)
        assert match, (expression, segment)
        name, index = match["name"], match["index"]
        elements = _elements(type_name)
        element = elements.get(f"{element_path}.{name}") or elements.get(f"{element_path}.{name}[x]")
        if element is None:  # an element the type does not define (the unknown-element example)
            return (isinstance(node, dict) and name in node), problems
        repeats = element["max"] != "1"
        if repeats != (index is not None) and not (last and whole_list and repeats):
            problems.append(
                f"{name}: base max {element['max']} but index {'absent' if index is None else index}"
            )
        key = f"{name}{of_type}" if of_type else name
        if not isinstance(node, dict) or key not in node:
            return False, problems
        node = node[key]
        if index is not None:
            if not isinstance(node, list) or int(index) >= len(node):
                return False, problems
            node = node[int(index)]
        if last:
            break
        types = [tp["code"] for tp in element.get("type", [])]
        if of_type:
            type_name, element_path = of_type, of_type
        elif types in (["Resource"], ["DomainResource"]):
            type_name = element_path = node["resourceType"]
        elif types in (["BackboneElement"], ["Element"]) and f"{element_path}.{name}.id" in elements:
            element_path = f"{element_path}.{name}"
        else:
            (type_name,) = types
            element_path = type_name
    return True, problems


@pytest.fixture(scope="module")
def core_available() -> None:
    if not (core_package_dir() / "StructureDefinition-Bundle.json").exists():
        pytest.skip("R4 core not in the package cache: fhir-family packages install hl7.fhir.r4.core#4.0.1")


MISSING_SLICE = {
    "reporting-period-missing",
    "episode-missing-service-request-id",
    "patient-missing-provider-record",
}
"""Invalid examples whose fault is a missing required slice of a list that is present."""


@pytest.mark.parametrize("example", INVALID_EXAMPLES, ids=[e.name for e in INVALID_EXAMPLES])
def test_expected_expressions_follow_the_conventions(example, core_available):
    bundle = _load(EXAMPLES / "invalid" / f"{example.name}.json")
    for issue in example.issues:
        if issue.expression == "Bundle":
            continue
        # a prohibited list is reported as a whole, a missing one has nothing to index
        whole_list = issue.code in {"structure", "required"}
        exists, problems = _resolve(bundle, issue.expression, whole_list=whole_list)
        assert not problems, (issue.expression, problems)
        if issue.code == "required" and example.name in MISSING_SLICE:
            # a required slice is missing from a list that is there: reported on the list
            assert exists, f"{issue.expression}: the list whose slice is missing must be present"
        elif issue.code == "required":
            assert not exists, f"{issue.expression} is reported missing but is present"
            parent = issue.expression.rsplit(".", 1)[0]
            assert _resolve(bundle, parent)[0], f"the parent of {issue.expression} must exist"
        else:
            assert exists, f"{issue.expression} does not point at anything in {example.name}.json"


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("Bundle.entry.resource.birthDate", "entry: base max * but index absent"),
        ("Bundle.entry[1].resource.identifier.value", "identifier: base max * but index absent"),
        ("Bundle.entry[3].resource.birthDate[0]", "birthDate: base max 1 but index 0"),
    ],
)
def test_convention_checker_catches_index_mistakes(expression, problem, core_available):
    bundle = _load(EXAMPLES / "bundles" / "mother-with-pr-three-children-living-with-her.json")
    assert problem in _resolve(bundle, expression)[1]


def test_convention_checker_follows_extensions_and_choices(core_available):
    bundle = _load(EXAMPLES / "bundles" / "mother-with-pr-three-children-living-with-her.json")
    assert _resolve(
        bundle, "Bundle.entry[3].resource.extension[0].extension[0].value.ofType(CodeableConcept)"
    ) == (
        True,
        [],
    )
    assert _resolve(bundle, "Bundle.entry[2].resource.period.start") == (True, [])
    assert _resolve(bundle, "Bundle.entry[5].resource.patient.reference") == (True, [])
    assert _resolve(bundle, "Bundle.entry[3].resource.relationship[0].coding[0].code") == (True, [])
    assert _resolve(bundle, "Bundle.entry[3].resource.relationship[1]") == (False, [])


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "America/Los_Angeles"])
def test_examples_do_not_depend_on_the_local_time_zone(tmp_path, monkeypatch, zone):
    """Dates are the easiest thing to shift by a day (a child's 18th birthday): build far from UTC."""
    import time

    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        written = build_examples(tmp_path)
    finally:
        monkeypatch.undo()
        time.tzset()
    for path in written:
        assert path.read_bytes() == (EXAMPLES / path.relative_to(tmp_path)).read_bytes(), path.name


def test_ehr_expected_files_are_generated_from_their_inputs(tmp_path):
    """examples/ehr/**/X.expected.json are rebuilt by build_examples, not hand-edited (19 of them)."""
    import shutil

    shutil.copytree(EXAMPLES / "ehr", tmp_path / "ehr")
    edited = tmp_path / "ehr" / "json" / "mother-two-children.expected.json"
    edited.write_text(edited.read_text(encoding="utf-8").replace('"SON"', '"DAU"'), encoding="utf-8")
    written = [p for p in build_examples(tmp_path) if p.is_relative_to(tmp_path / "ehr")]
    committed = sorted((EXAMPLES / "ehr").rglob("*.expected.json"))
    assert len(committed) >= 19
    assert sorted(p.relative_to(tmp_path) for p in written) == [p.relative_to(EXAMPLES) for p in committed]
    for path in written:
        assert path.read_bytes() == (EXAMPLES / path.relative_to(tmp_path)).read_bytes(), path.name


def test_an_ehr_input_must_be_described_in_the_readme(tmp_path):
    import shutil

    shutil.copytree(EXAMPLES / "ehr", tmp_path / "ehr")
    (tmp_path / "ehr" / "json" / "undocumented.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ValueError, match="undocumented.json has no row"):
        build_examples(tmp_path)
