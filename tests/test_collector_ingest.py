"""Collector ingest, idempotency, supersession, atomicity, authorisation and pseudonymisation, run against
SQLite and PostgreSQL (``db_url`` in conftest)."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import MetaData, func, select

from conftest import wait_until
from fhir_family.collector import store as store_module
from fhir_family.collector.schema import AuditEvent, ChildFact, StoredResource, Submission
from fhir_family.collector.tokens import issue_token
from fhir_family.mapping.bundle import build_bundle
from fhir_family.mapping.nhs_number import synthetic_nhs_number
from fhir_family.mapping.record import ChildRecord, ReturnRecord


def make_record(n: int = 1, ods: str = "RXA", **overrides) -> ReturnRecord:
    base = ReturnRecord(
        submission_id=f"sub-{ods}-{n}",
        ods_code=ods,
        local_patient_id=f"P{n}",
        nhs_number=synthetic_nhs_number(n),
        birth_date=date(1985, 3, 4),
        gender="female",
        local_authority="E08000025",
        parental_status="all-children-live-with-patient",
        date_asked=date(2026, 10, 3),
        asked_by="care-coordinator",
        status_source="self-report",
        support_offered=("parenting-support",),
        reporting_period_start=date(2026, 10, 1),
        reporting_period_end=date(2026, 10, 31),
        legal_basis="national-direction",
        service_request_id=f"SR{n}",
        team_type="A03",
        episode_start=date(2026, 1, 15),
        children_in_household=2,
        timestamp=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        children=(
            ChildRecord(
                local_id="C1",
                relationship="CHILD",
                birth_date=date(2015, 6, 1),
                pr_held="Y",
                pr_basis=("birth-mother",),
                residence="full-time",
                young_carer="N",
                help=("none",),
                nhs_number=synthetic_nhs_number(100_000 + n),
            ),
            ChildRecord(
                local_id="C2",
                relationship="SON",
                birth_date=date(2019, 2, 2),
                pr_held="Y",
                pr_basis=("birth-mother",),
                residence="part-time",
                young_carer="Y",
                help=("child-protection-plan",),
                nhs_number=synthetic_nhs_number(200_000 + n),
            ),
        ),
    )
    return replace(base, **overrides)


@pytest.fixture
def app(db_url, make_collector):
    return make_collector(db_url)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def collector(app):
    return app.extensions["fhir_family_collector"]


@pytest.fixture
def tokens(collector):
    return {
        "RXA": issue_token(collector.sessions, "provider", "RXA"),
        "RXB": issue_token(collector.sessions, "provider", "RXB"),
        "analyst": issue_token(collector.sessions, "analyst"),
    }


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def post(client, bundle, token, path="/"):
    return client.post(
        path, data=json.dumps(bundle), headers=auth(token), content_type="application/fhir+json"
    )


def count(collector, model) -> int:
    with collector.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def audit_rows(collector) -> list[AuditEvent]:
    """The rows of what requests did (each request's own ``request`` row: test_collector_request_audit)."""
    with collector.sessions() as session:
        query = select(AuditEvent).where(AuditEvent.action != "request").order_by(AuditEvent.id)
        return list(session.scalars(query))


def test_submit_stores_and_answers_a_transaction_response(client, collector, tokens):
    bundle = build_bundle(make_record())
    response = post(client, bundle, tokens["RXA"])
    assert response.status_code == 200, response.get_json()
    assert response.content_type == "application/fhir+json"
    body = response.get_json()
    assert body["resourceType"] == "Bundle" and body["type"] == "transaction-response"
    assert len(body["entry"]) == len(bundle["entry"])
    statuses = [entry["response"]["status"] for entry in body["entry"]]
    assert statuses == ["201 Created"] * len(bundle["entry"])
    types = [entry["response"]["location"].split("/")[0] for entry in body["entry"]]
    assert types == [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    assert count(collector, Submission) == 1
    assert count(collector, ChildFact) == 2
    assert count(collector, StoredResource) == len(bundle["entry"])
    # The location of each entry resolves to the stored, pseudonymised resource.
    patient_location = body["entry"][1]["response"]["location"].removesuffix("/_history/1")
    patient = client.get(f"/{patient_location}", headers=auth(tokens["RXA"])).get_json()
    assert patient["resourceType"] == "Patient"
    assert patient["identifier"][0]["system"].endswith("/Id/nhs-number-pseudonym")
    assert patient["managingOrganization"]["reference"].startswith("Organization/")
    assert (
        client.post(
            "/Bundle",
            data=json.dumps(build_bundle(make_record(2))),
            headers=auth(tokens["RXA"]),
            content_type="application/fhir+json",
        ).status_code
        == 200
    )


def test_resend_of_the_same_submission_is_a_no_op_with_the_same_answer(client, collector, tokens):
    bundle = build_bundle(make_record())
    first = post(client, bundle, tokens["RXA"]).get_json()
    second = post(client, bundle, tokens["RXA"])
    assert second.status_code == 200
    again = second.get_json()
    assert [e["response"]["location"] for e in again["entry"]] == [
        e["response"]["location"] for e in first["entry"]
    ]
    assert {e["response"]["status"] for e in again["entry"]} == {"200 OK"}
    assert count(collector, Submission) == 1
    assert count(collector, ChildFact) == 2


def test_the_same_return_assembled_again_later_is_a_resend_not_a_conflict(client, collector, tokens):
    """The facade stamps Bundle.timestamp with the time it assembles a return: an EHR resending the same
    payload gets a bundle that differs only there, and that is a resend."""
    post(client, build_bundle(make_record()), tokens["RXA"])
    later = build_bundle(make_record(timestamp=datetime(2026, 11, 9, 9, 0, tzinfo=UTC)))
    again = post(client, later, tokens["RXA"])
    assert again.status_code == 200
    assert {e["response"]["status"] for e in again.get_json()["entry"]} == {"200 OK"}
    assert count(collector, Submission) == 1


def test_same_submission_id_with_different_content_is_a_409_conflict(client, collector, tokens):
    post(client, build_bundle(make_record()), tokens["RXA"])
    changed = build_bundle(make_record(parental_status="some-children-live-with-patient"))
    response = post(client, changed, tokens["RXA"])
    assert response.status_code == 409
    outcome = response.get_json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "conflict"
    with collector.sessions() as session:
        stored = session.scalar(select(Submission))
        assert stored.parental_status == "all-children-live-with-patient"
    assert audit_rows(collector)[-1].outcome == 409


def test_new_submission_for_the_same_patient_and_period_supersedes_and_keeps_history(
    client, collector, tokens
):
    post(client, build_bundle(make_record()), tokens["RXA"])
    corrected = make_record(
        submission_id="sub-RXA-1-corrected",
        parental_status="some-children-live-with-patient",
        timestamp=datetime(2026, 11, 3, 9, 0, tzinfo=UTC),
    )
    assert post(client, build_bundle(corrected), tokens["RXA"]).status_code == 200
    with collector.sessions() as session:
        rows = {s.submission_id: s for s in session.scalars(select(Submission))}
    assert rows["sub-RXA-1"].status == "superseded"
    assert rows["sub-RXA-1"].superseded_by == "sub-RXA-1-corrected"
    assert rows["sub-RXA-1-corrected"].status == "current"
    old = client.get("/Bundle/sub-RXA-1", headers=auth(tokens["RXA"]))
    assert old.status_code == 200 and old.headers["X-Submission-Status"] == "superseded"
    # A different period for the same patient is a separate return, not a correction.
    november = make_record(
        submission_id="sub-RXA-1-nov",
        reporting_period_start=date(2026, 11, 1),
        reporting_period_end=date(2026, 11, 30),
    )
    post(client, build_bundle(november), tokens["RXA"])
    with collector.sessions() as session:
        assert session.scalar(select(func.count()).where(Submission.status == "current")) == 2


def test_an_older_return_arriving_late_does_not_replace_the_newer_one(client, collector, tokens):
    newer = make_record(submission_id="newer", timestamp=datetime(2026, 11, 5, tzinfo=UTC))
    older = make_record(submission_id="older", timestamp=datetime(2026, 11, 1, tzinfo=UTC))
    post(client, build_bundle(newer), tokens["RXA"])
    assert post(client, build_bundle(older), tokens["RXA"]).status_code == 200
    with collector.sessions() as session:
        rows = {s.submission_id: (s.status, s.superseded_by) for s in session.scalars(select(Submission))}
    assert rows == {"newer": ("current", None), "older": ("superseded", "newer")}


def test_a_failure_mid_submission_stores_nothing(client, collector, tokens, monkeypatch):
    def explode(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store_module, "_insert_resources", explode)
    response = post(client, build_bundle(make_record()), tokens["RXA"])
    assert response.status_code == 500
    outcome = response.get_json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "disk on fire" not in json.dumps(outcome)  # no internals to the client
    assert count(collector, Submission) == 0
    assert count(collector, ChildFact) == 0  # inserted before the failure, rolled back with it
    assert count(collector, StoredResource) == 0
    monkeypatch.undo()
    assert post(client, build_bundle(make_record()), tokens["RXA"]).status_code == 200


def test_a_provider_cannot_submit_for_another_ods_code(client, collector, tokens):
    response = post(client, build_bundle(make_record(ods="RXA")), tokens["RXB"])
    assert response.status_code == 403
    assert response.get_json()["issue"][0]["code"] == "forbidden"
    assert count(collector, Submission) == 0
    last = audit_rows(collector)[-1]
    assert (last.action, last.outcome, last.target) == ("submit", 403, "sub-RXA-1")
    assert "RXB" in last.actor


def test_a_provider_cannot_read_another_providers_submission(client, collector, tokens):
    body = post(client, build_bundle(make_record()), tokens["RXA"]).get_json()
    assert client.get("/Bundle/sub-RXA-1", headers=auth(tokens["RXA"])).status_code == 200
    response = client.get("/Bundle/sub-RXA-1", headers=auth(tokens["RXB"]))
    # 404 as for an id never used (was 403, which confirmed the id exists): submission ids are per provider
    assert response.status_code == 404
    assert response.get_json()["resourceType"] == "OperationOutcome"
    last = audit_rows(collector)[-1]
    assert (last.action, last.outcome, last.target) == ("read-submission", 404, "sub-RXA-1")
    location = body["entry"][1]["response"]["location"]
    assert client.get(f"/{location}", headers=auth(tokens["RXB"])).status_code == 404
    assert client.get("/Bundle", headers=auth(tokens["RXB"])).get_json()["total"] == 0
    assert client.get("/Bundle", headers=auth(tokens["RXA"])).get_json()["total"] == 1
    assert client.get("/Bundle/sub-RXA-1", headers=auth(tokens["analyst"])).status_code == 403


@pytest.mark.parametrize(
    ("path", "action"),
    [("/Bundle/no-such-submission", "read-submission"), ("/Patient/no-such-id", "read-resource")],
)
def test_reading_what_does_not_exist_is_an_audited_404(client, collector, tokens, path, action):
    response = client.get(path, headers=auth(tokens["RXA"]))
    assert response.status_code == 404
    [issue] = response.get_json()["issue"]
    assert (issue["code"], issue["details"]["coding"][0]["code"]) == ("not-found", "FF-COLLECTOR-NOT-FOUND")
    last = audit_rows(collector)[-1]
    assert (last.action, last.outcome) == (action, 404)


@pytest.mark.parametrize(
    ("headers", "message_id"),
    [({}, "FF-COLLECTOR-NO-TOKEN"), ({"Authorization": "Bearer nope"}, "FF-COLLECTOR-BAD-TOKEN")],
)
def test_missing_or_unknown_token_is_401_and_audited(client, collector, tokens, headers, message_id):
    response = client.post("/", data=json.dumps(build_bundle(make_record())), headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["issue"][0]["details"]["coding"][0]["code"] == message_id
    last = audit_rows(collector)[-1]
    assert (last.actor, last.outcome) == ("anonymous", 401)
    assert count(collector, Submission) == 0


def test_an_analyst_token_cannot_submit(client, collector, tokens):
    response = post(client, build_bundle(make_record()), tokens["analyst"])
    assert response.status_code == 403
    assert audit_rows(collector)[-1].outcome == 403


def test_a_non_conformant_bundle_is_422_with_the_validators_outcome(client, collector, tokens):
    bundle = build_bundle(make_record())
    bundle["entry"][1]["resource"]["identifier"][0]["value"] = "9990000001"  # bad check digit
    response = post(client, bundle, tokens["RXA"])
    assert response.status_code == 422
    outcome = response.get_json()
    assert any(issue["severity"] == "error" for issue in outcome["issue"])
    assert count(collector, Submission) == 0
    assert audit_rows(collector)[-1].outcome == 422


DEEPLY_NESTED = b'{"resourceType": "Bundle", "entry": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b'{"resourceType": "Patient"}', b"\xff\xfe", DEEPLY_NESTED],
    ids=["truncated", "array", "wrong-type", "not-utf8", "nested-too-deep"],
)
def test_bad_bodies_are_4xx_operation_outcomes(client, tokens, body):
    response = client.post("/", data=body, headers=auth(tokens["RXA"]))
    assert 400 <= response.status_code < 500
    assert response.get_json()["resourceType"] == "OperationOutcome"


def _all_stored_text(collector) -> str:
    """Every value of every column of every table, as text."""
    metadata = MetaData()
    metadata.reflect(collector.engine)
    chunks: list[str] = []
    with collector.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(table.select()):
                chunks.extend(str(value) for value in row)
    return "\n".join(chunks)


def test_no_raw_nhs_number_is_stored_anywhere(client, collector, tokens):
    records = [make_record(n) for n in range(1, 6)]
    for record in records:
        assert post(client, build_bundle(record), tokens["RXA"]).status_code == 200
    rejected = build_bundle(make_record(9))
    rejected["type"] = "batch"  # rejected by validation: its outcome and audit row must not leak either
    post(client, rejected, tokens["RXA"])
    post(client, build_bundle(make_record(10, ods="RXA")), tokens["RXB"])  # refused: audited
    # A bulk import whose failing line quotes a (wrong) NHS number in the validator's diagnostics.
    wrong = build_bundle(make_record(11))
    wrong["entry"][1]["resource"]["identifier"][0]["value"] = "9990000001"
    started = client.post("/$import", data=json.dumps(wrong), headers=auth(tokens["RXA"]))
    status_path = "/" + started.headers["Content-Location"].split("://", 1)[1].split("/", 1)[1]
    wait_until(lambda: client.get(status_path, headers=auth(tokens["RXA"])).status_code == 200)
    numbers = {r.nhs_number for r in [*records, make_record(9), make_record(10), make_record(11)]}
    numbers |= {c.nhs_number for r in [*records, make_record(11)] for c in r.children if c.nhs_number}
    numbers.add("9990000001")
    assert len(numbers) == 21
    stored = _all_stored_text(collector)
    leaked = sorted(n for n in numbers if n in stored)
    assert leaked == []
    # ... while the pseudonyms are there, so the check is looking at real data.
    assert collector.pseudonymiser.pseudonym(records[0].nhs_number) in stored


def test_concurrent_submissions_lose_nothing_and_duplicate_nothing(app, collector, tokens):
    """Three providers send in parallel; every bundle is sent twice (a resend racing the original) and some
    patients get a corrected return racing the first."""
    bundles = []
    for ods in ("RXA", "RXB"):
        for n in range(1, 9):
            bundles.append((ods, build_bundle(make_record(n, ods=ods, submission_id=f"{ods}-{n}"))))
    corrections = [
        (
            "RXA",
            build_bundle(
                make_record(
                    n, ods="RXA", submission_id=f"RXA-{n}-fix", timestamp=datetime(2026, 11, 9, tzinfo=UTC)
                )
            ),
        )
        for n in (1, 2, 3)
    ]
    work = bundles + bundles + corrections
    results: list[int] = []
    lock = threading.Lock()

    def send(items):
        client = app.test_client()
        for ods, bundle in items:
            status = post(client, bundle, tokens[ods]).status_code
            with lock:
                results.append(status)

    threads = [threading.Thread(target=send, args=(work[i::6],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(200) == len(work), results
    with collector.sessions() as session:
        rows = {s.submission_id: s.status for s in session.scalars(select(Submission))}
    assert len(rows) == len(bundles) + len(corrections)
    assert sum(1 for status in rows.values() if status == "current") == len(bundles)
    assert {rows[f"RXA-{n}"] for n in (1, 2, 3)} == {"superseded"}
    assert count(collector, ChildFact) == 2 * len(rows)


def test_search_is_limited_to_the_providers_own_returns(client, tokens):
    for n in range(1, 4):
        post(client, build_bundle(make_record(n)), tokens["RXA"])
    post(client, build_bundle(make_record(1, ods="RXB")), tokens["RXB"])
    found = client.get("/Bundle?_count=2", headers=auth(tokens["RXA"])).get_json()
    assert found["type"] == "searchset" and found["total"] == 3 and len(found["entry"]) == 2
    assert found["link"][0]["relation"] == "next"
    one = client.get(
        "/Bundle?identifier=https://fhir-family.uk/fhir/Id/submission|sub-RXA-2", headers=auth(tokens["RXA"])
    ).get_json()
    assert [e["resource"]["identifier"]["value"] for e in one["entry"]] == ["sub-RXA-2"]
    assert client.get("/Bundle?reporting-month=2026-09", headers=auth(tokens["RXA"])).get_json()["total"] == 0


def test_restart_on_an_existing_database_keeps_data(db_url, make_collector, tokens, client):
    post(client, build_bundle(make_record()), tokens["RXA"])
    again = make_collector(db_url)
    response = again.test_client().get("/Bundle/sub-RXA-1", headers=auth(tokens["RXA"]))
    assert response.status_code == 200


def test_storage_contention_that_outlasts_the_retries_is_503_and_stores_nothing(
    client, collector, tokens, monkeypatch
):
    from sqlalchemy.exc import IntegrityError

    calls = []

    def always_racing(*_args, **_kwargs):
        calls.append(1)
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    monkeypatch.setattr(store_module.SubmissionStore, "_store_once", always_racing)
    response = post(client, build_bundle(make_record()), tokens["RXA"])
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert response.get_json()["issue"][0]["code"] == "transient"
    assert len(calls) == store_module.MAX_ATTEMPTS
    assert count(collector, Submission) == 0


def test_the_base_url_and_metadata_answer_without_a_token(client):
    index = client.get("/")
    assert index.status_code == 200 and "reports/monthly" in index.get_json()["report"]["href"]
    browser = client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert browser.mimetype == "text/html"
    for href in ("reports/monthly?format=html", "metadata", "health", "/ig/"):
        assert href in browser.get_data(as_text=True)
    metadata = client.get("/metadata").get_json()
    assert metadata["resourceType"] == "CapabilityStatement" and metadata["fhirVersion"] == "4.0.1"
    assert client.delete("/").get_json()["resourceType"] == "OperationOutcome"  # 405 as an OperationOutcome
