"""``batch_store.store_batch``: a batch's plainly new returns in a few multi-row statements, everything else
(resends, corrections, conflicts, ids repeated within the batch) as ``store_many`` settles it, with the same
rows, results and audit either way; a batch the database refuses goes one by one."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from fhir_family.collector import batch_store
from fhir_family.collector.batch_store import store_batch
from fhir_family.collector.schema import AuditEvent, ChildFact, StoredResource, Submission
from fhir_family.collector.synthetic import synthetic_month
from fhir_family.collector.tokens import authenticate, issue_token
from fhir_family.mapping.bundle import build_bundle


@pytest.fixture
def loaded(db_url, make_collector):
    collector = make_collector(db_url).extensions["fhir_family_collector"]
    principal = authenticate(collector.sessions, issue_token(collector.sessions, "provider", "RXA"))
    bundles = [build_bundle(r) for r in synthetic_month(patients_per_provider=12) if r.ods_code == "RXA"]
    return collector, principal, bundles


def _prepared(collector, principal, bundles):
    return [(collector.prepare(bundle, principal), principal) for bundle in bundles]


def _later(bundle: dict, new_id: str) -> dict:
    corrected = copy.deepcopy(bundle)
    corrected["identifier"]["value"] = new_id
    stamp = datetime.fromisoformat(corrected["timestamp"].replace("Z", "+00:00")) + timedelta(hours=1)
    corrected["timestamp"] = stamp.isoformat()
    return corrected


def _changed(bundle: dict) -> dict:
    other = copy.deepcopy(bundle)
    patient = next(e["resource"] for e in other["entry"] if e["resource"]["resourceType"] == "Patient")
    patient["gender"] = "male" if patient["gender"] != "male" else "female"
    return other


def test_a_mixed_batch_is_settled_as_one_by_one_would(loaded):
    collector, principal, bundles = loaded
    first, resent, corrected = bundles[0], bundles[1], bundles[2]
    collector.store.store_many(_prepared(collector, principal, [first, resent, corrected]))
    batch = [
        bundles[3],  # new
        resent,  # a resend: no change
        _later(corrected, "correction-1"),  # supersedes the stored return for that patient and period
        bundles[4],  # new
        _changed(resent),  # the same id with other content: refused
        bundles[5],
        bundles[5],  # the same new id twice in the batch: stored, then a resend
        bundles[6],
    ]
    results = store_batch(collector.store, _prepared(collector, principal, batch))
    summary = [(r.created, r.status, r.superseded) if not isinstance(r, Exception) else r.http_status
               for r in results]
    assert summary == [
        (True, "current", ()),
        (False, "current", ()),
        (True, "current", (corrected["identifier"]["value"],)),
        (True, "current", ()),
        409,
        (True, "current", ()),
        (False, "current", ()),
        (True, "current", ()),
    ]
    with collector.sessions() as session:
        rows = {s.submission_id: s.status for s in session.scalars(select(Submission))}
        children = session.scalar(select(func.count()).select_from(ChildFact))
        resources = session.scalar(select(func.count()).select_from(StoredResource))
        stored_audits = session.scalars(
            select(AuditEvent.target).where(AuditEvent.detail == "stored as current")
        ).all()
    new_ids = [b["identifier"]["value"] for b in (bundles[3], bundles[4], bundles[5], bundles[6])]
    assert all(rows[sid] == "current" for sid in new_ids)
    assert rows[corrected["identifier"]["value"]] == "superseded" and rows["correction-1"] == "current"
    stored = [first, resent, corrected, bundles[3], batch[2], bundles[4], bundles[5], bundles[6]]
    assert len(rows) == len(stored)
    kinds = [e["resource"]["resourceType"] for b in stored for e in b["entry"]]
    expected_children = kinds.count("RelatedPerson")
    assert children == expected_children
    assert resources == sum(len(b["entry"]) for b in stored)
    assert all(stored_audits.count(sid) == 1 for sid in new_ids)


def test_new_returns_take_a_few_statements_per_batch_not_several_per_return(loaded):
    collector, principal, bundles = loaded
    prepared = _prepared(collector, principal, bundles[:12])
    statements = []

    fhir_store: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        # the FHIR store's own work (fhir_transaction, one transaction per return) is counted apart: it is
        # applied per return, as on any FHIR server; what is batched is the submission store's
        own = "fhir_" in statement or "pg_advisory_xact_lock" in statement
        (fhir_store if own else statements).append(statement.split()[0].upper())

    event.listen(collector.engine, "before_cursor_execute", count)
    try:
        results = store_batch(collector.store, prepared)
    finally:
        event.remove(collector.engine, "before_cursor_execute", count)
    assert [r.created for r in results] == [True] * 12
    work = [s for s in statements if s in ("INSERT", "SELECT")]
    # one by one: ~7 per return (84 here). PostgreSQL sends each table's rows in one statement; SQLite, which
    # cannot return keys in order from one multi-row insert, inserts the submissions row by row in-process
    assert len(work) <= (10 if collector.engine.dialect.name == "postgresql" else 12 + 10), statements
    assert fhir_store  # every new return also reached the FHIR store, in the same transaction


def test_a_batch_the_database_refuses_goes_one_by_one(loaded, monkeypatch):
    """A refused multi-row insert (here a NOT NULL violation in the audit rows, as a racing writer's unique
    key would be) rolls the fast group back whole; every return is then stored on its own."""
    collector, principal, bundles = loaded
    monkeypatch.setattr(batch_store, "_audit", lambda principal, sid: {"outcome": None, "action": None})
    results = store_batch(collector.store, _prepared(collector, principal, bundles[:5]))
    assert [r.created for r in results] == [True] * 5
    with collector.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 5
        stored_as_current = select(AuditEvent.target).where(AuditEvent.detail == "stored as current")
        audits = session.scalars(stored_as_current).all()
    assert sorted(audits) == sorted(b["identifier"]["value"] for b in bundles[:5])
