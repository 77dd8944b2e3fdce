"""Bulk ``$import`` of NDJSON bundles: 202 + status URL, per-line outcomes, progress, ownership."""

from __future__ import annotations

import json
import threading
from dataclasses import replace

import pytest

from conftest import wait_until
from fhir_family.collector.service import Collector
from fhir_family.collector.synthetic import synthetic_month
from fhir_family.collector.tokens import issue_token
from fhir_family.mapping.bundle import build_bundle


@pytest.fixture
def setup(db_url, make_collector):
    app = make_collector(db_url)
    collector = app.extensions["fhir_family_collector"]
    tokens = {ods: issue_token(collector.sessions, "provider", ods) for ods in ("RXA", "RXB")}
    tokens["analyst"] = issue_token(collector.sessions, "analyst")
    return app, collector, tokens


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def wait_done(client, url: str, token: str) -> dict:
    def finished() -> dict | None:
        response = client.get(url, headers=auth(token))
        assert response.status_code in (200, 202)
        return response.get_json() if response.status_code == 200 else None

    return wait_until(finished, timeout=120)


def test_import_reports_an_outcome_per_line(setup):
    app, collector, tokens = setup
    records = [r for r in synthetic_month(patients_per_provider=4) if r.ods_code in ("RXA", "RXB")]
    rxa = [json.dumps(build_bundle(r)) for r in records if r.ods_code == "RXA"]
    rxb = json.dumps(build_bundle(next(r for r in records if r.ods_code == "RXB")))
    invalid = build_bundle(records[0])
    invalid["identifier"]["value"] = "broken-1"
    invalid["type"] = "batch"
    lines = [rxa[0], rxa[1], "{not json", "", json.dumps(invalid), rxb, rxa[2], rxa[0]]
    client = app.test_client()
    started = client.post(
        "/$import", data="\n".join(lines), headers=auth(tokens["RXA"]), content_type="application/fhir+ndjson"
    )
    assert started.status_code == 202
    status_url = started.headers["Content-Location"]
    assert "/$import-status/" in status_url
    path = status_url.split("://", 1)[1].split("/", 1)[1]
    result = wait_done(client, f"/{path}", tokens["RXA"])
    assert result["summary"] == {"lines": 7, "accepted": 4, "rejected": 3}
    by_line = {item["line"]: item for item in result["outcomes"]}
    assert sorted(by_line) == [1, 2, 3, 5, 6, 7, 8]  # the blank line 4 is not an item
    assert [by_line[n]["status"] for n in (1, 2, 3, 5, 6, 7, 8)] == [201, 201, 400, 422, 403, 201, 200]
    assert by_line[5]["submissionId"] == "broken-1"
    assert by_line[5]["outcome"]["resourceType"] == "OperationOutcome"
    assert "line 3" in by_line[3]["outcome"]["issue"][0]["diagnostics"].lower()
    found = client.get("/Bundle", headers=auth(tokens["RXA"])).get_json()
    assert found["total"] == 3
    # Another provider cannot read the job; the owner can, repeatedly.
    assert client.get(f"/{path}", headers=auth(tokens["RXB"])).status_code == 403
    assert client.get(f"/{path}", headers=auth(tokens["RXA"])).status_code == 200


def test_import_status_is_202_with_progress_while_running(setup, monkeypatch):
    app, collector, tokens = setup
    release = threading.Event()
    original = Collector.prepare

    def slow_prepare(self, bundle, principal):
        release.wait(30)
        return original(self, bundle, principal)

    monkeypatch.setattr(Collector, "prepare", slow_prepare)
    record = next(r for r in synthetic_month(patients_per_provider=1) if r.ods_code == "RXA")
    client = app.test_client()
    started = client.post("/$import", data=json.dumps(build_bundle(record)), headers=auth(tokens["RXA"]))
    path = "/" + started.headers["Content-Location"].split("://", 1)[1].split("/", 1)[1]
    running = client.get(path, headers=auth(tokens["RXA"]))
    assert running.status_code == 202
    assert running.headers["X-Progress"] == "0 of 1 lines"
    release.set()
    assert wait_done(client, path, tokens["RXA"])["summary"]["accepted"] == 1


@pytest.mark.parametrize(
    ("who", "body", "status"),
    [("RXA", "", 400), ("RXA", "\n\n", 400), ("analyst", "{}", 403), (None, "{}", 401)],
)
def test_import_refusals(setup, who, body, status):
    app, _collector, tokens = setup
    headers = auth(tokens[who]) if who else {}
    response = app.test_client().post("/$import", data=body, headers=headers)
    assert response.status_code == status
    assert response.get_json()["resourceType"] == "OperationOutcome"


def test_unknown_import_job_is_an_audited_404_like_the_other_reads(setup):
    from sqlalchemy import select

    from fhir_family.collector.schema import AuditEvent

    app, collector, tokens = setup
    response = app.test_client().get("/$import-status/nope", headers=auth(tokens["RXA"]))
    assert response.status_code == 404
    [issue] = response.get_json()["issue"]
    assert (issue["code"], issue["details"]["coding"][0]["code"]) == ("not-found", "FF-COLLECTOR-NOT-FOUND")
    with collector.sessions() as session:
        query = select(AuditEvent).where(AuditEvent.action != "request").order_by(AuditEvent.id.desc())
        last = session.scalars(query).first()
    assert (last.action, last.target, last.outcome) == ("import-status", "nope", 404)


def test_a_line_that_is_not_utf8_fails_alone_and_the_spooled_body_is_deleted(setup):
    import tempfile
    from pathlib import Path

    app, _collector, tokens = setup
    before = set(Path(tempfile.gettempdir()).glob("ff-import-*"))
    records = [r for r in synthetic_month(patients_per_provider=2) if r.ods_code == "RXA"]
    body = b"\n".join(
        [
            json.dumps(build_bundle(records[0])).encode(),
            b"\xff\xfe not text",
            json.dumps(build_bundle(records[1])).encode(),
        ]
    )
    client = app.test_client()
    started = client.post("/$import", data=body, headers=auth(tokens["RXA"]))
    assert started.status_code == 202
    path = "/" + started.headers["Content-Location"].split("://", 1)[1].split("/", 1)[1]
    result = wait_done(client, path, tokens["RXA"])
    assert [(o["line"], o["status"]) for o in result["outcomes"]] == [(1, 201), (2, 400), (3, 201)]
    assert "UTF-8" in result["outcomes"][1]["outcome"]["issue"][0]["diagnostics"]
    assert set(Path(tempfile.gettempdir()).glob("ff-import-*")) == before


def test_a_batch_keeps_each_line_atomic_alone_and_stores_outcomes_as_rows(setup, monkeypatch):
    """Lines share one transaction (a savepoint each): a line failing half-way through its inserts leaves
    nothing of itself, its neighbours are stored, a conflicting resend fails alone, and the outcomes are rows
    of import_outcomes, not one document held in memory."""
    from sqlalchemy import func, select

    from fhir_family.collector import store as store_module
    from fhir_family.collector.schema import ChildFact, ImportOutcome, StoredResource, Submission

    app, collector, tokens = setup
    records = [r for r in synthetic_month(patients_per_provider=5) if r.ods_code == "RXA"]
    bundles = [build_bundle(r) for r in records]
    conflicting = json.loads(json.dumps(bundles[0]))
    # different content under the same id (a timestamp alone would be the same return assembled again)
    patient = next(e["resource"] for e in conflicting["entry"] if e["resource"]["resourceType"] == "Patient")
    patient["gender"] = "male" if patient["gender"] != "male" else "female"
    original = store_module.resource_values

    def explode_on_third(prepared):
        # the resources' rows, made after the submission and its children are inserted (one by one) or
        # before anything is (the batch's plainly new returns): a failure there fails this line alone
        if prepared.facts.submission_id == bundles[2]["identifier"]["value"]:
            raise RuntimeError("disk on fire")
        return original(prepared)

    monkeypatch.setattr(store_module, "resource_values", explode_on_third)
    lines = [json.dumps(b) for b in bundles] + [json.dumps(conflicting)]
    client = app.test_client()
    started = client.post("/$import", data="\n".join(lines), headers=auth(tokens["RXA"]))
    path = "/" + started.headers["Content-Location"].split("://", 1)[1].split("/", 1)[1]
    result = wait_done(client, path, tokens["RXA"])
    assert [o["status"] for o in result["outcomes"]] == [201, 201, 500, 201, 201, 409]
    assert "disk on fire" not in json.dumps(result)
    assert result["summary"] == {"lines": 6, "accepted": 4, "rejected": 2}
    with collector.sessions() as session:
        stored = set(session.scalars(select(Submission.submission_id)))
        children = session.scalar(select(func.count()).select_from(ChildFact))
        resources = session.scalar(select(func.count()).select_from(StoredResource))
        orphans = session.scalar(
            select(func.count()).select_from(ChildFact).where(~ChildFact.submission_pk.in_(select(Submission.id)))
        )
        rows = session.scalar(select(func.count()).select_from(ImportOutcome))
    assert stored == {bundles[i]["identifier"]["value"] for i in (0, 1, 3, 4)}
    assert orphans == 0 and children > 0 and resources > 0
    assert rows == 6


def test_a_job_larger_than_a_batch_reports_every_line_in_order(setup, monkeypatch):
    from fhir_family.collector import bulk

    monkeypatch.setattr(bulk, "BATCH_LINES", 3)
    app, _collector, tokens = setup
    records = [r for r in synthetic_month(patients_per_provider=8) if r.ods_code == "RXA"]
    lines = [json.dumps(build_bundle(r)) for r in records] + ["{broken"]
    client = app.test_client()
    started = client.post("/$import", data="\n".join(lines), headers=auth(tokens["RXA"]))
    path = "/" + started.headers["Content-Location"].split("://", 1)[1].split("/", 1)[1]
    result = wait_done(client, path, tokens["RXA"])
    assert [o["line"] for o in result["outcomes"]] == list(range(1, len(lines) + 1))
    assert [o["status"] for o in result["outcomes"]] == [201] * len(records) + [400]


def test_a_whole_month_fits_one_import_by_default(setup):
    app, _collector, _tokens = setup
    month_of_returns = 1_000_000 * 4_700  # ~4.7 KB of NDJSON per return
    assert app.config["MAX_CONTENT_LENGTH"] > month_of_returns


def _mixed_lines(records):
    rxa = [json.dumps(build_bundle(r)) for r in records if r.ods_code == "RXA"]
    rxb = json.dumps(build_bundle(next(r for r in records if r.ods_code == "RXB")))
    invalid = build_bundle(records[0])
    invalid["identifier"]["value"] = "broken-1"
    invalid["type"] = "batch"
    return [rxa[0], rxa[1], "{not json", "", json.dumps(invalid), rxb, rxa[2], rxa[0]]


def _audit_rows(collector):
    from sqlalchemy import select

    from fhir_family.collector.schema import AuditEvent

    with collector.sessions() as session:
        rows = session.execute(
            select(AuditEvent.action, AuditEvent.target, AuditEvent.outcome)
            .where(AuditEvent.action == "submit")
        ).all()
    return sorted((row.action, row.target or "", row.outcome) for row in rows)


@pytest.mark.parametrize("processes", [0, 2])
def test_lines_checked_in_worker_processes_give_the_same_outcomes_and_audit(setup, monkeypatch, processes):
    """The pool path (a large job's lines checked in forked workers, stored by the job's thread) answers
    every line as the in-thread path does and audits the same refusals, the workers' ones included."""
    from fhir_family.collector import bulk

    monkeypatch.setattr(bulk, "POOL_MIN_LINES", 1)
    monkeypatch.setattr(bulk, "BATCH_LINES", 3)  # several batches, so storing overlaps checking
    app, collector, tokens = setup
    monkeypatch.setattr(collector, "settings", replace(collector.settings, import_processes=processes))
    records = [r for r in synthetic_month(patients_per_provider=4) if r.ods_code in ("RXA", "RXB")]
    client = app.test_client()
    started = client.post("/$import", data="\n".join(_mixed_lines(records)), headers=auth(tokens["RXA"]))
    path = "/" + started.headers["Content-Location"].split("://", 1)[1].split("/", 1)[1]
    result = wait_done(client, path, tokens["RXA"])
    assert result["summary"] == {"lines": 7, "accepted": 4, "rejected": 3}
    assert [(o["line"], o["status"]) for o in result["outcomes"]] == [
        (1, 201), (2, 201), (3, 400), (5, 422), (6, 403), (7, 201), (8, 200)
    ]
    assert result["outcomes"][3]["outcome"]["resourceType"] == "OperationOutcome"
    rxb = json.loads(_mixed_lines(records)[5])["identifier"]["value"]
    audited = _audit_rows(collector)
    assert ("submit", "broken-1", 422) in audited and ("submit", rxb, 403) in audited
    assert [outcome for _a, _t, outcome in audited].count(201) == 3


def test_a_large_job_is_checked_in_other_processes(setup, monkeypatch, tmp_path):
    """Both cores: the lines of a job past POOL_MIN_LINES are checked in forked worker processes (seen by
    the pid each check ran in), and every one is stored once."""
    import os

    from fhir_family.collector import bulk
    from fhir_family.collector.service import Collector

    monkeypatch.setattr(bulk, "POOL_MIN_LINES", 5)
    app, collector, tokens = setup
    monkeypatch.setattr(collector, "settings", replace(collector.settings, import_processes=2))
    seen = tmp_path / "pids"
    original = Collector.check

    def recording_check(self, bundle, principal):
        with seen.open("a") as out:
            out.write(f"{os.getpid()}\n")
        return original(self, bundle, principal)

    monkeypatch.setattr(Collector, "check", recording_check)
    records = [r for r in synthetic_month(patients_per_provider=30) if r.ods_code == "RXA"]
    client = app.test_client()
    body = "\n".join(json.dumps(build_bundle(r)) for r in records)
    started = client.post("/$import", data=body, headers=auth(tokens["RXA"]))
    path = "/" + started.headers["Content-Location"].split("://", 1)[1].split("/", 1)[1]
    result = wait_done(client, path, tokens["RXA"])
    assert result["summary"]["accepted"] == len(records)
    pids = seen.read_text().split()
    assert len(pids) == len(records)
    assert str(os.getpid()) not in pids and len(set(pids)) >= 1
