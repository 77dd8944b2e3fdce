"""DuckDB materialisation of the views from the collector's export, and the national report computed from it.

The report test is the one that matters: a synthetic month loaded into the collector (SQLite, and
PostgreSQL under scripts/run-tests.sh), exported with ``fhir-family export``, materialised with
``fhir-family analytics materialise``, gives exactly the rows of the collector's own ``fhir-family report``,
disclosure control included.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from fhir_family.analytics.bundles import bundle_resources
from fhir_family.analytics.derived import LA_MEASURE_COLUMNS, MEASURE_COLUMNS, UNKNOWN_LOCAL_AUTHORITY
from fhir_family.analytics.duckdb_store import Output, local_authority_counts, materialise, raw_counts
from fhir_family.cli import main
from fhir_family.collector import reports
from fhir_family.collector.app import create_app
from fhir_family.collector.facts import extract
from fhir_family.collector.synthetic import synthetic_month
from fhir_family.collector.tokens import issue_token
from fhir_family.mapping.bundle import build_bundle

KEY = "analytics-test-key-0123456789abcdef"
EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples" / "bundles").glob("*.json"))


def _write_export(folder: Path, resources: list[dict]) -> Path:
    """An export folder like ``fhir-family export`` writes: one NDJSON per type and manifest.json."""
    folder.mkdir(parents=True, exist_ok=True)
    output = []
    for resource_type in ("Organization", "Patient", "EpisodeOfCare", "RelatedPerson", "Bundle"):
        lines = [json.dumps(r) for r in resources if r["resourceType"] == resource_type]
        path = folder / f"{resource_type}.ndjson"
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        output.append({"type": resource_type, "url": path.resolve().as_uri(), "count": len(lines)})
    (folder / "manifest.json").write_text(json.dumps({"output": output}), encoding="utf-8")
    return folder


def test_measures_are_the_collectors():
    assert tuple(reports.MEASURES) == MEASURE_COLUMNS
    assert tuple(reports.LA_MEASURES) == LA_MEASURE_COLUMNS
    assert reports.UNKNOWN_LA == UNKNOWN_LOCAL_AUTHORITY


@pytest.fixture
def loaded_collector(db_url, collector_validator):
    app = create_app({"DATABASE_URL": db_url, "PSEUDONYM_KEY": KEY, "VALIDATOR": collector_validator})
    collector = app.extensions["fhir_family_collector"]
    tokens = {ods: issue_token(collector.sessions, "provider", ods) for ods in ("RXA", "RXB", "RXC")}
    client = app.test_client()
    records = list(synthetic_month(patients_per_provider=60))
    for record in records:
        response = client.post(
            "/",
            data=json.dumps(build_bundle(record)),
            headers={"Authorization": f"Bearer {tokens[record.ods_code]}"},
        )
        assert response.status_code == 200, response.get_json()
    return db_url, collector, records


def test_duckdb_report_equals_the_collectors_report(loaded_collector, tmp_path, monkeypatch):
    db_url, collector, records = loaded_collector
    monkeypatch.setenv("FHIR_FAMILY_PSEUDONYM_KEY", KEY)
    runner = CliRunner()
    exported = runner.invoke(main, ["export", "--out", str(tmp_path / "export"), "--db", db_url])
    assert exported.exit_code == 0, exported.output
    done = runner.invoke(
        main, ["analytics", "materialise", str(tmp_path / "export"), "--out", str(tmp_path / "a")]
    )
    assert done.exit_code == 0, done.output
    assert "database:" in done.output

    database = tmp_path / "a" / "analytics.duckdb"
    # True counts agree measure by measure, before any disclosure control.
    assert raw_counts(database) == reports.raw_counts(collector.engine)
    assert sum(row["returns"] for row in raw_counts(database).values()) == len(records)

    ours = runner.invoke(main, ["analytics", "report", str(tmp_path / "a"), "--format", "json"])
    theirs = runner.invoke(main, ["report", "--db", db_url, "--format", "json"])
    assert ours.exit_code == 0 and theirs.exit_code == 0, ours.output + theirs.output
    ours_json, theirs_json = json.loads(ours.output), json.loads(theirs.output)
    ours_rows, theirs_rows = ours_json["rows"], theirs_json["rows"]
    assert ours_rows == theirs_rows
    # The table by local authority: true counts, then published with England, as the collector's.
    assert local_authority_counts(database) == reports.local_authority_counts(collector.engine)
    assert ours_json["byLocalAuthority"] == theirs_json["byLocalAuthority"]
    assert ours_json["localAuthorityMeasures"] == reports.LA_MEASURES
    by_la = ours_json["byLocalAuthority"]
    assert {row["la"] for row in by_la} > {reports.NATIONAL}
    assert any(row[m] == "*" for row in by_la for m in reports.LA_MEASURES)
    assert any(row[m] == "*" for row in ours_rows for m in reports.MEASURES)  # suppression really applied
    assert {row["ods"] for row in ours_rows} == {"RXA", "RXB", "RXC", reports.NATIONAL}

    # One provider's own rows, and one month, as the collector's report filters them.
    for args in (["--ods", "RXB"], ["--month", "2026-10"], ["--month", "2026-09"]):
        ours = runner.invoke(main, ["analytics", "report", str(database), "--format", "csv", *args])
        theirs = runner.invoke(main, ["report", "--db", db_url, "--format", "csv", *args])
        assert ours.output == theirs.output, args
        ours = runner.invoke(main, ["analytics", "report", str(database), "--format", "json", *args])
        theirs = runner.invoke(main, ["report", "--db", db_url, "--format", "json", *args])
        la_ours, la_theirs = (json.loads(r.output)["byLocalAuthority"] for r in (ours, theirs))
        assert la_ours == la_theirs, args
        assert bool(la_ours) == (args != ["--month", "2026-09"]), args  # no returns for September
    html = runner.invoke(main, ["analytics", "report", str(database), "--format", "html"])
    assert "By local authority" in html.output and by_la[0]["la"] in html.output

    # Every table is also Parquet, with the same rows.
    con = duckdb.connect(str(database), read_only=True)
    for name in (
        "national_return", "dependent_child", "child_data_quality", "returns", "report_counts",
        "report_counts_by_la",
    ):
        parquet = tmp_path / "a" / "parquet" / f"{name}.parquet"
        in_db = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
        assert con.execute(f"SELECT count(*) FROM read_parquet('{parquet}')").fetchone()[0] == in_db > 0
    # The export is pseudonymised, and so is every table: no raw NHS number anywhere.
    pseudonyms = con.execute("SELECT count(DISTINCT parent_pseudonym) FROM returns").fetchone()[0]
    assert pseudonyms == len(records)
    con.close()


def test_derived_tables_over_the_examples(tmp_path):
    """Ages, age bands, PRNTSTAT and data-quality counts over the example bundles, checked against
    collector/facts.py's reading of each bundle."""
    resources, facts = [], {}
    for path in EXAMPLES:
        bundle = json.loads(path.read_text(encoding="utf-8"))
        bundle_res = bundle_resources(bundle)
        patient = next(r for r in bundle_res if r["resourceType"] == "Patient")
        facts[patient["id"]] = extract(bundle)
        resources += bundle_res
    result = materialise(_write_export(tmp_path / "export", resources), tmp_path / "out.duckdb")
    assert result.output == Output(tmp_path / "out.duckdb", tmp_path / "out-parquet")
    assert result.tables["returns"] == len(EXAMPLES)
    con = duckdb.connect(str(result.output.database), read_only=True)
    prntstat = {
        "all-children-live-with-patient": "11",
        "some-children-live-with-patient": "12",
        "no-children-live-with-patient": "13",
        "not-a-parent": "14",
        "declined": "15",
    }
    for key, month, status, code, listed in con.execute(
        "SELECT return_key, reporting_month, parental_status, prntstat, children_listed FROM returns"
    ).fetchall():
        assert month == facts[key].report_month
        assert code == prntstat.get(status)  # not-asked has no PRNTSTAT code: None
        assert status == facts[key].parental_status
        assert listed == len(facts[key].children)
    ages = con.execute("SELECT return_key, age_years, age_band FROM children ORDER BY return_key").fetchall()
    expected = sorted((key, child.age_years) for key, f in facts.items() for child in f.children)
    assert sorted((key, age) for key, age, _band in ages) == expected
    band = {
        a: b
        for b, low, high in (("0-4", 0, 4), ("5-9", 5, 9), ("10-14", 10, 14), ("15-17", 15, 17))
        for a in range(low, high + 1)
    }
    assert all(age_band == band[age] for _key, age, age_band in ages)
    quality = con.execute(
        "SELECT return_key, children, children_without_nhs_number, pr_unknown, residence_unknown"
        " FROM data_quality"
    ).fetchall()
    for key, children, no_nhs, pr_unknown, residence_unknown in quality:
        kids = facts[key].children
        assert children == len(kids)
        assert no_nhs == sum(c.nhs_number is None for c in kids)
        assert pr_unknown == sum(c.pr_held == "UNK" for c in kids)
        assert residence_unknown == sum(c.residence == "unknown" for c in kids)
    assert sum(row[3] for row in quality) > 0  # the examples do have an unknown PR
    con.close()


def test_bad_exports_are_refused_with_where(tmp_path):
    runner = CliRunner()
    out = ["--out", str(tmp_path / "out")]
    missing = runner.invoke(main, ["analytics", "materialise", str(tmp_path), *out])
    assert missing.exit_code == 2 and "manifest.json: missing" in missing.output

    resources = bundle_resources(json.loads(EXAMPLES[0].read_text(encoding="utf-8")))
    folder = _write_export(tmp_path / "bad", resources)
    with (folder / "RelatedPerson.ndjson").open("a", encoding="utf-8") as f:
        f.write("{not json\n")
    bad = runner.invoke(main, ["analytics", "materialise", str(folder), *out])
    assert bad.exit_code == 2
    assert "RelatedPerson.ndjson:" in bad.output and "not JSON" in bad.output
    assert "Traceback" not in bad.output

    orphan = _write_export(tmp_path / "orphan", [r for r in resources if r["resourceType"] != "Organization"])
    refused = runner.invoke(main, ["analytics", "materialise", str(orphan), *out])
    assert refused.exit_code == 2 and "not in the export" in refused.output

    no_db = runner.invoke(main, ["analytics", "report", str(tmp_path / "nothing")])
    assert no_db.exit_code == 2 and "materialise" in no_db.output


def test_a_database_without_the_table_by_local_authority_is_refused_in_one_line(tmp_path):
    """A database materialised before report_counts_by_la existed: the report asks for materialise again
    rather than publishing without the table by local authority."""
    resources = bundle_resources(json.loads(EXAMPLES[0].read_text(encoding="utf-8")))
    result = materialise(_write_export(tmp_path / "export", resources), tmp_path / "old.duckdb")
    assert result.tables["report_counts_by_la"] >= 1
    con = duckdb.connect(str(result.output.database))
    con.execute("DROP TABLE report_counts_by_la")
    con.close()
    old = CliRunner().invoke(main, ["analytics", "report", str(tmp_path / "old.duckdb"), "--format", "json"])
    assert old.exit_code == 2 and "no report_counts_by_la table" in old.output
    assert "materialise' again" in old.output and "Traceback" not in old.output
