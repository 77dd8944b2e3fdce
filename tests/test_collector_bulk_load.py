"""The bulk loader writes exactly the rows ``ingest`` writes, and refuses what only ``ingest`` may do."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from fhir_family.collector import reports
from fhir_family.collector.bulk_load import BulkLoadError, bulk_load
from fhir_family.collector.database import make_engine, migrate
from fhir_family.collector.facts import extract
from fhir_family.collector.pseudonym import Pseudonymiser
from fhir_family.collector.schema import AuditEvent, ChildFact, StoredResource, Submission
from fhir_family.collector.store import SubmissionStore
from fhir_family.collector.synthetic import synthetic_month
from fhir_family.collector.tokens import Principal
from fhir_family.mapping.bundle import build_bundle

KEY = b"bulk-load-test-key-0123456789abcdef"


def _store(url: str) -> SubmissionStore:
    engine = make_engine(url)
    migrate(engine)
    return SubmissionStore(engine, Pseudonymiser(KEY))


def _contents(store: SubmissionStore) -> tuple[list, list, list]:
    """Every stored row, without surrogate keys and receipt times."""
    with store.sessions() as session:
        submissions = [
            (s.submission_id, s.ods_code, s.patient_pseudonym, s.period_start, s.period_end, s.report_month,
             s.parental_status, s.children_in_household, s.expecting_child, s.status, s.superseded_by,
             s.content_hash, s.bundle_json, s.legal_basis, s.date_asked, s.asked_by, s.status_source,
             s.support_offered, s.local_authority, s.team_type, s.service_request_id, s.parental_resp)
            for s in session.scalars(select(Submission).order_by(Submission.submission_id))
        ]
        children = sorted(
            (c.submission.submission_id, c.position, c.child_pseudonym, c.relationship_code, c.age_years,
             c.residence, c.pr_held, c.young_carer, c.early_help, c.child_in_need, c.child_protection_plan,
             c.looked_after, c.has_nhs_number, c.previous_child_protection_plan, c.previous_looked_after,
             c.pr_restriction, c.local_authority, c.think_family_action, c.think_family_outcome, c.ended)
            for c in session.scalars(select(ChildFact))
        )
        resources = sorted(
            (r.submission.submission_id, r.position, r.resource_type, r.resource_id, r.body)
            for r in session.scalars(select(StoredResource))
        )
    return submissions, children, resources


def test_bulk_load_stores_what_ingest_stores(db_url, tmp_path):
    bundles = [build_bundle(record) for record in synthetic_month("2026-10", 12)]
    one_by_one = _store(f"sqlite:///{tmp_path / 'ingest.sqlite'}")
    for bundle in bundles:
        facts = extract(bundle)
        one_by_one.ingest(bundle, facts, Principal(0, "provider", facts.ods_code, "test"))
    bulk = _store(db_url)
    assert bulk_load(bulk, iter(bundles), "bulk test", batch_size=10) == len(bundles)
    ingested, loaded = _contents(one_by_one), _contents(bulk)
    assert len(loaded[0]) == len(bundles) and loaded[1] and loaded[2]
    assert loaded == ingested
    assert reports.build_report(bulk.engine).rows == reports.build_report(one_by_one.engine).rows
    with bulk.sessions() as session:
        audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "bulk-load")).all()
    assert [row.detail for row in audit] == [
        "10 return(s) stored as current",
        "10 return(s) stored as current",
        "10 return(s) stored as current",
        "6 return(s) stored as current",
    ]


def test_a_batch_that_would_resend_or_supersede_is_refused_whole(db_url):
    store = _store(db_url)
    bundles = [build_bundle(record) for record in synthetic_month("2026-10", 4)]
    bulk_load(store, bundles[:6], "bulk test")
    with pytest.raises(BulkLoadError, match="already"):
        bulk_load(store, bundles[6:] + bundles[:1], "bulk test")  # the last one is stored already
    with store.sessions() as session:
        assert len(session.scalars(select(Submission)).all()) == 6  # nothing of the refused batch
