"""``fhir-family export`` matches the guide: one Organization per ODS code, Parquet beside NDJSON, the
manifest names the request as a URL, and every exported resource validates against the profiles it claims."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from fhir_family.cli import main
from fhir_family.collector.app import create_app
from fhir_family.collector.export import PARENT_PATIENT, organization_id
from fhir_family.collector.synthetic import synthetic_month
from fhir_family.collector.tokens import issue_token
from fhir_family.conformance import Validator
from fhir_family.mapping.bundle import build_bundle
from fhir_family.model import (
    EXT_LEGAL_BASIS,
    EXT_REPORTING_PERIOD,
    PSEUDONYMISED_DEPENDENT_CHILD,
    PSEUDONYMISED_PARENT_PATIENT,
)
from fhir_family.outcome import IssueSeverity

KEY = "export-test-key-0123456789abcdef"
PROVIDERS = ("RXA", "RXB", "RXC")


@pytest.fixture(scope="module")
def exported(tmp_path_factory, collector_validator):
    """Two months from three providers plus one correction, exported through the CLI."""
    tmp = tmp_path_factory.mktemp("export")
    db = f"sqlite:///{tmp / 'collector.sqlite'}"
    app = create_app({"DATABASE_URL": db, "PSEUDONYM_KEY": KEY, "VALIDATOR": collector_validator})
    collector = app.extensions["fhir_family_collector"]
    tokens = {ods: issue_token(collector.sessions, "provider", ods) for ods in PROVIDERS}
    client = app.test_client()
    records = [*synthetic_month("2026-09", 8), *synthetic_month("2026-10", 8)]
    for record in records:
        response = client.post(
            "/", json=build_bundle(record), headers={"Authorization": f"Bearer {tokens[record.ods_code]}"}
        )
        assert response.status_code == 200, response.get_json()
    result = CliRunner().invoke(
        main, ["export", "--out", str(tmp / "out"), "--db", db, "--base-url", "https://collector.example/fhir/"]
    )
    assert result.exit_code == 0, result.output
    return tmp / "out", records


def _ndjson(folder: Path, resource_type: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / f"{resource_type}.ndjson").read_text().splitlines()]


def test_one_organization_per_ods_code_and_every_reference_resolves(exported):
    folder, records = exported
    organizations = _ndjson(folder, "Organization")
    assert [o["identifier"][0]["value"] for o in organizations] == sorted(PROVIDERS)
    assert [o["id"] for o in organizations] == [organization_id(ods) for ods in sorted(PROVIDERS)]
    ids = {f"Organization/{o['id']}" for o in organizations}
    patients, episodes = _ndjson(folder, "Patient"), _ndjson(folder, "EpisodeOfCare")
    assert len(patients) == len(episodes) == len(records)
    assert {r["managingOrganization"]["reference"] for r in patients + episodes} == ids
    manifest = json.loads((folder / "manifest.json").read_text())
    assert {i["type"]: i["count"] for i in manifest["output"]}["Organization"] == len(PROVIDERS)


def test_the_manifest_names_the_request_as_the_export_url(exported):
    folder, _records = exported
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["request"] == (
        "https://collector.example/fhir/$export?_type=Organization,Patient,EpisodeOfCare,RelatedPerson,Bundle"
    )


@pytest.fixture(scope="module")
def claims_validator():
    """Plain-R4 mode with the guide loaded: each resource is checked against the profiles it claims and R4
    core, not against the role a resource plays inside a submitted return."""
    return Validator.from_packages(role_profiles=False)


def test_every_exported_resource_validates_against_what_it_claims(exported, claims_validator):
    folder, _records = exported
    claimed = 0
    for resource_type in ("Organization", "Patient", "EpisodeOfCare", "RelatedPerson", "Bundle"):
        for resource in _ndjson(folder, resource_type):
            errors = [
                issue
                for issue in claims_validator.issues(resource)
                if issue.severity in (IssueSeverity.ERROR, IssueSeverity.FATAL)
            ]
            assert errors == [], (resource_type, resource["id"], errors[:3])
            claimed += bool(resource.get("meta", {}).get("profile"))
    assert claimed > 0
    patients, children = _ndjson(folder, "Patient"), _ndjson(folder, "RelatedPerson")
    assert all(p["meta"]["profile"] == [PSEUDONYMISED_PARENT_PATIENT] for p in patients)
    assert all(c["meta"]["profile"] == [PSEUDONYMISED_DEPENDENT_CHILD] for c in children)
    assert not any(PARENT_PATIENT in json.dumps(p) for p in patients)


def test_each_return_is_exported_as_a_bundle_with_its_meta_facts_and_patient(exported):
    """The return's Bundle.meta facts (reporting period, legal basis) are exported on a collection Bundle per
    current return, holding that return's exported Patient."""
    folder, records = exported
    patients = {p["id"]: p for p in _ndjson(folder, "Patient")}
    bundles = _ndjson(folder, "Bundle")
    assert len(bundles) == len(patients)
    by_submission = {r.submission_id: r for r in records}
    for bundle in bundles:
        assert bundle["type"] == "collection"
        (entry,) = bundle["entry"]
        assert entry["resource"] == patients[entry["resource"]["id"]]
        assert entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}"
        record = by_submission[bundle["identifier"]["value"]]
        by_url = {e["url"]: e for e in bundle["meta"]["extension"]}
        period = {
            "start": record.reporting_period_start.isoformat(),
            "end": record.reporting_period_end.isoformat(),
        }
        assert by_url[EXT_REPORTING_PERIOD]["valuePeriod"] == period
        assert by_url[EXT_LEGAL_BASIS]["valueCodeableConcept"]["coding"][0]["code"] == record.legal_basis
    assert all("extension" not in p.get("meta", {}) for p in patients.values())


def test_a_pseudonymised_patient_would_fail_parentpatient(exported, collector_validator):
    """Why the claim is dropped: with its NHS number replaced, the Patient does not meet ParentPatient."""
    folder, _records = exported
    patient = _ndjson(folder, "Patient")[0]
    issues = collector_validator.issues({**patient, "meta": {"profile": [PARENT_PATIENT]}})
    assert any(issue.severity == IssueSeverity.ERROR for issue in issues)


def _without_nulls(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_nulls(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [_without_nulls(v) for v in node]
    return node


def test_parquet_beside_ndjson_holds_the_same_resources(exported):
    folder, _records = exported
    manifest = json.loads((folder / "manifest.json").read_text())
    parquet = manifest["extension"]["parquet"]
    assert [i["type"] for i in parquet] == [i["type"] for i in manifest["output"]]
    con = duckdb.connect()
    for item in parquet:
        path = folder / f"{item['type']}.parquet"
        assert item["url"] == path.resolve().as_uri()
        query = f"SELECT to_json(t) FROM read_parquet('{path}') t"
        rows = [json.loads(row[0]) for row in con.execute(query).fetchall()]
        assert len(rows) == item["count"]
        assert [_without_nulls(r) for r in rows] == _ndjson(folder, item["type"]), item["type"]
    con.close()


def test_no_parquet_and_a_missing_database_folder(tmp_path):
    db = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    result = CliRunner().invoke(main, ["export", "--out", str(tmp_path / "out"), "--db", db, "--no-parquet"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["output"] == [] and "extension" not in manifest
    assert manifest["request"].startswith("http") and "$export" in manifest["request"]


def test_materialising_from_parquet_gives_the_same_tables_as_from_ndjson(exported, tmp_path):
    folder, records = exported
    runner = CliRunner()
    for source in ("ndjson", "parquet"):
        done = runner.invoke(
            main, ["analytics", "materialise", str(folder), "--from", source, "--out", str(tmp_path / source)]
        )
        assert done.exit_code == 0, done.output
    con = duckdb.connect(str(tmp_path / "ndjson" / "analytics.duckdb"), read_only=True)
    con.execute(f"ATTACH '{tmp_path / 'parquet' / 'analytics.duckdb'}' AS p (READ_ONLY)")
    tables = [row[0] for row in con.execute("SELECT table_name FROM information_schema.tables"
                                            " WHERE table_catalog = 'analytics'").fetchall()]
    assert {"national_return", "dependent_child", "report_counts"} <= set(tables)
    for table in tables:
        for left, right in ((table, f"p.{table}"), (f"p.{table}", table)):
            extra = con.execute(f"SELECT count(*) FROM (FROM {left} EXCEPT ALL FROM {right})").fetchone()[0]
            assert extra == 0, (table, left)
    assert con.execute("SELECT count(*) FROM p.national_return").fetchone()[0] == len(records)
    con.close()


def test_materialising_from_parquet_needs_parquet_in_the_export(tmp_path):
    db = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    CliRunner().invoke(main, ["export", "--out", str(tmp_path / "out"), "--db", db, "--no-parquet"])
    export, out = str(tmp_path / "out"), str(tmp_path / "a")
    done = CliRunner().invoke(main, ["analytics", "materialise", export, "--from", "parquet", "--out", out])
    assert done.exit_code == 2 and "no Parquet listed" in done.output and "Traceback" not in done.output


def test_without_duckdb_the_export_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "duckdb", None)  # as if the analytics extra were not installed
    db = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    result = CliRunner().invoke(main, ["export", "--out", str(tmp_path / "out"), "--db", db])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "pip install 'fhir-family[analytics]'" in result.output and "--no-parquet" in result.output
