"""The collector's tables (SQLAlchemy 2 typed ORM). Alembic migrations in ``migrations/`` create them.

No column holds a raw NHS number, a name or an address: patients and children appear only as keyed HMAC
pseudonyms, and the stored bundle JSON is the pseudonymised one (see ``pseudonym.py``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

CURRENT = "current"
SUPERSEDED = "superseded"


class Base(DeclarativeBase):
    pass


class Organisation(Base):
    """A submitting provider, by ODS code."""

    __tablename__ = "organisations"

    ods_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """A bearer token, kept only as its SHA-256 (tokens are long random strings, so no salt is needed)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    """``provider`` (submits and reads its own submissions) or ``analyst`` (reads aggregates)."""
    ods_code: Mapped[str | None] = mapped_column(ForeignKey("organisations.ods_code"))
    label: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """Refused from then on, as an unknown token is (set at issue, or by a rotation's grace period)."""
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When it last authenticated, to the minute: written at most once a minute per token (``tokens.py``)."""


class Submission(Base):
    """One national return as received: its facts for reporting and the pseudonymised bundle."""

    __tablename__ = "submissions"
    __table_args__ = (
        # At most one current return per provider, patient and reporting period; others are history.
        Index(
            "uq_submissions_current_return",
            "ods_code",
            "patient_pseudonym",
            "period_start",
            "period_end",
            unique=True,
            sqlite_where=text("status = 'current'"),
            postgresql_where=text("status = 'current'"),
        ),
        Index("ix_submissions_month", "report_month", "ods_code"),
        # Submission ids are each provider's own namespace: two providers may use the same id.
        UniqueConstraint("ods_code", "submission_id", name="uq_submissions_provider_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    submission_id: Mapped[str] = mapped_column(String(200))
    """Unique per provider (``ods_code``), not globally (migration 0006)."""
    ods_code: Mapped[str] = mapped_column(String(6), index=True)
    patient_pseudonym: Mapped[str] = mapped_column(String(64))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    report_month: Mapped[str] = mapped_column(String(7))
    """``YYYY-MM`` of the reporting date (the period end)."""
    parental_status: Mapped[str] = mapped_column(String(40))
    children_in_household: Mapped[int | None] = mapped_column(Integer)
    expecting_child: Mapped[bool | None] = mapped_column(Boolean)
    # guide 0.2 facts (migration 0005); null on returns stored before it
    legal_basis: Mapped[str | None] = mapped_column(String(24))
    """``consent-withheld``: only counts were kept (no linkable pseudonym, no resources, no child ids)."""
    date_asked: Mapped[date | None] = mapped_column(Date)
    asked_by: Mapped[str | None] = mapped_column(String(24))
    status_source: Mapped[str | None] = mapped_column(String(16))
    support_offered: Mapped[str | None] = mapped_column(String(200))
    """support-offered codes joined by ``;`` in the order sent."""
    local_authority: Mapped[str | None] = mapped_column(String(9), index=True)
    """GSS code of the patient's local authority of residence."""
    team_type: Mapped[str | None] = mapped_column(String(4))
    service_request_id: Mapped[str | None] = mapped_column(String(200))
    parental_resp: Mapped[str | None] = mapped_column(String(1))
    """MHSDS ``ParentalResp`` derived from the return (guide.md 0.6): ``Y``, ``N`` or ``U``."""
    bundle_timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(12))
    superseded_by: Mapped[str | None] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the canonical pseudonymised bundle: same id and hash is a resend, a new hash a conflict."""
    bundle_json: Mapped[str] = mapped_column(Text)

    children: Mapped[list[ChildFact]] = relationship(
        back_populates="submission", cascade="all, delete-orphan"
    )
    resources: Mapped[list[StoredResource]] = relationship(
        back_populates="submission", cascade="all, delete-orphan"
    )


class ChildFact(Base):
    """One dependent child of a return, flattened for the aggregate report."""

    __tablename__ = "child_facts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    submission_pk: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    child_pseudonym: Mapped[str | None] = mapped_column(String(64))
    relationship_code: Mapped[str] = mapped_column(String(20))
    age_years: Mapped[int] = mapped_column(Integer)
    residence: Mapped[str] = mapped_column(String(20))
    pr_held: Mapped[str] = mapped_column(String(3))
    young_carer: Mapped[str] = mapped_column(String(3))
    early_help: Mapped[bool] = mapped_column(Boolean)
    child_in_need: Mapped[bool] = mapped_column(Boolean)
    child_protection_plan: Mapped[bool] = mapped_column(Boolean)
    looked_after: Mapped[bool] = mapped_column(Boolean)
    # guide 0.2 facts (migration 0005)
    has_nhs_number: Mapped[bool] = mapped_column(Boolean, server_default=false())
    """Whether the child's NHS number was sent (kept also when no pseudonym is, as for consent withheld)."""
    previous_child_protection_plan: Mapped[bool] = mapped_column(Boolean, server_default=false())
    previous_looked_after: Mapped[bool] = mapped_column(Boolean, server_default=false())
    pr_restriction: Mapped[str | None] = mapped_column(String(80))
    """parental-responsibility-restriction codes joined by ``;``."""
    local_authority: Mapped[str | None] = mapped_column(String(9))
    """GSS code where the child lives: the child's own, else the patient's."""
    think_family_action: Mapped[str | None] = mapped_column(String(16))
    think_family_outcome: Mapped[str | None] = mapped_column(String(24))
    ended: Mapped[date | None] = mapped_column(Date)

    submission: Mapped[Submission] = relationship(back_populates="children")


class StoredResource(Base):
    """One pseudonymised resource of a return, addressable as ``{type}/{id}`` and exported as NDJSON."""

    __tablename__ = "resources"
    __table_args__ = (Index("ix_resources_type_id", "resource_type", "resource_id", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    submission_pk: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    resource_type: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)

    submission: Mapped[Submission] = relationship(back_populates="resources")


class AuditEvent(Base):
    """Who did what, when, and how it ended; refusals included. Never holds an NHS number, a token or a query
    value. Append-only: triggers refuse UPDATE and DELETE (migration 0006). Every request leaves one row with
    action ``request``; rows of what it did (``submit``, ``read-submission``...) share its ``request_id``."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_request_id", "request_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(120))
    """Token label, role and ODS code, or ``anonymous``."""
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str | None] = mapped_column(String(300))
    outcome: Mapped[int] = mapped_column(Integer)
    """The HTTP status the request ended with."""
    detail: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(36))
    """Also answered as ``X-Request-ID``."""
    source: Mapped[str | None] = mapped_column(String(64))
    """The client's address as the server saw it (the reverse proxy's, behind one)."""
    token_id: Mapped[int | None] = mapped_column(Integer)
    """``api_tokens.id`` of the bearer token, never the token."""
    method: Mapped[str | None] = mapped_column(String(10))
    path: Mapped[str | None] = mapped_column(String(300))
    """The path, numbers masked, and the names (not values) of query parameters."""
    bytes_in: Mapped[int | None] = mapped_column(BigInteger)
    bytes_out: Mapped[int | None] = mapped_column(BigInteger)


class ImportJob(Base):
    """A bulk ``$import`` of NDJSON bundles, processed in the background; status lives here so any worker
    process can answer the status URL."""

    __tablename__ = "import_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ods_code: Mapped[str] = mapped_column(String(6))
    actor: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))
    """``in-progress``, ``completed`` or ``failed``."""
    total: Mapped[int] = mapped_column(Integer, default=0)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(80))
    """``host:pid`` of the process running the job (migration 0008): a restart fails the jobs of dead ones."""
    outcomes_json: Mapped[str | None] = mapped_column(Text)
    """When finished: the result document's head (time, request, summary); the per-line outcomes are rows of
    ``import_outcomes``. (Jobs from before migration 0004 hold the whole document here.)"""


class ImportOutcome(Base):
    """One line's outcome of an ``$import`` job, stored as the batch holding it ends, so a job's memory does
    not grow with its size; redacted JSON (validator diagnostics may quote what was sent)."""

    __tablename__ = "import_outcomes"

    job_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    body: Mapped[str] = mapped_column(Text)


class MeshMailbox(Base):
    """A MESH mailbox bound to the provider it submits for, as a bearer token is: returns arriving from
    this mailbox may only be for this ODS code."""

    __tablename__ = "mesh_mailboxes"

    mailbox_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    ods_code: Mapped[str] = mapped_column(ForeignKey("organisations.ods_code"))
    label: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CollectorSetting(Base):
    """A named fact about this database, such as the fingerprint of the pseudonymisation key its pseudonyms
    were made with (``keys.py``): never a secret."""

    __tablename__ = "collector_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# -- the FHIR resource store (fhir_store.py, fhir_transaction.py; migration 0007) ----------------------------


class FhirResource(Base):
    """The current version of one FHIR resource of the collector's FHIR API, by type and logical id, owned by
    the provider (ODS code) whose return created it. Pseudonymised: NHS numbers appear only as pseudonyms."""

    __tablename__ = "fhir_resources"
    __table_args__ = (Index("uq_fhir_resources_type_id", "resource_type", "resource_id", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_type: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[int] = mapped_column(Integer)
    last_updated: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ods_code: Mapped[str] = mapped_column(String(6), index=True)
    body: Mapped[str] = mapped_column(Text)
    """The current version's JSON, with ``id`` and ``meta.versionId``/``meta.lastUpdated`` set."""


class FhirResourceVersion(Base):
    """Every version of a FHIR resource (the current one included): ``GET /fhir/{type}/{id}/_history/{v}``."""

    __tablename__ = "fhir_resource_versions"

    resource_pk: Mapped[int] = mapped_column(
        ForeignKey("fhir_resources.id", ondelete="CASCADE"), primary_key=True
    )
    version_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_updated: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    body: Mapped[str] = mapped_column(Text)


class FhirIdentifier(Base):
    """One ``identifier`` token (system|value) of a resource's current version: what ``identifier=`` searches
    and conditional create/update match on."""

    __tablename__ = "fhir_identifiers"
    __table_args__ = (Index("ix_fhir_identifiers_token", "resource_type", "value", "system"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_pk: Mapped[int] = mapped_column(
        ForeignKey("fhir_resources.id", ondelete="CASCADE"), index=True
    )
    resource_type: Mapped[str] = mapped_column(String(40))
    system: Mapped[str | None] = mapped_column(String(500))
    value: Mapped[str | None] = mapped_column(String(500))
