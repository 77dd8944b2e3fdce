"""The collector's command line: collector add-token, report, export, submit (to a real HTTP collector)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhir_family.cli import main
from fhir_family.collector.synthetic import synthetic_month
from fhir_family.collector.tokens import authenticate, issue_token
from fhir_family.mapping.bundle import build_bundle


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="module")
def loaded_template(tmp_path_factory, make_collector):
    """A collector database on SQLite with one synthetic month (3 providers x 30 patients), loaded once."""
    path = tmp_path_factory.mktemp("loaded") / "collector.sqlite"
    app = make_collector(f"sqlite:///{path}")
    collector = app.extensions["fhir_family_collector"]
    tokens = {
        ods: issue_token(collector.sessions, "provider", ods) for ods in ("RXA", "RXB", "RXC", "XFF01", "RX4")
    }
    client = app.test_client()
    records = list(synthetic_month(patients_per_provider=30))
    for record in records:
        bundle = build_bundle(record)
        response = client.post(
            "/", json=bundle, headers={"Authorization": f"Bearer {tokens[record.ods_code]}"}
        )
        assert response.status_code == 200, response.get_json()
    collector.engine.dispose()  # the last connection closed: the WAL is folded into the database file
    return path, tokens, records


@pytest.fixture
def loaded_app(tmp_path, loaded_template, make_collector):
    """A collector over this test's own copy of the loaded database (tests may change it)."""
    import shutil

    template, tokens, records = loaded_template
    copy = tmp_path / "collector.sqlite"
    shutil.copyfile(template, copy)
    db = f"sqlite:///{copy}"
    return make_collector(db), db, tokens, records


def test_add_token_prints_a_working_token_once(runner, tmp_path):
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    result = runner.invoke(main, ["collector", "add-token", "--ods", "RXA", "--db", db])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    from fhir_family.collector.database import make_engine, session_factory

    principal = authenticate(session_factory(make_engine(db)), token)
    assert (principal.role, principal.ods_code) == ("provider", "RXA")
    assert token not in (tmp_path / "c.sqlite").read_bytes().decode("latin-1")  # stored hashed only
    analyst = runner.invoke(main, ["collector", "add-token", "--role", "analyst", "--db", db])
    assert analyst.exit_code == 0 and analyst.output.startswith("ffc_")


@pytest.mark.parametrize("args", [["--ods", "not an ods"], ["--role", "analyst", "--ods", "RXA"], []])
def test_add_token_refuses_bad_requests_in_one_line(runner, tmp_path, args):
    result = runner.invoke(
        main, ["collector", "add-token", "--db", f"sqlite:///{tmp_path / 'c.sqlite'}", *args]
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_collector_refuses_query_tokens_off_loopback_and_runs_without_a_key(runner, tmp_path, monkeypatch):
    monkeypatch.delenv("FHIR_FAMILY_PSEUDONYM_KEY", raising=False)
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    result = runner.invoke(main, ["collector", "--host", "0.0.0.0", "--allow-query-token", "--db", db])
    assert result.exit_code == 2 and "loopback" in result.output
    result = runner.invoke(main, ["collector", "--db", db, "--key-file", str(tmp_path / "missing.key")])
    assert result.exit_code == 2 and "pseudonymisation key" in result.output


def test_report_formats(runner, loaded_app):
    _app, db, _tokens, records = loaded_app
    table = runner.invoke(main, ["report", "--db", db])
    assert table.exit_code == 0, table.output
    assert "RXA" in table.output and "ALL" in table.output and "suppressed" in table.output
    as_json = json.loads(runner.invoke(main, ["report", "--db", db, "--format", "json"]).output)
    national = next(row for row in as_json["rows"] if row["ods"] == "ALL")
    assert national["returns"] == 90  # 90 returns, a multiple of 5, published as is
    csv_text = runner.invoke(main, ["report", "--db", db, "--format", "csv", "--ods", "RXB"]).output
    assert csv_text.splitlines()[0].startswith("ods,month,returns,parents")
    assert [line.split(",")[0] for line in csv_text.splitlines()[1:]] == ["RXB"]


def test_export_writes_bulk_data_ndjson_and_a_manifest(runner, loaded_app, tmp_path):
    _app, db, _tokens, records = loaded_app
    out = tmp_path / "export"
    result = runner.invoke(main, ["export", "--out", str(out), "--db", db])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest) >= {"transactionTime", "request", "requiresAccessToken", "output"}
    counts = {item["type"]: item["count"] for item in manifest["output"]}
    assert counts["Patient"] == len(records)
    assert counts["RelatedPerson"] == sum(len(r.children) for r in records)
    raw_numbers = {r.nhs_number for r in records} | {
        c.nhs_number for r in records for c in r.children if c.nhs_number
    }
    for item in manifest["output"]:
        path = Path(item["url"].removeprefix("file://"))
        lines = path.read_text().splitlines()
        assert len(lines) == item["count"]
        ids = set()
        for line in lines:
            resource = json.loads(line)  # one complete resource per line
            assert resource["resourceType"] == item["type"] and resource["id"] not in ids
            ids.add(resource["id"])
        text = path.read_text()
        assert not any(number in text for number in raw_numbers)
    patient = json.loads((out / "Patient.ndjson").read_text().splitlines()[0])
    assert patient["managingOrganization"]["reference"].startswith("Organization/")


@pytest.fixture
def served(loaded_app, serve):
    app, db, tokens, records = loaded_app
    with serve(app) as url:
        yield url, tokens


def test_submit_sends_every_example_bundle(runner, served, examples_dir):
    url, tokens = served
    files = sorted(str(p) for p in (examples_dir / "bundles").glob("*.json"))
    result = runner.invoke(main, ["submit", *files, "--to", url, "--token", tokens["XFF01"]])
    assert result.exit_code == 0, result.output
    assert f"{len(files)} accepted, 0 rejected" in result.output
    again = runner.invoke(main, ["submit", *files, "--to", url], env={"FHIR_FAMILY_TOKEN": tokens["XFF01"]})
    assert again.exit_code == 0 and f"{len(files)} accepted" in again.output  # resends are no-ops


def test_submit_reports_rejections_and_exits_1(runner, served, examples_dir):
    url, tokens = served
    good = examples_dir / "bundles" / "young-carer-daughter.json"
    bad = examples_dir / "invalid" / "child-missing-birthdate.json"
    result = runner.invoke(main, ["submit", str(good), str(bad), "--to", url, "--token", tokens["XFF01"]])
    assert result.exit_code == 1
    assert "1 accepted, 1 rejected" in result.output
    assert f"{bad}: rejected (HTTP 422, not sent)" in result.output
    wrong_provider = runner.invoke(main, ["submit", str(good), "--to", url, "--token", tokens["RXA"]])
    assert wrong_provider.exit_code == 1 and "rejected (HTTP 403)" in wrong_provider.output


def test_submit_maps_ehr_payloads_and_ndjson_of_bundles(runner, served, examples_dir, tmp_path):
    url, tokens = served
    ndjson = tmp_path / "bundles.ndjson"
    bundles = [json.loads(p.read_text()) for p in sorted((examples_dir / "bundles").glob("*.json"))[:3]]
    ndjson.write_text("\n".join(json.dumps(b) for b in bundles) + "\n")
    result = runner.invoke(main, ["submit", str(ndjson), "--to", url, "--token", tokens["XFF01"]])
    assert result.exit_code == 0 and "3 accepted" in result.output, result.output
    payload = examples_dir / "ehr" / "json" / "mother-two-children.json"
    ods = json.loads(payload.read_text())["provider"]["odsCode"]
    result = runner.invoke(main, ["submit", str(payload), "--to", url, "--token", tokens[ods]])
    assert result.exit_code == 0 and "1 accepted, 0 rejected" in result.output, result.output


def test_submit_to_an_unreachable_collector_exits_2(runner, examples_dir):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    good = examples_dir / "bundles" / "young-carer-daughter.json"
    result = runner.invoke(main, ["submit", str(good), "--to", f"http://127.0.0.1:{port}", "--retries", "0"])
    assert result.exit_code == 2
    assert "Could not reach the collector" in result.output


def test_submit_with_a_missing_file_exits_2(runner, served, tmp_path):
    url, tokens = served
    result = runner.invoke(
        main, ["submit", str(tmp_path / "nope.json"), "--to", url, "--token", tokens["RXA"]]
    )
    assert result.exit_code == 2 and "cannot read" in result.output


def test_tokens_can_be_listed_and_revoked(runner, tmp_path):
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    token = runner.invoke(main, ["collector", "add-token", "--ods", "RXA", "--db", db]).output.strip()
    listing = runner.invoke(main, ["collector", "list-tokens", "--db", db]).output
    assert "provider" in listing and "RXA" in listing and "active" in listing and token not in listing
    token_id = listing.split()[0]
    assert runner.invoke(main, ["collector", "revoke-token", token_id, "--db", db]).exit_code == 0
    from fhir_family.collector.database import make_engine, session_factory

    assert authenticate(session_factory(make_engine(db)), token) is None
    again = runner.invoke(main, ["collector", "revoke-token", token_id, "--db", db])
    assert again.exit_code == 2 and "no active token" in again.output


def test_an_oversized_bundle_is_413(loaded_app):
    app, _db, tokens, _records = loaded_app
    response = app.test_client().post(
        "/", data=b" " * (6 * 1024 * 1024), headers={"Authorization": f"Bearer {tokens['RXA']}"}
    )
    assert response.status_code == 413
    assert response.get_json()["resourceType"] == "OperationOutcome"
