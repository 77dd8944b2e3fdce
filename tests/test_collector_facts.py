"""The guide 0.2 facts the collector reads from a return and stores (migration 0005), and what it keeps of a
``consent-withheld`` return: its counts, nothing that identifies or links the patient or a child. Run on
SQLite and PostgreSQL (``db_url``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from fhir_family.collector.database import make_engine, migrate
from fhir_family.collector.facts import extract
from fhir_family.collector.pseudonym import Pseudonymiser
from fhir_family.collector.schema import ChildFact, StoredResource, Submission
from fhir_family.collector.store import SubmissionStore
from fhir_family.collector.tokens import Principal
from fhir_family.errors import NonConformantError
from fhir_family.mapping.bundle import build_bundle
from fhir_family.mapping.nhs_number import synthetic_nhs_number
from fhir_family.mapping.record import ChildRecord, ReturnRecord

KEY = b"facts-test-key-0123456789abcdef-0123"


def record(**overrides) -> ReturnRecord:
    base = ReturnRecord(
        submission_id="sub-facts-1",
        ods_code="RXA",
        local_patient_id="P/17",
        nhs_number=synthetic_nhs_number(17),
        nhs_number_verification="01",
        birth_date=date(1985, 3, 4),
        gender="female",
        local_authority="E08000025",
        parental_status="some-children-live-with-patient",
        date_asked=date(2026, 9, 20),
        asked_by="nurse",
        status_source="records",
        support_offered=("parenting-support", "carers-assessment"),
        reporting_period_start=date(2026, 10, 1),
        reporting_period_end=date(2026, 10, 31),
        legal_basis="safeguarding",
        service_request_id="SR-991",
        team_type="A13",
        episode_start=date(2026, 1, 15),
        children_in_household=1,
        timestamp=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        children=(
            ChildRecord(
                local_id="C1",
                relationship="DAUC",
                birth_date=date(2015, 6, 1),
                pr_held="Y",
                pr_basis=("birth-mother",),
                residence="full-time",
                young_carer="N",
                help=("previous-child-protection-plan",),
                nhs_number=synthetic_nhs_number(100_017),
                nhs_number_verification="01",
            ),
            ChildRecord(
                local_id="C2",
                relationship="SON",
                birth_date=date(2010, 2, 2),
                pr_held="Y",
                pr_basis=("birth-mother",),
                pr_restriction=("care-order",),
                residence="looked-after",
                young_carer="UNK",
                help=("looked-after",),
                local_authority="E08000029",
                think_family_action="referred",
                think_family_outcome="accepted-cin",
                ended=date(2026, 10, 20),
            ),
        ),
    )
    return replace(base, **overrides)


def test_extract_reads_the_02_shape():
    facts = extract(build_bundle(record()))
    assert (facts.period_start, facts.period_end) == (date(2026, 10, 1), date(2026, 10, 31))
    assert facts.legal_basis == "safeguarding" and not facts.consent_withheld
    assert facts.date_asked == date(2026, 9, 20)
    assert (facts.asked_by, facts.status_source) == ("nurse", "records")
    assert facts.support_offered == ("parenting-support", "carers-assessment")
    assert (facts.local_authority, facts.team_type) == ("E08000025", "A13")
    assert facts.service_request_id == "SR-991"
    assert facts.local_patient_key == "RXA/P%2F17"
    assert facts.parental_resp == "Y"
    first, second = facts.children
    assert first.help == {"previous-child-protection-plan"} and first.local_authority is None
    assert second.pr_restriction == {"care-order"} and second.local_authority == "E08000029"
    assert (second.think_family_action, second.think_family_outcome) == ("referred", "accepted-cin")
    assert second.ended == date(2026, 10, 20) and first.ended is None


def test_extract_reads_a_not_asked_return():
    facts = extract(build_bundle(record(parental_status="not-asked", date_asked=None, asked_by=None,
                                        status_source=None, support_offered=(), children=(),
                                        children_in_household=None)))
    assert facts.parental_status == "not-asked" and facts.date_asked is None and facts.asked_by is None
    assert facts.children == () and facts.parental_resp == "U"


def test_the_reporting_period_is_read_from_bundle_meta_only():
    bundle = build_bundle(record())
    meta = bundle["meta"]
    meta["extension"] = [e for e in meta["extension"] if "reporting-period" not in e["url"]]
    with pytest.raises(NonConformantError, match="reporting period"):
        extract(bundle)


@pytest.mark.parametrize(
    ("status", "held", "expected"),
    [
        ("not-a-parent", [], "N"),
        ("declined", [], "U"),
        ("not-asked", [], "U"),
        ("all-children-live-with-patient", ["N", "N"], "N"),
        ("all-children-live-with-patient", ["N", "UNK"], "U"),
        ("all-children-live-with-patient", ["UNK", "Y"], "Y"),
    ],
)
def test_parental_resp_follows_guide_0_6(status, held, expected):
    from fhir_family.collector.facts import parental_resp

    assert parental_resp(status, held) == expected


def _store(url: str) -> SubmissionStore:
    engine = make_engine(url)
    migrate(engine)
    return SubmissionStore(engine, Pseudonymiser(KEY))


def _ingest(store: SubmissionStore, bundle: dict):
    facts = extract(bundle)
    return store.ingest(bundle, facts, Principal(0, "provider", facts.ods_code, "test"))


def test_the_new_facts_are_stored(db_url):
    store = _store(db_url)
    _ingest(store, build_bundle(record()))
    with store.sessions() as session:
        row = session.scalars(select(Submission)).one()
        assert (row.legal_basis, row.date_asked, row.asked_by, row.status_source) == (
            "safeguarding", date(2026, 9, 20), "nurse", "records")
        assert row.support_offered == "parenting-support;carers-assessment"
        assert (row.local_authority, row.team_type, row.service_request_id, row.parental_resp) == (
            "E08000025", "A13", "SR-991", "Y")
        children = session.scalars(select(ChildFact).order_by(ChildFact.position)).all()
        first, second = children
        assert first.has_nhs_number and first.child_pseudonym and first.previous_child_protection_plan
        assert first.local_authority == "E08000025"  # the patient's, where the child's is not sent
        assert not second.has_nhs_number and second.child_pseudonym is None
        assert (second.pr_restriction, second.local_authority, second.ended) == (
            "care-order", "E08000029", date(2026, 10, 20))
        assert (second.think_family_action, second.think_family_outcome) == ("referred", "accepted-cin")
        assert session.scalars(select(StoredResource)).all()


def test_consent_withheld_keeps_counts_only(db_url):
    store = _store(db_url)
    withheld = build_bundle(record(legal_basis="consent-withheld"))
    result = _ingest(store, withheld)
    assert result.created
    nhs = synthetic_nhs_number(17)
    with store.sessions() as session:
        row = session.scalars(select(Submission)).one()
        # counted: status, children and their facts
        assert row.parental_status == "some-children-live-with-patient"
        assert row.legal_basis == "consent-withheld"
        assert len(session.scalars(select(ChildFact)).all()) == 2
        # nothing linkable: no NHS number pseudonym, no child pseudonym, no resources, no service request id
        assert row.patient_pseudonym != Pseudonymiser(KEY).pseudonym(nhs)
        assert all(c.child_pseudonym is None for c in session.scalars(select(ChildFact)))
        ordered = session.scalars(select(ChildFact).order_by(ChildFact.position))
        assert [c.has_nhs_number for c in ordered] == [True, False]
        assert session.scalars(select(StoredResource)).all() == []
        assert row.service_request_id is None
        assert '"entry"' not in row.bundle_json and nhs not in row.bundle_json
        assert "consent-withheld" in row.bundle_json
    # a resend (assembled again, new timestamp) is still no change; a corrected return supersedes
    again = build_bundle(record(legal_basis="consent-withheld", timestamp=datetime(2026, 11, 3, tzinfo=UTC)))
    assert not _ingest(store, again).created
    corrected = build_bundle(record(legal_basis="consent-withheld", submission_id="sub-facts-2",
                                    timestamp=datetime(2026, 11, 4, tzinfo=UTC), children_in_household=2))
    assert _ingest(store, corrected).superseded == ("sub-facts-1",)
    changed = build_bundle(record(legal_basis="consent-withheld", children_in_household=3))
    from fhir_family.collector.store import SubmissionConflictError

    with pytest.raises(SubmissionConflictError):
        _ingest(store, changed)


def test_migration_0005_adds_the_columns_and_backfills_has_nhs_number(db_url):
    """A database with returns stored before 0005 upgrades in place (SQLite and PostgreSQL): the new columns
    are null or false, except has_nhs_number, which is true where a child pseudonym shows a number was sent;
    and 0005 downgrades."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from fhir_family.collector.database import MIGRATIONS_DIR

    engine = make_engine(db_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))

    def upgrade(revision: str, down: bool = False) -> None:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            (command.downgrade if down else command.upgrade)(config, revision)

    upgrade("0004")
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO submissions (submission_id, ods_code, patient_pseudonym, period_start, period_end, "
            "report_month, parental_status, bundle_timestamp, received_at, status, content_hash, "
            "bundle_json) VALUES ('old-1', 'RXA', 'p', '2026-09-01', '2026-09-30', '2026-09', "
            "'all-children-live-with-patient', '2026-10-01 09:00:00', '2026-10-01 09:00:00', 'current', "
            "'h', '{}')"
        ))
        pk = connection.execute(text("SELECT id FROM submissions")).scalar_one()
        for position, pseudonym in ((2, "'c'"), (3, "NULL")):
            connection.execute(text(
                "INSERT INTO child_facts (submission_pk, position, child_pseudonym, relationship_code, "
                "age_years, residence, pr_held, young_carer, early_help, child_in_need, "
                "child_protection_plan, looked_after) "
                f"VALUES ({pk}, {position}, {pseudonym}, 'CHILD', 5, 'full-time', 'Y', 'N', false, false, "
                "false, false)"
            ))
    upgrade("0005")  # this test is about 0005; 0006 (a table rebuild) has its own, through migrate()
    with engine.connect() as connection:
        flags = connection.execute(text(
            "SELECT position, has_nhs_number, previous_looked_after, ended FROM child_facts "
            "ORDER BY position"
        )).all()
        assert [(p, bool(h), bool(lac), e) for p, h, lac, e in flags] == [(2, True, False, None),
                                                                           (3, False, False, None)]
        query = "SELECT legal_basis, local_authority, parental_resp FROM submissions"
        row = connection.execute(text(query)).one()
        assert tuple(row) == (None, None, None)
    upgrade("0004", down=True)
    with engine.connect() as connection:
        columns = connection.execute(text("SELECT * FROM child_facts")).keys()
        assert "has_nhs_number" not in columns and "ended" not in columns


def test_withholding_consent_supersedes_the_earlier_record_level_return(db_url):
    """A correction that withholds consent replaces the provider's earlier return for the patient and period
    (no second current return, nothing of it exported); giving consent again replaces the counts-only one."""
    store = _store(db_url)
    _ingest(store, build_bundle(record()))
    withheld = record(legal_basis="consent-withheld", submission_id="sub-facts-2",
                      timestamp=datetime(2026, 11, 5, tzinfo=UTC))
    assert _ingest(store, build_bundle(withheld)).superseded == ("sub-facts-1",)
    given = record(submission_id="sub-facts-3", timestamp=datetime(2026, 11, 6, tzinfo=UTC))
    assert _ingest(store, build_bundle(given)).superseded == ("sub-facts-2",)
    with store.sessions() as session:
        current = session.scalars(select(Submission).where(Submission.status == "current")).all()
        assert [s.submission_id for s in current] == ["sub-facts-3"]


def test_giving_consent_again_in_an_import_batch_supersedes_the_counts_only_return(db_url):
    """The same through ``$import``'s batch store: the counts-only return is current under the other kind of
    key (the provider-scoped patient id's pseudonym), and the batch must find it there too, not store the
    record-level correction as a second current return."""
    from fhir_family.collector.batch_store import store_batch
    from fhir_family.collector.store import prepare_return

    store = _store(db_url)
    _ingest(store, build_bundle(record(legal_basis="consent-withheld")))
    given = build_bundle(record(submission_id="sub-facts-3", timestamp=datetime(2026, 11, 6, tzinfo=UTC)))
    principal = Principal(0, "provider", "RXA", "test")
    prepared = prepare_return(given, extract(given), store.pseudonymiser)
    [result] = store_batch(store, [(prepared, principal)])
    assert result.superseded == ("sub-facts-1",)
    with store.sessions() as session:
        current = session.scalars(select(Submission).where(Submission.status == "current")).all()
        assert [s.submission_id for s in current] == ["sub-facts-3"]
