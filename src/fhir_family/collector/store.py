"""Storing national returns: whole or not at all, idempotent by submission id, superseding by patient+period.

One submission is one database transaction: the submission row, its child facts, its resources and its audit
row commit together or not at all. Concurrency is settled by the database, not by locks in Python: the unique
submission id and the partial unique index "one current return per provider, patient and period" make a
racing writer fail with IntegrityError, and the whole transaction is then retried from the start, where it
sees
the winner's row and behaves as a resend or a supersession.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from fhir_family import messages as msg

from ..errors import FhirFamilyError
from ..outcome import Issue, IssueSeverity, IssueType
from .audit import audit_row
from .database import session_factory
from .facts import ReturnFacts, resources
from .pseudonym import Pseudonymiser
from .schema import CURRENT, SUPERSEDED, ChildFact, StoredResource, Submission
from .tokens import Principal

MAX_ATTEMPTS = 8


class SubmissionConflictError(FhirFamilyError):
    """The submission id is already stored with different content: HTTP 409 (send a new submission id)."""

    http_status = 409
    message_id = msg.COLLECTOR_CONFLICT


class StorageError(FhirFamilyError):
    """The database failed; nothing of the submission was stored: HTTP 503, safe to retry."""

    http_status = 503
    message_id = msg.COLLECTOR_STORAGE


class _Retry(Exception):
    """A concurrent writer changed the row this transaction relied on; start again."""


@dataclass(frozen=True)
class IngestResult:
    submission_id: str
    created: bool
    """False when this was a resend of a stored submission (nothing changed)."""
    status: str
    """``current``, or ``superseded`` when a later return for the same patient and period is stored."""
    superseded: tuple[str, ...] = ()
    response: dict[str, Any] = field(default_factory=dict)


def canonical_json(resource: dict[str, Any]) -> str:
    return json.dumps(resource, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _entry_id(full_url: Any, submission_id: str, index: int) -> str:
    """A server id for an entry: derived from the submission id (unique) and the entry's fullUrl, so it is
    stable across resends and cannot collide with another provider's ids."""
    anchor = full_url if isinstance(full_url, str) and full_url else f"#{index}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{submission_id}|{anchor}"))


def stored_resources(
    bundle: dict[str, Any], submission_id: str
) -> list[tuple[int, str, str, dict[str, Any]]]:
    """(position, type, id, resource) for each entry, with ``id`` set and ``urn:uuid`` references made
    ``Type/id`` so each resource stands alone (NDJSON export, reads by id)."""
    entries = bundle.get("entry") or []
    ids: dict[str, str] = {}
    for index, entry in enumerate(entries):
        resource_type = (entry.get("resource") or {}).get("resourceType")
        ids[entry.get("fullUrl") or f"#{index}"] = (
            f"{resource_type}/{_entry_id(entry.get('fullUrl'), submission_id, index)}"
        )
    out = []
    for index, resource in resources(bundle):
        resource_id = ids[entries[index].get("fullUrl") or f"#{index}"].split("/", 1)[1]
        body = _resolve_references(dict(resource), ids)
        body["id"] = resource_id
        out.append((index, resource["resourceType"], resource_id, body))
    return out


def _resolve_references(node: Any, ids: dict[str, str]) -> Any:
    if isinstance(node, dict):
        result = {key: _resolve_references(value, ids) for key, value in node.items()}
        if isinstance(result.get("reference"), str) and result["reference"] in ids:
            result["reference"] = ids[result["reference"]]
        return result
    if isinstance(node, list):
        return [_resolve_references(item, ids) for item in node]
    return node


def transaction_response(bundle: dict[str, Any], submission_id: str, created: bool) -> dict[str, Any]:
    """The transaction-response Bundle: one entry per request entry, in order (FHIR requires the order)."""
    entries = []
    for _position, resource_type, resource_id, _body in stored_resources(bundle, submission_id):
        entries.append(
            {
                "response": {
                    "status": "201 Created" if created else "200 OK",
                    "location": f"{resource_type}/{resource_id}/_history/1",
                    "etag": 'W/"1"',
                }
            }
        )
    return {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}


def submission_values(
    facts: ReturnFacts, stored: dict[str, Any], content_hash: str, patient_pseudonym: str
) -> dict[str, Any]:
    """The ``submissions`` columns a return's facts and stored bundle give (not status, received_at,
    superseded_by)."""
    return {
        "submission_id": facts.submission_id,
        "ods_code": facts.ods_code,
        "patient_pseudonym": patient_pseudonym,
        "period_start": facts.period_start,
        "period_end": facts.period_end,
        "report_month": facts.report_month,
        "parental_status": facts.parental_status,
        "children_in_household": facts.children_in_household,
        "expecting_child": facts.expecting_child,
        "bundle_timestamp": facts.timestamp,
        "content_hash": content_hash,
        "bundle_json": canonical_json(stored),
    }


class SubmissionStore:
    """The write path of the collector, and the reads a provider makes of its own returns."""

    def __init__(self, engine: Engine, pseudonymiser: Pseudonymiser) -> None:
        self.engine = engine
        self.sessions = session_factory(engine)
        self.pseudonymiser = pseudonymiser

    def ingest(self, bundle: dict[str, Any], facts: ReturnFacts, principal: Principal) -> IngestResult:
        """Store a validated return (raw, as received); pseudonymise it first. Retries lost races."""
        stored = self.pseudonymiser.pseudonymise_bundle(bundle)
        content_hash = hashlib.sha256(canonical_json(stored).encode("utf-8")).hexdigest()
        last_error: Exception | None = None
        for attempt in range(MAX_ATTEMPTS):
            try:
                with self.sessions.begin() as session:
                    return self._store_once(session, facts, stored, content_hash, principal)
            except (IntegrityError, _Retry) as exc:
                last_error = exc
            except OperationalError as exc:
                # Deadlock / serialisation failure / SQLite busy: transient, retry the whole transaction.
                if not _is_transient(exc):
                    raise StorageError(f"The database refused the submission: {exc.orig}") from exc
                last_error = exc
            time.sleep(random.uniform(0.005, 0.02) * (attempt + 1))
        raise StorageError(
            f"The submission could not be stored after {MAX_ATTEMPTS} attempts (concurrent writers); "
            "nothing was stored, resend it",
            [Issue(IssueSeverity.ERROR, IssueType.TRANSIENT, f"Storage contention: {last_error}")],
        )

    def _store_once(
        self,
        session: Session,
        facts: ReturnFacts,
        stored: dict[str, Any],
        content_hash: str,
        principal: Principal,
    ) -> IngestResult:
        sid = facts.submission_id
        existing = session.scalar(select(Submission).where(Submission.submission_id == sid))
        if existing is not None:
            if existing.content_hash == content_hash and existing.ods_code == facts.ods_code:
                session.add(
                    audit_row(principal, "submit", sid, 200, "resend of a stored submission: no change")
                )
                return IngestResult(sid, False, existing.status, (), transaction_response(stored, sid, False))
            raise SubmissionConflictError(
                f"Submission id {sid!r} is already stored with different content",
                [
                    Issue(
                        IssueSeverity.ERROR,
                        IssueType.CONFLICT,
                        f"Submission id {sid!r} is already stored with different content; a corrected return "
                        "needs a new submission id (it then supersedes the earlier return for the same "
                        "patient "
                        "and reporting period)",
                        "Bundle.identifier",
                        msg.COLLECTOR_CONFLICT,
                    )
                ],
            )
        patient = self.pseudonymiser.pseudonym(facts.nhs_number)
        current = session.scalar(
            select(Submission).where(
                Submission.ods_code == facts.ods_code,
                Submission.patient_pseudonym == patient,
                Submission.period_start == facts.period_start,
                Submission.period_end == facts.period_end,
                Submission.status == CURRENT,
            )
        )
        status, superseded_by, superseded = CURRENT, None, ()
        if current is not None:
            if _aware(current.bundle_timestamp) > _aware(facts.timestamp):
                # A later return is already current: keep this one as history only.
                status, superseded_by = SUPERSEDED, current.submission_id
            else:
                changed = session.execute(
                    update(Submission)
                    .where(Submission.id == current.id, Submission.status == CURRENT)
                    .values(status=SUPERSEDED, superseded_by=sid)
                ).rowcount
                if changed != 1:
                    raise _Retry()
                superseded = (current.submission_id,)
        now = datetime.now(UTC)
        submission = Submission(
            **submission_values(facts, stored, content_hash, patient),
            received_at=now,
            status=status,
            superseded_by=superseded_by,
        )
        session.add(submission)
        session.flush()
        _insert_children(session, submission, facts, self.pseudonymiser)
        _insert_resources(session, submission, stored)
        detail = f"stored as {status}" + (f"; supersedes {', '.join(superseded)}" if superseded else "")
        session.add(audit_row(principal, "submit", sid, 201, detail))
        session.flush()
        return IngestResult(sid, True, status, superseded, transaction_response(stored, sid, True))

    # -- reads -------------------------------------------------------------------------------------------

    def submission(self, submission_id: str) -> Submission | None:
        with self.sessions() as session:
            return session.scalar(select(Submission).where(Submission.submission_id == submission_id))

    def submissions_of(
        self,
        ods_code: str,
        *,
        submission_id: str | None = None,
        month: str | None = None,
        status: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Submission], int]:
        """A provider's own submissions, newest first, and how many match in all."""
        query = select(Submission).where(Submission.ods_code == ods_code)
        if submission_id:
            query = query.where(Submission.submission_id == submission_id)
        if month:
            query = query.where(Submission.report_month == month)
        if status:
            query = query.where(Submission.status == status)
        with self.sessions() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(
                query.order_by(Submission.received_at.desc(), Submission.id.desc())
                .limit(limit)
                .offset(offset)
            ).all()
            return list(rows), total

    def resource(self, resource_type: str, resource_id: str) -> tuple[StoredResource, str] | None:
        """A stored resource and the ODS code of the provider that sent it."""
        with self.sessions() as session:
            row = session.scalar(
                select(StoredResource).where(
                    StoredResource.resource_type == resource_type, StoredResource.resource_id == resource_id
                )
            )
            if row is None:
                return None
            return row, row.submission.ods_code


def child_fact_values(facts: ReturnFacts, pseudo: Pseudonymiser) -> list[dict[str, Any]]:
    """The ``child_facts`` columns of each child of a return (all but ``submission_pk``)."""
    return [
        {
            "position": child.position,
            "child_pseudonym": pseudo.pseudonym(child.nhs_number) if child.nhs_number else None,
            "relationship_code": child.relationship[:20],
            "age_years": child.age_years,
            "residence": child.residence[:20],
            "pr_held": child.pr_held[:3],
            "young_carer": child.young_carer[:3],
            "early_help": "early-help" in child.help,
            "child_in_need": "child-in-need" in child.help,
            "child_protection_plan": "child-protection-plan" in child.help,
            "looked_after": "looked-after" in child.help or child.residence == "looked-after",
        }
        for child in facts.children
    ]


def resource_values(stored: dict[str, Any], submission_id: str) -> list[dict[str, Any]]:
    """The ``resources`` columns of each resource of a stored (pseudonymised) return (all but
    ``submission_pk``)."""
    return [
        {
            "position": position,
            "resource_type": resource_type,
            "resource_id": resource_id,
            # Compact, in the order built (resourceType first), one line: ready for NDJSON export.
            "body": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        }
        for position, resource_type, resource_id, body in stored_resources(stored, submission_id)
    ]


def _insert_children(
    session: Session, submission: Submission, facts: ReturnFacts, pseudo: Pseudonymiser
) -> None:
    for values in child_fact_values(facts, pseudo):
        session.add(ChildFact(submission_pk=submission.id, **values))
    session.flush()


def _insert_resources(session: Session, submission: Submission, stored: dict[str, Any]) -> None:
    for values in resource_values(stored, submission.submission_id):
        session.add(StoredResource(submission_pk=submission.id, **values))
    session.flush()


def _is_transient(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return any(word in text for word in ("deadlock", "could not serialize", "database is locked", "busy"))
