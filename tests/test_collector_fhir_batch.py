"""``fhir_batch``: a batch's plainly new returns applied to the FHIR store in a few multi-row statements leave
exactly the rows (resources, versions, identifier tokens) and answers that ``apply_transaction`` one return at
a time leaves, and everything else (an update of a stored or batch-created patient, a return depending on one
left to the one-by-one path) goes that path, in input order. On SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select

from conftest import _postgres_schema_url
from fhir_family.collector import fhir_batch, fhir_transaction
from fhir_family.collector.batch_store import store_batch
from fhir_family.collector.fhir_store import IDENTIFIERS, RESOURCES, VERSIONS
from fhir_family.collector.synthetic import synthetic_month
from fhir_family.collector.tokens import authenticate, issue_token
from fhir_family.mapping.bundle import build_bundle

NOW = datetime(2026, 11, 3, 9, 30, 0, 123000, tzinfo=UTC)
PERIOD = "https://fhir-family.uk/fhir/StructureDefinition/reporting-period"


def _later(bundle: dict, new_id: str) -> dict:
    """A correction: a new submission id for the same patient and period, sent an hour later."""
    corrected = copy.deepcopy(bundle)
    corrected["identifier"]["value"] = new_id
    stamp = datetime.fromisoformat(corrected["timestamp"].replace("Z", "+00:00")) + timedelta(hours=1)
    corrected["timestamp"] = stamp.isoformat()
    return corrected


def _next_month(bundle: dict) -> dict:
    """The same patient's return for November: its conditional updates match the October resources."""
    later = copy.deepcopy(bundle)
    later["identifier"]["value"] += "-nov"
    for extension in later["meta"]["extension"]:
        if extension["url"] == PERIOD:
            extension["valuePeriod"] = {"start": "2026-11-01", "end": "2026-11-30"}
    later["timestamp"] = "2026-11-30T18:00:00Z"
    patient = next(e["resource"] for e in later["entry"] if e["resource"]["resourceType"] == "Patient")
    patient["gender"] = "male" if patient.get("gender") != "male" else "female"  # a real change: a version 2
    return later


@pytest.fixture
def setting(db_url, make_collector, monkeypatch):
    collector = make_collector(db_url).extensions["fhir_family_collector"]
    principal = authenticate(collector.sessions, issue_token(collector.sessions, "provider", "RXA"))
    bundles = [build_bundle(r) for r in synthetic_month(patients_per_provider=10) if r.ods_code == "RXA"]
    counter = iter(range(10**6))
    monkeypatch.setattr(fhir_transaction, "new_id", lambda: f"id-{next(counter):06d}")
    monkeypatch.setattr(fhir_transaction, "current_time", lambda: NOW)
    return collector, principal, bundles


def _mixed_batch(bundles: list[dict]) -> tuple[list[dict], list[int]]:
    """A batch mixing plainly new returns with every reason to go one by one; and which are plainly new."""
    batch = [
        bundles[3],  # new: batched
        _next_month(bundles[0]),  # updates a stored patient: one by one
        bundles[4],  # new: batched
        bundles[5],  # shares its patient and period with the next line: one by one (batch_store)
        _later(bundles[5], "correction-5"),  # ... and so does this one
        _next_month(bundles[5]),  # its patient is written by the two above, first: one by one, after them
        bundles[6],  # new: batched
        _next_month(bundles[6]),  # updates the patient the line above creates: one by one
        bundles[7],  # new: batched
    ]
    return batch, [0, 2, 6, 8]


def _run(collector, principal, bundles, batched: bool, monkeypatch):
    planned: list[list[int]] = []
    real = fhir_batch.plan_batch

    def spy(connection, returns):
        plan = real(connection, returns) if batched else fhir_batch.BatchPlan(now=NOW)
        planned.append(sorted(plan.responses))
        return plan

    monkeypatch.setattr(fhir_batch, "plan_batch", spy)
    prepare = collector.prepare
    collector.store.store_many([(prepare(b, principal), principal) for b in bundles[:3]])
    batch, _new = _mixed_batch(bundles)
    planned.clear()
    results = store_batch(collector.store, [(prepare(b, principal), principal) for b in batch])
    return results, planned


def _tables(collector) -> tuple[list, list, list, dict[str, str]]:
    """The FHIR store's rows with server ids replaced by a name from the resource's identifiers (the ids are
    assigned in another order when returns are batched), so two stores can be compared row for row."""
    with collector.engine.connect() as connection:
        resources = connection.execute(select(RESOURCES)).all()
        versions = connection.execute(select(VERSIONS)).all()
        tokens = connection.execute(select(IDENTIFIERS)).all()
    by_pk: dict[int, list[str]] = {}
    for token in tokens:
        by_pk.setdefault(token.resource_pk, []).append(f"{token.system}|{token.value}")
    names = {row.id: f"{row.resource_type}[{','.join(sorted(by_pk.get(row.id, [])))}]" for row in resources}
    ids = {row.resource_id: names[row.id] for row in resources}

    def named(text: str) -> str:
        for resource_id, name in ids.items():
            text = text.replace(resource_id, name)
        return text

    resource_rows = sorted(
        (names[r.id], r.version_id, r.ods_code, named(r.body), r.last_updated.replace(tzinfo=None))
        for r in resources
    )
    version_rows = sorted(
        (names[v.resource_pk], v.version_id, named(v.body), v.last_updated.replace(tzinfo=None))
        for v in versions
    )
    token_rows = sorted((names[t.resource_pk], t.resource_type, t.system, t.value) for t in tokens)
    return resource_rows, version_rows, token_rows, ids


def _answers(results, ids: dict[str, str]) -> list:
    out = []
    for result in results:
        text = json.dumps(result.fhir_response, sort_keys=True)
        for resource_id, name in ids.items():
            text = text.replace(resource_id, name)
        out.append((result.created, result.status, result.superseded, text))
    return out


def test_batched_and_one_by_one_leave_identical_fhir_store_rows(
    setting, db_url, make_collector, monkeypatch, request
):
    collector, principal, bundles = setting
    batched, planned = _run(collector, principal, bundles, True, monkeypatch)
    assert planned[0] == _mixed_batch(bundles)[1], "the plainly new returns, and only they, are batched"

    if db_url.startswith("sqlite"):
        other_url = db_url.replace("collector.sqlite", "other.sqlite")
    else:  # a second fresh schema in the same PostgreSQL, dropped after the test
        schemas = _postgres_schema_url(os.environ["TEST_DATABASE_URL"])
        other_url = next(schemas)
        request.addfinalizer(lambda: next(schemas, None))
    other = make_collector(other_url).extensions["fhir_family_collector"]
    request.addfinalizer(other.engine.dispose)
    other_principal = authenticate(other.sessions, issue_token(other.sessions, "provider", "RXA"))
    one_by_one, _ = _run(other, other_principal, bundles, False, monkeypatch)

    mine, theirs = _tables(collector), _tables(other)
    assert mine[:3] == theirs[:3]
    assert any(version == 2 for _name, version, *_rest in mine[0]), "the November returns made version 2s"
    assert _answers(batched, mine[3]) == _answers(one_by_one, theirs[3])


def test_a_batch_of_new_returns_takes_a_few_fhir_statements(setting, monkeypatch):
    """Twelve plainly new returns: one look-up (PostgreSQL: then one advisory-lock statement and the look-up
    again), one insert each for resources, versions and tokens, where one by one took ~14 a return."""
    collector, principal, bundles = setting
    prepared = [(collector.prepare(b, principal), principal) for b in bundles]
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if "fhir_" in statement or "pg_advisory_xact_lock" in statement:
            statements.append(statement)

    event.listen(collector.engine, "before_cursor_execute", count)
    try:
        results = store_batch(collector.store, prepared)
    finally:
        event.remove(collector.engine, "before_cursor_execute", count)
    assert [r.created for r in results] == [True] * len(bundles)
    entries = sum(len(b["entry"]) for b in bundles)
    if collector.engine.dialect.name == "postgresql":
        assert len(statements) <= 6, statements
    else:  # SQLite hands back keys in order only row by row: the resource rows are inserted one by one
        assert len(statements) <= 4 + entries, statements
    assert entries >= 4 * len(bundles)


def test_a_single_post_of_a_new_return_takes_a_few_fhir_statements(setting):
    collector, principal, bundles = setting
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if "fhir_" in statement or "pg_advisory_xact_lock" in statement:
            statements.append(statement)

    event.listen(collector.engine, "before_cursor_execute", count)
    try:
        result = collector.submit(bundles[0], principal)
    finally:
        event.remove(collector.engine, "before_cursor_execute", count)
    assert result.created
    statuses = [entry["response"]["status"] for entry in result.fhir_response["entry"]]
    assert statuses == ["201 Created"] * len(bundles[0]["entry"])
    limit = 6 if collector.engine.dialect.name == "postgresql" else 4 + len(bundles[0]["entry"])
    assert len(statements) <= limit, statements
