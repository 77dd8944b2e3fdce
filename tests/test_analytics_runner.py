"""The ViewDefinition runner's own behaviour beyond the official suite: errors that say where, the FHIRPath
functions supplied on top of fhirpathpy, and the ``fhir-family analytics test-suite`` command."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from fhir_family.analytics import ViewDefinitionError, read_view, run_view
from fhir_family.analytics.views import load_views
from fhir_family.cli import main

PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "name": [{"family": "A", "given": ["x", "y"]}, {"family": "B"}],
    "extension": [
        {"url": "http://e/x", "valueString": "one"},
        {"url": "http://e/x", "valueString": "two"},
        {"url": "http://e/y", "valueString": "three"},
    ],
    "managingOrganization": {"reference": "https://example.org/fhir/Organization/o1/_history/3"},
    "generalPractitioner": [{"reference": "Practitioner/gp1"}],
}


def _rows(view: dict, resources=(PATIENT,)) -> list[dict]:
    return list(run_view(view, list(resources)))


def _view(*columns: dict, **extra) -> dict:
    return {"resource": "Patient", "select": [{"column": list(columns)}], **extra}


def test_extension_returns_every_match():
    """fhirpathpy 2.2.4's extension(url) returns the first match only; a view must see all of them."""
    rows = _rows(
        _view({"name": "x", "path": "extension('http://e/x').value.ofType(string)", "collection": True})
    )
    assert rows == [{"x": ["one", "two"]}]


def test_reference_keys_of_absolute_and_versioned_references():
    rows = _rows(
        _view(
            {"name": "org", "path": "managingOrganization.getReferenceKey(Organization)"},
            {"name": "not_org", "path": "managingOrganization.getReferenceKey(Patient)"},
            {"name": "gp", "path": "generalPractitioner.getReferenceKey()"},
            {"name": "me", "path": "getResourceKey()"},
        )
    )
    assert rows == [{"org": "o1", "not_org": None, "gp": "gp1", "me": "p1"}]


def test_constants_and_row_index():
    view = _view(
        {"name": "id", "path": "id"},
        constant=[{"name": "fam", "valueString": "B"}],
    )
    view["select"].append(
        {"forEach": "name.where(family = %fam)", "column": [{"name": "i", "path": "%rowIndex"}]}
    )
    assert _rows(view) == [{"id": "p1", "i": 0}]


@pytest.mark.parametrize(
    ("view", "message"),
    [
        ({"select": []}, "ViewDefinition.resource is required"),
        (_view({"name": "1bad", "path": "id"}), "ViewDefinition.select[0].column[0].name"),
        (_view({"name": "a", "path": "id"}, {"name": "a", "path": "gender"}), "repeat: a"),
        (_view({"name": "a", "path": "name.where("}), "ViewDefinition.select[0].column[0].path"),
        # fhirpathpy alone compiles these two without a word
        (_view({"name": "a", "path": "name..family"}), "not a valid FHIRPath expression 'name..family'"),
        (_view({"name": "a", "path": "name.family)"}), "unexpected ')' at column 12"),
        (_view({"name": "a", "path": "%nope"}), "%nope is not a constant"),
        (_view({"name": "a", "path": "id"}, constant=[{"name": "c"}]), "ViewDefinition.constant[0] (c)"),
        (
            {"resource": "Patient", "select": [{"forEach": "name", "forEachOrNull": "name"}]},
            "not both",
        ),
    ],
)
def test_malformed_views_say_where(view, message):
    with pytest.raises(ViewDefinitionError) as raised:
        read_view(view)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("view", "message"),
    [
        (_view({"name": "family", "path": "name.family"}), "column family (name.family): gave 2 values"),
        (_view({"name": "j", "path": "name.join(',')"}), "join() needs a collection of strings"),
        (_view({"name": "id", "path": "id"}, where=[{"path": "name.family"}]), "must give a boolean"),
    ],
)
def test_run_time_errors_say_where(view, message):
    with pytest.raises(ViewDefinitionError) as raised:
        _rows(view)
    assert message in str(raised.value)


def test_views_folder_errors(tmp_path, monkeypatch):
    with pytest.raises(ViewDefinitionError, match="No ViewDefinitions"):
        load_views(tmp_path)
    (tmp_path / "a.json").write_text(json.dumps(_view({"name": "id", "path": "id"})), encoding="utf-8")
    with pytest.raises(ViewDefinitionError, match="a.json: a ViewDefinition needs a name"):
        load_views(tmp_path)
    (tmp_path / "a.json").write_text("{", encoding="utf-8")
    with pytest.raises(ViewDefinitionError, match="cannot read"):
        load_views(tmp_path)


def _suite_file(folder, passing: bool) -> None:
    expect = [{"id": "p1"}] if passing else [{"id": "wrong"}]
    folder.mkdir(exist_ok=True)
    (folder / "mine.json").write_text(
        json.dumps(
            {
                "title": "mine",
                "resources": [PATIENT],
                "tests": [
                    {
                        "title": "ids",
                        "tags": ["shareable"],
                        "view": _view({"name": "id", "path": "id"}),
                        "expect": expect,
                    },
                    {"title": "bad view", "tags": ["shareable"], "view": {}, "expectError": True},
                ],
            }
        ),
        encoding="utf-8",
    )


def test_test_suite_command_writes_the_report_and_fails_on_a_shareable_failure(tmp_path):
    runner = CliRunner()
    _suite_file(tmp_path / "ok", passing=True)
    report = tmp_path / "report.json"
    ok = runner.invoke(
        main, ["analytics", "test-suite", "--suite", str(tmp_path / "ok"), "--report", str(report)]
    )
    assert ok.exit_code == 0, ok.output
    assert "| mine.json | 2/2 | 2/2 |" in ok.output
    assert json.loads(report.read_text()) == {
        "mine.json": {
            "tests": [
                {"name": "ids", "result": {"passed": True}},
                {"name": "bad view", "result": {"passed": True}},
            ]
        }
    }
    _suite_file(tmp_path / "bad", passing=False)
    bad = runner.invoke(
        main,
        ["analytics", "test-suite", "--suite", str(tmp_path / "bad"), "--report", str(report), "--failures"],
    )
    assert bad.exit_code == 1
    assert "FAIL mine.json 'ids'" in bad.output
    assert json.loads(report.read_text())["mine.json"]["tests"][0]["result"]["passed"] is False
    missing = runner.invoke(main, ["analytics", "test-suite", "--suite", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_run_command_prints_a_views_rows_over_bundles_and_ndjson(tmp_path, examples_dir):
    runner = CliRunner()
    bundle = examples_dir / "bundles" / "young-carer-daughter.json"
    out = runner.invoke(main, ["analytics", "run", "dependent_child", str(bundle)])
    assert out.exit_code == 0, out.output
    header, row = out.output.splitlines()
    assert header.startswith("child_key,return_key,relationship,birth_date")
    assert ",DAU,2012-05-01,female,false,Y," in row and row.endswith(
        # residence, young carer, then (empty) LA, think-family action and outcome, ended, then the help flags
        ",full-time,Y,,,,,false,true,true,false,false,false,false,false"
    )

    patient = next(
        e["resource"]
        for e in json.loads(bundle.read_text())["entry"]
        if e["resource"]["resourceType"] == "Patient"
    )
    ndjson = tmp_path / "patients.ndjson"
    ndjson.write_text(json.dumps({**patient, "id": "p9"}) + "\n", encoding="utf-8")
    out = runner.invoke(main, ["analytics", "run", "national_return", str(ndjson), "--format", "ndjson"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["return_key"] == "p9"

    view = tmp_path / "mine.json"
    view.write_text(json.dumps(_view({"name": "g", "path": "gender"})), encoding="utf-8")
    out = runner.invoke(main, ["analytics", "run", str(view), str(ndjson)])
    assert out.output == "g\nmale\n"

    unknown = runner.invoke(main, ["analytics", "run", "nope", str(bundle)])
    assert unknown.exit_code == 2 and "the views are child_data_quality" in unknown.output
    not_json = runner.invoke(
        main, ["analytics", "run", "national_return", str(tmp_path / "mine.json"), str(view.parent / "x.txt")]
    )
    assert not_json.exit_code == 2
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    bad = runner.invoke(main, ["analytics", "run", "national_return", str(tmp_path / "bad.json")])
    assert bad.exit_code == 2 and "bad.json: not readable JSON" in bad.output
