"""`fhir-family validate`: exit codes, text and JSON output, NDJSON line numbers, progress kept off stdout."""

from __future__ import annotations

import copy
import json
import tarfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fhir_family.cli import main
from fhir_family.conformance import default_validator
from fhir_family.conformance.locations import add_locations
from fhir_family.conformance.report import LINE_EXTENSION, issue_column, issue_line
from fhir_family.guide import guide_resources_dir
from fhir_family.mapping.bundle import build_bundle
from fhir_family.mapping.nhs_number import synthetic_nhs_number
from fhir_family.mapping.record import ChildRecord, ReturnRecord
from fhir_family.outcome import Issue, message_id


def _typical_record() -> ReturnRecord:
    """A parent with three children, an organisation and an episode: the typical national return."""
    children = tuple(
        ChildRecord(
            local_id=f"C{number}",
            relationship=relationship,
            birth_date=birth_date,
            pr_held="Y",
            pr_basis=("birth-mother",),
            residence="full-time",
            young_carer="N",
            help=("none",),
            nhs_number=synthetic_nhs_number(10 + number),
        )
        for number, (relationship, birth_date) in enumerate(
            [("DAU", date(2012, 3, 4)), ("SON", date(2015, 6, 7)), ("CHILD", date(2020, 9, 10))]
        )
    )
    return ReturnRecord(
        submission_id="RX4-2026-01-0042",
        ods_code="RX4",
        local_patient_id="P42",
        nhs_number=synthetic_nhs_number(1),
        birth_date=date(1986, 1, 2),
        gender="female",
        parental_status="all-children-live-with-patient",
        date_asked=date(2026, 1, 12),
        reporting_period_start=date(2026, 1, 1),
        reporting_period_end=date(2026, 1, 31),
        legal_basis="national-direction",
        service_request_id="SR42",
        team_type="A03",
        episode_start=date(2025, 10, 1),
        children_in_household=3,
        children=children,
    )


@pytest.fixture(scope="module")
def valid_bundle() -> dict[str, Any]:
    return build_bundle(_typical_record())


@pytest.fixture()
def invalid_bundle(valid_bundle: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The typical return with its first child's birthDate removed, and that child's entry index."""
    bundle = copy.deepcopy(valid_bundle)
    index = next(i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == "RelatedPerson")
    del bundle["entry"][index]["resource"]["birthDate"]
    return bundle, index


def _write(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def _run(*args: str) -> Any:
    return CliRunner().invoke(main, ["validate", *args])


# -- unusable input: exit 2, one line on stderr, no stack trace (no definitions needed) --------------------


def _assert_unusable(result: Any, fragment: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert any(fragment in line for line in lines), result.stderr
    assert all(line.startswith("fhir-family validate: ") for line in lines), result.stderr
    assert "Traceback" not in result.output


def test_no_such_path(tmp_path: Path) -> None:
    _assert_unusable(_run(str(tmp_path / "nope.json")), "no such file or folder")


def test_not_json(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"resourceType": "Bundle",', encoding="utf-8")
    _assert_unusable(_run(str(path)), "not valid JSON")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"resourceType": "Patient", "id": "caf\xe9"}')
    _assert_unusable(_run(str(path)), "not UTF-8")


@pytest.mark.parametrize("content", ["[1, 2]", '{"id": "no-type"}', '"text"'])
def test_not_a_resource(tmp_path: Path, content: str) -> None:
    path = tmp_path / "thing.json"
    path.write_text(content, encoding="utf-8")
    _assert_unusable(_run(str(path)), "not a FHIR resource")


def test_folder_without_inputs(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("nothing to validate")
    _assert_unusable(_run(str(tmp_path)), "no .json, .ndjson or .xml files")


def test_json_nested_too_deeply(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text(
        '{"resourceType": "Patient", "id": ' + "[" * 5_000 + "]" * 5_000 + "}", encoding="utf-8"
    )
    _assert_unusable(_run(str(path)), "nested too deeply")


def test_validator_defect_is_reported_not_raised(
    tmp_path: Path, valid_bundle: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash inside the validator on one input is a fatal issue for that input, and the run goes on."""
    real = default_validator()

    class Fragile:
        def resolve_profile(self, profile: str) -> str | None:
            return real.resolve_profile(profile)

        def issues(self, resource: dict[str, Any], profile: str | None = None) -> list[Issue]:
            if resource.get("id") == "crash":
                raise RecursionError("maximum recursion depth exceeded")
            return real.issues(resource, profile)

    monkeypatch.setattr("fhir_family.conformance.default_validator", lambda: Fragile())
    crash = _write(tmp_path / "crash.json", {"resourceType": "Patient", "id": "crash"})
    good = _write(tmp_path / "good.json", valid_bundle)
    result = _run("--format", "json", str(crash), str(good))
    assert result.exit_code == 2
    assert "the validator could not process this input (RecursionError" in result.stderr
    document = json.loads(result.stdout)
    assert message_id(document[str(crash)]["issue"][0]) == "FF-VALIDATOR-FAILURE"
    assert document[str(good)] == real.validate(valid_bundle)


def test_unusable_file_is_reported_in_json_output_too(tmp_path: Path, valid_bundle: dict[str, Any]) -> None:
    good = _write(tmp_path / "good.json", valid_bundle)
    bad = tmp_path / "bad.json"
    bad.write_text("not json", encoding="utf-8")
    result = _run("--format", "json", str(good), str(bad))
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document[str(bad)]["issue"][0]["severity"] == "fatal"
    assert message_id(document[str(bad)]["issue"][0]) == "FF-INPUT-UNUSABLE"
    assert str(good) in document


# -- validation proper -------------------------------------------------------------------------------------


def test_valid_bundle_exits_0(tmp_path: Path, valid_bundle: dict[str, Any]) -> None:
    result = _run(str(_write(tmp_path / "return.json", valid_bundle)))
    assert result.exit_code == 0, result.output
    assert "return.json: valid (0 errors" in result.stdout
    assert "1 file: 1 valid, 0 invalid" in result.stdout


def test_invalid_bundle_exits_1_with_expression(
    tmp_path: Path, invalid_bundle: tuple[dict[str, Any], int]
) -> None:
    invalid_bundle, index = invalid_bundle
    result = _run(str(_write(tmp_path / "return.json", invalid_bundle)))
    assert result.exit_code == 1, result.output
    assert "return.json: INVALID" in result.stdout
    assert f"Bundle.entry[{index}].resource.birthDate" in result.stdout
    assert "FF-" in result.stdout  # the stable message id is shown


def test_json_format_single_file_is_one_operation_outcome(
    tmp_path: Path, invalid_bundle: tuple[dict[str, Any], int]
) -> None:
    invalid_bundle, index = invalid_bundle
    result = _run("--format", "json", str(_write(tmp_path / "return.json", invalid_bundle)))
    assert result.exit_code == 1
    outcome = json.loads(result.stdout)
    assert outcome["resourceType"] == "OperationOutcome"
    errors = [i for i in outcome["issue"] if i["severity"] == "error"]
    assert [i["expression"] for i in errors] == [[f"Bundle.entry[{index}].resource.birthDate"]]
    assert errors[0]["code"] == "required"


def test_json_format_several_files_maps_path_to_outcome(
    tmp_path: Path, valid_bundle: dict[str, Any], invalid_bundle: tuple[dict[str, Any], int]
) -> None:
    invalid_bundle, _index = invalid_bundle
    _write(tmp_path / "a.json", valid_bundle)
    _write(tmp_path / "b.json", invalid_bundle)
    (tmp_path / "b.expected.json").write_text(
        '{"issues": []}'
    )  # outcome files beside invalid examples: skipped
    result = _run("--format", "json", str(tmp_path))
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert sorted(document) == [str(tmp_path / "a.json"), str(tmp_path / "b.json")]
    assert all(outcome["resourceType"] == "OperationOutcome" for outcome in document.values())


def test_ndjson_issues_carry_line_numbers(
    tmp_path: Path, valid_bundle: dict[str, Any], invalid_bundle: tuple[dict[str, Any], int]
) -> None:
    invalid_bundle, index = invalid_bundle
    lines = [json.dumps(valid_bundle), "", json.dumps(invalid_bundle), json.dumps(valid_bundle)]
    path = tmp_path / "batch.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = _run("--format", "json", str(path))
    assert result.exit_code == 1, result.output
    outcome = json.loads(result.stdout)
    errors = [i for i in outcome["issue"] if i["severity"] in ("error", "fatal")]
    assert errors and {issue_line(i) for i in errors} == {3}
    assert errors[0]["diagnostics"].startswith("line 3: ")
    assert errors[0]["expression"] == [f"Bundle.entry[{index}].resource.birthDate"]
    assert any(e["url"] == LINE_EXTENSION for e in errors[0]["extension"])
    text = _run(str(path))
    assert f"line 3: Bundle.entry[{index}].resource.birthDate" in text.stdout


def test_ndjson_bad_line_is_unusable_but_the_rest_is_validated(
    tmp_path: Path, invalid_bundle: tuple[dict[str, Any], int]
) -> None:
    invalid_bundle, _index = invalid_bundle
    path = tmp_path / "batch.ndjson"
    path.write_text(json.dumps(invalid_bundle) + "\n{oops\n", encoding="utf-8")
    result = _run("--format", "json", str(path))
    assert result.exit_code == 2
    assert f"{path}:2: not valid JSON" in result.stderr
    outcome = json.loads(result.stdout)
    assert {issue_line(i) for i in outcome["issue"]} == {1, 2}


def test_ndjson_line_that_is_not_utf8(tmp_path: Path, valid_bundle: dict[str, Any]) -> None:
    path = tmp_path / "batch.ndjson"
    path.write_bytes(json.dumps(valid_bundle).encode() + b'\n{"resourceType": "Patient", "id": "caf\xe9"}\n')
    result = _run("--format", "json", str(path))
    assert result.exit_code == 2
    assert f"{path}:2: not UTF-8 text" in result.stderr
    assert [issue_line(i) for i in json.loads(result.stdout)["issue"]] == [2]  # line 1 was valid


@pytest.mark.parametrize("ndjson", [False, True])
def test_standard_input(
    valid_bundle: dict[str, Any], invalid_bundle: tuple[dict[str, Any], int], ndjson: bool
) -> None:
    bundle, index = invalid_bundle
    if ndjson:
        text = json.dumps(valid_bundle) + "\n" + json.dumps(bundle) + "\n"
    else:
        text = json.dumps(bundle, indent=2)
    result = CliRunner().invoke(main, ["validate", "--format", "json", "-"], input=text)
    assert result.exit_code == 1, result.output
    errors = [i for i in json.loads(result.stdout)["issue"] if i["severity"] == "error"]
    assert errors[0]["expression"] == [f"Bundle.entry[{index}].resource.birthDate"]
    if ndjson:
        assert issue_line(errors[0]) == 2  # the NDJSON line
    else:  # a missing element is placed at the object that should hold it: that child's resource
        line, column = issue_line(errors[0]), issue_column(errors[0])
        resource_lines = [n for n, row in enumerate(text.splitlines(), 1) if row.strip() == '"resource": {']
        assert line == resource_lines[index]
        assert text.splitlines()[line - 1][column - 1 :].startswith('"resource": {')
    text_report = CliRunner().invoke(main, ["validate", "-"], input=text)
    assert text_report.stdout.startswith("<stdin>: INVALID")


def test_standard_input_not_json() -> None:
    _assert_unusable(
        CliRunner().invoke(main, ["validate", "-"], input="MSH|^~\\&|"), "<stdin>: not valid JSON"
    )


def test_profile_option(tmp_path: Path, valid_bundle: dict[str, Any]) -> None:
    patient = next(e["resource"] for e in valid_bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    patient = {k: v for k, v in patient.items() if k not in ("meta", "extension")}
    path = _write(tmp_path / "patient.json", patient)
    # A bare Patient is checked as the return's parent: ParentPatient requires the parental-status extension.
    assert _run(str(path)).exit_code == 1
    assert (
        _run(
            "--profile", "https://fhir-family.uk/fhir/StructureDefinition/parent-patient", str(path)
        ).exit_code
        == 1
    )
    base = _run("--format", "json", "--profile", "http://hl7.org/fhir/StructureDefinition/Patient", str(path))
    assert base.exit_code == 0, base.output
    _assert_unusable(_run("--profile", "https://example.org/no-such-profile", str(path)), "no-such-profile")


def test_progress_goes_to_stderr_not_stdout(tmp_path: Path, valid_bundle: dict[str, Any]) -> None:
    for number in range(8):
        _write(tmp_path / f"return-{number}.json", valid_bundle)
    result = _run("--format", "json", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 8  # stdout is nothing but the JSON document
    assert "Validating" in result.stderr


def test_valid_examples_folder_exits_0(examples_dir: Path) -> None:
    result = _run(str(examples_dir / "bundles"))
    assert result.exit_code == 0, result.stdout
    count = len(list((examples_dir / "bundles").glob("*.json")))
    assert f"{count} files: {count} valid, 0 invalid (0 errors" in result.stdout


def test_invalid_examples_folder_matches_the_python_api(examples_dir: Path) -> None:
    """The CLI reports, per invalid example, exactly what the validator's Python API returns, each issue
    placed at its line and column in the file, and exits 1."""
    result = _run("--format", "json", str(examples_dir / "invalid"))
    assert result.exit_code == 1, result.stderr
    document = json.loads(result.stdout)
    examples = sorted(
        p for p in (examples_dir / "invalid").glob("*.json") if not p.name.endswith(".expected.json")
    )
    assert sorted(document) == [str(p) for p in examples]  # the .expected.json files are skipped
    validator = default_validator()
    for path in examples:
        text = path.read_text(encoding="utf-8")
        assert document[str(path)] == add_locations(validator.validate(json.loads(text)), text), path
        assert all(issue_line(issue) for issue in document[str(path)]["issue"] if issue.get("expression"))


def _guide_tgz(path: Path, guide_dir: Path, keep: str = "") -> Path:
    """A FHIR NPM package of the guide's resources whose file names start with ``keep``."""
    with tarfile.open(path, "w:gz") as archive:
        archive.add(guide_dir.parent.parent / "sushi-config.yaml", arcname="package/sushi-config.yaml")
        for resource in sorted(guide_dir.glob(f"{keep}*.json")):
            archive.add(resource, arcname=f"package/{resource.name}")
    return path


def test_guide_option_uses_that_package(tmp_path: Path, valid_bundle: dict[str, Any]) -> None:
    bundle = _write(tmp_path / "return.json", valid_bundle)
    full = _run("--guide", str(_guide_tgz(tmp_path / "full.tgz", guide_resources_dir())), str(bundle))
    assert full.exit_code == 0, full.output
    # A package without the profiles, instead of the built-in guide: every meta.profile is unknown to it,
    # which is an error (not checked is not valid), not a crash; --allow-unknown-profiles makes it a warning.
    bare = _guide_tgz(tmp_path / "terminology-only.tgz", guide_resources_dir(), keep="ValueSet-")
    result = _run("--format", "json", "--no-builtin-guide", "--guide", str(bare), str(bundle))
    assert result.exit_code == 1, result.output
    ids = {message_id(issue) for issue in json.loads(result.stdout)["issue"]}
    assert "FF-PROFILE-UNKNOWN" in ids, result.stdout
    # (the guide's extensions are then unknown too: errors by default, allowed by their canonical's prefix)
    relaxed = _run(
        "--no-builtin-guide",
        "--allow-unknown-profiles",
        "--unknown-extensions",
        "https://fhir-family.uk/fhir/",
        "--guide",
        str(bare),
        str(bundle),
    )
    assert relaxed.exit_code == 0, relaxed.output
    assert "FF-PROFILE-UNKNOWN" in relaxed.output
    # Added to the built-in guide (the default), the same package changes nothing.
    assert _run("--guide", str(bare), str(bundle)).exit_code == 0


def test_guide_option_unreadable_package(tmp_path: Path, valid_bundle: dict[str, Any]) -> None:
    broken = tmp_path / "broken.tgz"
    broken.write_bytes(b"not a tarball")
    _assert_unusable(
        _run("--guide", str(broken), str(_write(tmp_path / "r.json", valid_bundle))), "broken.tgz"
    )


SOURCE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-source"


def test_messages_a_vendor_reads_say_what_is_allowed_in_words(examples_dir) -> None:
    """From the user's side (issue 14): a code outside a required value set lists the allowed codes; an
    invariant says its rule in words, with the expected NHS check digit; the FHIRPath has its own field."""

    def only_issue(name: str) -> dict[str, Any]:
        path = str(examples_dir / "invalid" / name)
        result = CliRunner().invoke(main, ["validate", "--format", "json", path])
        assert result.exit_code == 1, result.output
        (issue,) = json.loads(result.stdout)["issue"]
        return issue

    residence = only_issue("child-residence-code-unknown.json")
    assert "|sofa'" in residence["diagnostics"] and "'full-time'" in residence["diagnostics"]
    assert "'part-time'" in residence["diagnostics"]
    rule = only_issue("pr-basis-when-not-held.json")
    assert rule["diagnostics"].startswith("ff-pr-1: A legal basis for parental responsibility")
    assert "implies" not in rule["diagnostics"]  # the FHIRPath is not the message ...
    sources = [ext["valueString"] for ext in rule["extension"] if ext["url"] == SOURCE_EXTENSION]
    assert len(sources) == 1 and "implies" in sources[0]  # ... it is in the issue-source extension
    nhs = only_issue("patient-nhs-number-bad-check-digit.json")
    assert "check digit (10th digit) must be" in nhs["diagnostics"]
