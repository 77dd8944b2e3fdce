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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from fhir_family import messages as msg

from ..errors import FhirFamilyError
from ..model import PROVIDER_RECORD_SYSTEM
from ..outcome import Issue, IssueSeverity, IssueType
from . import fhir_batch, fhir_transaction
from .audit import audit_row, row_values
from .database import session_factory
from .facts import ReturnFacts, resources
from .pseudonym import Pseudonymiser
from .schema import CURRENT, SUPERSEDED, AuditEvent, ChildFact, StoredResource, Submission
from .store_json import canonical_json, compact_json
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
    fhir_response: dict[str, Any] = field(default_factory=dict)
    """The FHIR API's transaction-response (``fhir_transaction.py``): ids and versions of the FHIR store."""


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _entry_id(full_url: Any, namespace: str, index: int) -> str:
    """A server id for an entry: derived from its submission's namespace (``submission_namespace``, unique)
    and the entry's fullUrl, so it is stable across resends and cannot collide with another provider's ids."""
    anchor = full_url if isinstance(full_url, str) and full_url else f"#{index}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{namespace}|{anchor}"))


def submission_namespace(ods_code: str, submission_id: str) -> str:
    """What makes a submission unique: its provider and its id (each provider has its own ids)."""
    return f"{ods_code}|{submission_id}"


def stored_resources(bundle: dict[str, Any], namespace: str) -> list[tuple[int, str, str, dict[str, Any]]]:
    """(position, type, id, resource) for each entry, with ``id`` set and ``urn:uuid`` references made
    ``Type/id`` so each resource stands alone (NDJSON export, reads by id)."""
    entries = bundle.get("entry") or []
    ids: dict[str, str] = {}
    for index, entry in enumerate(entries):
        resource_type = (entry.get("resource") or {}).get("resourceType")
        ids[entry.get("fullUrl") or f"#{index}"] = (
            f"{resource_type}/{_entry_id(entry.get('fullUrl'), namespace, index)}"
        )
    out = []
    for index, resource in resources(bundle):
        resource_id = ids[entries[index].get("fullUrl") or f"#{index}"].split("/", 1)[1]
        body = _resolve_references(dict(resource), ids)
        body["id"] = resource_id
        out.append((index, resource["resourceType"], resource_id, body))
    return out


def _resolve_references(node: Any, ids: dict[str, str]) -> Any:
    """``node`` with each reference to an entry made ``Type/id``; copy on write: a dict or list holding no
    such reference is returned itself, not copied (the stored bundle's parts are never changed in place)."""
    if isinstance(node, dict):
        result = None
        for key, value in node.items():
            if key == "reference" and isinstance(value, str) and value in ids:
                new = ids[value]
            elif isinstance(value, (dict, list)):
                new = _resolve_references(value, ids)
            else:
                continue
            if new is not value:
                result = result if result is not None else dict(node)
                result[key] = new
        return node if result is None else result
    if isinstance(node, list):
        items = [_resolve_references(item, ids) for item in node]
        return node if all(new is old for new, old in zip(items, node, strict=True)) else items
    return node


@dataclass(frozen=True)
class PreparedReturn:
    """A validated return ready to store: its facts, the pseudonymised bundle and what is derived from it
    once (canonical JSON, content hash, the stored resources), so a retried transaction redoes no CPU work."""

    facts: ReturnFacts
    stored: dict[str, Any]
    bundle_json: str
    content_hash: str
    resources: list[tuple[int, str, str, dict[str, Any]]]


def prepare_return(
    bundle: dict[str, Any], facts: ReturnFacts, pseudonymiser: Pseudonymiser
) -> PreparedReturn:
    """Pseudonymise ``bundle`` and derive its stored forms (no database work).

    A valid NHS number inside the submission id or the MHSDS service request id is pseudonymised there too,
    so the id is stored (and looked up) in that form. A ``consent-withheld`` return keeps only what counts
    need (guide.md 0.6: "only the provider's counts flow"): its stored bundle is the return's header without
    entries (``counts_only``), its content hash ignores the timestamp (so a resend is still recognised without
    the entries to compare), and no resource of it is stored or exported (``resource_values``)."""
    stored = pseudonymiser.pseudonymise_bundle(bundle)
    facts = replace(
        facts,
        submission_id=pseudonymiser.pseudonymise_text(facts.submission_id),
        service_request_id=(
            pseudonymiser.pseudonymise_text(facts.service_request_id) if facts.service_request_id else None
        ),
    )
    if facts.consent_withheld:
        text = canonical_json(counts_only(stored))
        digest = canonical_json({**stored, "timestamp": None})
    else:
        text = digest = canonical_json(stored)
    return PreparedReturn(
        facts=facts,
        stored=counts_only(stored) if facts.consent_withheld else stored,
        bundle_json=text,
        content_hash=hashlib.sha256(digest.encode("utf-8")).hexdigest(),
        resources=stored_resources(stored, submission_namespace(facts.ods_code, facts.submission_id)),
    )


def counts_only(bundle: dict[str, Any]) -> dict[str, Any]:
    """A return's header without its entries: what the collector keeps of a ``consent-withheld`` return."""
    return {key: value for key, value in bundle.items() if key != "entry"}


def patient_pseudonym(facts: ReturnFacts, pseudo: Pseudonymiser) -> str:
    """The key that links a patient's returns: the NHS number's pseudonym (links across providers and
    months). Under ``consent-withheld`` the provider-scoped patient id's pseudonym instead: a corrected
    return still supersedes the provider's earlier one, but nothing links the patient beyond that provider."""
    if facts.consent_withheld:
        return pseudo.pseudonym(f"{PROVIDER_RECORD_SYSTEM}|{facts.local_patient_key or facts.submission_id}")
    return pseudo.pseudonym(facts.nhs_number)


def other_basis_pseudonym(facts: ReturnFacts, pseudo: Pseudonymiser) -> str:
    """The key the same patient's return would have under the other kind of legal basis, so a correction that
    withholds consent supersedes the provider's earlier record-level return for the period (and one that
    gives it supersedes the counts-only one): the two keys never sit side by side as two current returns."""
    if facts.consent_withheld:
        return pseudo.pseudonym(facts.nhs_number)
    return pseudo.pseudonym(f"{PROVIDER_RECORD_SYSTEM}|{facts.local_patient_key or facts.submission_id}")


def transaction_response(prepared: PreparedReturn, created: bool) -> dict[str, Any]:
    locations = [(rtype, rid) for _position, rtype, rid, _body in prepared.resources]
    return _response(locations, "201 Created" if created else "200 OK")


def _resend_response(stored_at: Any) -> dict[str, Any]:
    """A resend answers with where the first sending was stored (resources stored before migration 0006 have
    ids derived from the submission id alone)."""
    return _response([(row.resource_type, row.resource_id) for row in stored_at], "200 OK")


def _response(locations: list[tuple[str, str]], status: str) -> dict[str, Any]:
    entries = [
        {"response": {"status": status, "location": f"{rtype}/{rid}/_history/1", "etag": 'W/"1"'}}
        for rtype, rid in locations
    ]
    return {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}


def submission_values(prepared: PreparedReturn, patient_pseudonym: str) -> dict[str, Any]:
    """The ``submissions`` columns a prepared return gives (not status, received_at, superseded_by): shared by
    ``ingest`` and ``bulk_load``, so both write the same row."""
    facts = prepared.facts
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
        "legal_basis": facts.legal_basis,
        "date_asked": facts.date_asked,
        "asked_by": facts.asked_by,
        "status_source": facts.status_source,
        "support_offered": ";".join(facts.support_offered)[:200] or None,
        "local_authority": facts.local_authority,
        "team_type": facts.team_type,
        "service_request_id": None if facts.consent_withheld else facts.service_request_id,
        "parental_resp": facts.parental_resp,
        "bundle_timestamp": facts.timestamp,
        "content_hash": prepared.content_hash,
        "bundle_json": prepared.bundle_json,
    }


def _same_return(stored_json: str, bundle: dict[str, Any]) -> bool:
    """The same return assembled again: equal but for ``Bundle.timestamp`` (when it was assembled), as when
    an EHR resends a payload through the facade, which stamps each assembly with the time it happened."""
    try:
        stored = json.loads(stored_json)
    except ValueError:
        return False
    return {**stored, "timestamp": None} == {**bundle, "timestamp": None}


_SUBMISSIONS = Submission.__table__
_CHILDREN = ChildFact.__table__
_RESOURCES = StoredResource.__table__
_AUDIT = AuditEvent.__table__
# The hot path's statements, built once: constructing a statement and its cache key per call cost more
# than SQLite's own work.
_C = _SUBMISSIONS.c
# A submission id is looked up within its provider only: another provider's ids are invisible here.
_OWN = (_C.ods_code == bindparam("ods"), _C.submission_id == bindparam("sid"))
_EXISTING = select(_C.id, _C.content_hash, _C.status).where(*_OWN)
_EXISTING_JSON = select(_C.bundle_json).where(*_OWN)
_STORED_LOCATIONS = (
    select(_RESOURCES.c.resource_type, _RESOURCES.c.resource_id)
    .where(_RESOURCES.c.submission_pk == bindparam("pk"))
    .order_by(_RESOURCES.c.position)
)
# The current return under either kind of patient key (``patient_pseudonym``, ``other_basis_pseudonym``): one
# round trip where there were two for every new return.
_CURRENT_RETURN = select(_C.id, _C.submission_id, _C.bundle_timestamp, _C.patient_pseudonym).where(
    _C.ods_code == bindparam("ods"),
    _C.patient_pseudonym.in_([bindparam("patient"), bindparam("other")]),
    _C.period_start == bindparam("start"),
    _C.period_end == bindparam("end"),
    _C.status == CURRENT,
)
_SUPERSEDE = (
    update(_SUBMISSIONS)
    .where(_C.id == bindparam("pk"), _C.status == CURRENT)
    .values(status=SUPERSEDED, superseded_by=bindparam("by"))
)
_INSERT_SUBMISSION = insert(_SUBMISSIONS)
_INSERT_CHILDREN = insert(_CHILDREN)
_INSERT_RESOURCES = insert(_RESOURCES)
_INSERT_AUDIT = insert(_AUDIT)


class SubmissionStore:
    """The write path of the collector, and the reads a provider makes of its own returns.

    The write path uses SQLAlchemy Core statements (no ORM objects, no unit of work): a return is one
    ``INSERT`` for the submission and one executemany each for its children and resources."""

    def __init__(self, engine: Engine, pseudonymiser: Pseudonymiser) -> None:
        self.engine = engine
        self.sessions = session_factory(engine)
        self.pseudonymiser = pseudonymiser

    def ingest(self, bundle: dict[str, Any], facts: ReturnFacts, principal: Principal) -> IngestResult:
        """Store a validated return (raw, as received); pseudonymise it first. Retries lost races."""
        return self.store_prepared(prepare_return(bundle, facts, self.pseudonymiser), principal)

    def store_prepared(self, prepared: PreparedReturn, principal: Principal) -> IngestResult:
        """Store one prepared return in its own transaction; a lost race retries the whole transaction."""
        last_error: Exception | None = None
        for attempt in range(MAX_ATTEMPTS):
            try:
                with self.engine.begin() as connection:
                    return self._store_once(connection, prepared, principal)
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
            [
                Issue(
                    severity=IssueSeverity.ERROR,
                    code=IssueType.TRANSIENT,
                    diagnostics=f"Storage contention: {last_error}",
                )
            ],
        )

    def store_many(self, items: list[tuple[PreparedReturn, Principal]]) -> list[IngestResult | Exception]:
        """Store many prepared returns in ONE transaction, each inside its own savepoint, so one commit
        (one fsync) serves the batch while each return stays whole-or-nothing on its own: a return that
        fails rolls back to its savepoint only. A return that lost a race or failed unexpectedly, or a batch
        the database refused as a whole, is then stored again on its own through ``store_prepared``.
        One result per item, in input order: the ``IngestResult``, or the exception that refused it."""
        results: list[IngestResult | Exception | None] = [None] * len(items)
        alone: list[int] = []
        try:
            with self.engine.begin() as connection:
                for index, (prepared, principal) in enumerate(items):
                    savepoint = connection.begin_nested()
                    try:
                        results[index] = self._store_once(connection, prepared, principal)
                    except FhirFamilyError as exc:
                        savepoint.rollback()
                        results[index] = exc
                    except (IntegrityError, _Retry, OperationalError) as exc:
                        if isinstance(exc, OperationalError) and not _is_transient(exc):
                            raise
                        savepoint.rollback()
                        alone.append(index)
                    except Exception:  # noqa: BLE001 - retried alone below, where it fails on its own
                        savepoint.rollback()
                        alone.append(index)
                    else:
                        savepoint.commit()
        except DBAPIError:
            results = [None] * len(items)
            alone = list(range(len(items)))
        for index in alone:
            prepared, principal = items[index]
            try:
                results[index] = self.store_prepared(prepared, principal)
            except Exception as exc:  # noqa: BLE001 - handed back: the caller reports this item alone
                results[index] = exc
        return [result for result in results if result is not None]

    def _store_once(
        self, connection: Connection, prepared: PreparedReturn, principal: Principal
    ) -> IngestResult:
        facts = prepared.facts
        sid = facts.submission_id
        own = {"ods": facts.ods_code, "sid": sid}
        existing = connection.execute(_EXISTING, own).first()
        if existing is not None:
            same = existing.content_hash == prepared.content_hash or (
                not facts.consent_withheld
                and _same_return(connection.execute(_EXISTING_JSON, own).scalar_one(), prepared.stored)
            )
            if same:
                connection.execute(
                    _INSERT_AUDIT,
                    _audit_values(principal, "submit", sid, 200, "resend of a stored submission: no change"),
                )
                fhir = fhir_transaction.describe_transaction(connection, prepared.stored)
                stored_at = connection.execute(_STORED_LOCATIONS, {"pk": existing.id}).all()
                return IngestResult(sid, False, existing.status, (), _resend_response(stored_at), fhir)
            raise SubmissionConflictError(
                f"Submission id {sid!r} is already stored with different content",
                [
                    Issue(
                        severity=IssueSeverity.ERROR,
                        code=IssueType.CONFLICT,
                        diagnostics=(
                            f"Submission id {sid!r} is already stored with different content; a corrected "
                            "return needs a new submission id (it then supersedes the earlier return for the "
                            "same patient and reporting period)"
                        ),
                        expression="Bundle.identifier",
                        message_id=msg.COLLECTOR_CONFLICT,
                    )
                ],
            )
        patient = patient_pseudonym(facts, self.pseudonymiser)
        other = other_basis_pseudonym(facts, self.pseudonymiser)
        found = connection.execute(
            _CURRENT_RETURN,
            {"ods": facts.ods_code, "patient": patient, "other": other, "start": facts.period_start,
             "end": facts.period_end},
        ).all()
        # the patient's own key first, as the two look-ups it replaces were made
        current = min(found, key=lambda row: row.patient_pseudonym != patient, default=None)
        status, superseded_by, superseded = CURRENT, None, ()
        if current is not None:
            if _aware(current.bundle_timestamp) > _aware(facts.timestamp):
                # A later return is already current: keep this one as history only.
                status, superseded_by = SUPERSEDED, current.submission_id
            else:
                changed = connection.execute(_SUPERSEDE, {"pk": current.id, "by": sid}).rowcount
                if changed != 1:
                    raise _Retry()
                superseded = (current.submission_id,)
        submission_pk = connection.execute(
            _INSERT_SUBMISSION,
            {
                **submission_values(prepared, patient),
                "received_at": datetime.now(UTC),
                "status": status,
                "superseded_by": superseded_by,
            },
        ).inserted_primary_key[0]
        _insert_children(connection, submission_pk, facts, self.pseudonymiser)
        _insert_resources(connection, submission_pk, prepared)
        if status == CURRENT:  # a plainly new return in a handful of statements, anything else entry by entry
            fhir = fhir_batch.apply_one(connection, prepared.stored, facts.ods_code)
        else:  # history on arrival: never overwrites newer data, only described
            fhir = fhir_transaction.describe_transaction(connection, prepared.stored)
        detail = f"stored as {status}" + (f"; supersedes {', '.join(superseded)}" if superseded else "")
        connection.execute(_INSERT_AUDIT, _audit_values(principal, "submit", sid, 201, detail))
        return IngestResult(sid, True, status, superseded, transaction_response(prepared, True), fhir)

    # -- reads -------------------------------------------------------------------------------------------

    def submission(self, ods_code: str, submission_id: str) -> Submission | None:
        """A provider's own submission by id; another provider's submission with that id is not found."""
        with self.sessions() as session:
            return session.scalar(
                select(Submission).where(
                    Submission.ods_code == ods_code, Submission.submission_id == submission_id
                )
            )

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
    """The ``child_facts`` columns of each child of a return (all but ``submission_pk``). A child's local
    authority is its own where sent, else the patient's (the guide sends it only where it differs). Under
    ``consent-withheld`` no child pseudonym is kept, only whether an NHS number was sent."""
    return [
        {
            "position": child.position,
            "child_pseudonym": (
                pseudo.pseudonym(child.nhs_number)
                if child.nhs_number and not facts.consent_withheld
                else None
            ),
            "has_nhs_number": bool(child.nhs_number),
            "relationship_code": child.relationship[:20],
            "age_years": child.age_years,
            "residence": child.residence[:20],
            "pr_held": child.pr_held[:3],
            "young_carer": child.young_carer[:3],
            "early_help": "early-help" in child.help,
            "child_in_need": "child-in-need" in child.help,
            "child_protection_plan": "child-protection-plan" in child.help,
            "looked_after": "looked-after" in child.help or child.residence == "looked-after",
            "previous_child_protection_plan": "previous-child-protection-plan" in child.help,
            "previous_looked_after": "previous-looked-after" in child.help,
            "pr_restriction": ";".join(sorted(child.pr_restriction))[:80] or None,
            "local_authority": child.local_authority or facts.local_authority,
            "think_family_action": child.think_family_action,
            "think_family_outcome": child.think_family_outcome,
            "ended": child.ended,
        }
        for child in facts.children
    ]


def resource_values(prepared: PreparedReturn) -> list[dict[str, Any]]:
    """The ``resources`` columns of each resource of a prepared (pseudonymised) return (all but
    ``submission_pk``); none for a ``consent-withheld`` return, whose records do not flow."""
    if prepared.facts.consent_withheld:
        return []
    return [
        {
            "position": position,
            "resource_type": resource_type,
            "resource_id": resource_id,
            "body": compact_json(body),
        }
        for position, resource_type, resource_id, body in prepared.resources
    ]


def _insert_children(
    connection: Connection, submission_pk: int, facts: ReturnFacts, pseudo: Pseudonymiser
) -> None:
    """The return's child facts: one executemany."""
    rows = [{"submission_pk": submission_pk, **values} for values in child_fact_values(facts, pseudo)]
    if rows:
        connection.execute(_INSERT_CHILDREN, rows)


def _insert_resources(connection: Connection, submission_pk: int, prepared: PreparedReturn) -> None:
    """The return's resources, each standing alone: one executemany."""
    rows = [{"submission_pk": submission_pk, **values} for values in resource_values(prepared)]
    if rows:
        connection.execute(_INSERT_RESOURCES, rows)


def _audit_values(
    principal: Principal, action: str, target: str, outcome: int, detail: str
) -> dict[str, Any]:
    return row_values(audit_row(principal, action, target, outcome, detail))


def _is_transient(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return any(word in text for word in ("deadlock", "could not serialize", "database is locked", "busy"))
