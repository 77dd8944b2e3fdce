"""A batch of ``$import`` returns stored in a handful of statements instead of eight per return.

``SubmissionStore.store_many`` stores each return on its own savepoint: a resend check, a current-return
check, the submission, its children, its resources and its audit row, about eight statements per return.
In SQLite each is a C call; in PostgreSQL each is a round trip to the server, which is why PostgreSQL
imported at half SQLite's rate. Most lines of a month-end file are plainly new returns: no stored
submission has their id, no current return exists for their patient and period, and no other line of the
batch shares either. For those this writes the same rows (built by the same ``store`` functions) with one
statement per table for the whole batch (SQLAlchemy's ``insertmanyvalues``: one multi-row ``INSERT``, with
``RETURNING`` for the keys), after two look-ups for the whole batch: about six round trips per batch.

Everything else keeps the path that settles it: resends, corrections (supersession), conflicts, lines
sharing a key within the batch, and any line whose rows cannot be built go through ``store_many``, in input
order, and so does a ``consent-withheld`` return (its patient key and supersession rules are its own).
The FHIR store is written the same way (``fhir_batch.py``): the batch's returns that are plainly new to it
too (no conditional update matches a stored resource) are planned after one look-up of every identifier key
the batch names and written with one multi-row insert each for resources, versions and tokens, in the same
transaction; a return the FHIR rules would update, refuse or need in another order goes ``store_many``.
The database's unique constraints still decide races: if a concurrent writer stored one of the "plainly new"
returns between the look-up and the insert, the whole fast group rolls back (nothing of it is
stored) and goes through ``store_many`` too, where each return is whole or nothing on its own.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError

from ..errors import FhirFamilyError
from . import fhir_batch
from . import store as store_rows
from .audit import audit_row
from .schema import CURRENT, AuditEvent, ChildFact, StoredResource, Submission
from .store import IngestResult, PreparedReturn, SubmissionStore, transaction_response
from .tokens import Principal

_C = Submission.__table__.c
_INSERT_SUBMISSIONS = insert(Submission.__table__).returning(_C.id, sort_by_parameter_order=True)
_INSERT_CHILDREN = insert(ChildFact.__table__)
_INSERT_RESOURCES = insert(StoredResource.__table__)
_INSERT_AUDIT = insert(AuditEvent.__table__)
STORED = "stored as current"
"""The audit detail of a new current return, as ``SubmissionStore`` words it."""


def _key(prepared: PreparedReturn, patient: str) -> tuple[Any, ...]:
    facts = prepared.facts
    return facts.ods_code, patient, facts.period_start, facts.period_end


def _audit(principal: Principal, submission_id: str) -> dict[str, Any]:
    row = audit_row(principal, "submit", submission_id, 201, STORED)
    columns = ("at", "actor", "action", "target", "outcome", "detail")
    return {column: getattr(row, column) for column in columns}


def store_batch(
    store: SubmissionStore, items: list[tuple[PreparedReturn, Principal]]
) -> list[IngestResult | Exception]:
    """Store ``items`` (as ``store_many`` does, one result per item in order), the plainly new ones in one
    transaction of multi-row inserts, the rest through ``store_many``."""
    if not items:
        return []
    patients = [store.pseudonymiser.pseudonym(prepared.facts.nhs_number) for prepared, _ in items]
    ids = [prepared.facts.submission_id for prepared, _ in items]
    keys = [_key(prepared, patient) for (prepared, _), patient in zip(items, patients, strict=True)]
    # the same patient's current return may be a counts-only one, kept under the other kind of key
    others = [store_rows.other_basis_pseudonym(prepared.facts, store.pseudonymiser) for prepared, _ in items]
    other_keys = [_key(prepared, other) for (prepared, _), other in zip(items, others, strict=True)]
    repeated_ids = {sid for sid, count in Counter(ids).items() if count > 1}
    repeated_keys = {key for key, count in Counter(keys).items() if count > 1}
    results: list[IngestResult | Exception | None] = [None] * len(items)
    fhir: dict[int, dict[str, Any]] = {}
    fast: list[int] = []
    try:
        with store.engine.begin() as connection:
            stored_ids = set(
                connection.execute(select(_C.submission_id).where(_C.submission_id.in_(ids))).scalars()
            )
            current = {
                tuple(row)
                for row in connection.execute(
                    select(_C.ods_code, _C.patient_pseudonym, _C.period_start, _C.period_end).where(
                        _C.status == CURRENT,
                        _C.ods_code.in_(sorted({key[0] for key in keys})),
                        _C.patient_pseudonym.in_(sorted({*patients, *others})),
                    )
                )
            }
            rows: list[tuple[int, dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]] = []
            now = datetime.now(UTC)
            for index, (prepared, _principal) in enumerate(items):
                sid, patient, key = ids[index], patients[index], keys[index]
                if sid in stored_ids or sid in repeated_ids or key in repeated_keys:
                    continue
                if key in current or other_keys[index] in current:
                    continue
                if prepared.facts.consent_withheld:
                    continue
                try:
                    submission = {
                        **store_rows.submission_values(prepared, patient),
                        "received_at": now,
                        "status": CURRENT,
                        "superseded_by": None,
                    }
                    children = store_rows.child_fact_values(prepared.facts, store.pseudonymiser)
                    resources = store_rows.resource_values(prepared)
                except Exception:  # noqa: BLE001 - this line goes the one-by-one way and fails there alone
                    continue
                rows.append((index, submission, children, resources))
            candidates = {row[0] for row in rows}
            plan = fhir_batch.plan_batch(
                connection,
                [
                    (prepared.stored, prepared.facts.ods_code, index in candidates)
                    for index, (prepared, _principal) in enumerate(items)
                ],
            )
            rows = [row for row in rows if row[0] in plan.responses]
            if rows:
                pks = connection.execute(_INSERT_SUBMISSIONS, [row[1] for row in rows]).scalars().all()
                keyed = list(zip(pks, rows, strict=True))
                children = [{**child, "submission_pk": pk} for pk, row in keyed for child in row[2]]
                resources = [{**resource, "submission_pk": pk} for pk, row in keyed for resource in row[3]]
                if children:
                    connection.execute(_INSERT_CHILDREN, children)
                connection.execute(_INSERT_RESOURCES, resources)
                connection.execute(_INSERT_AUDIT, [_audit(items[row[0]][1], ids[row[0]]) for row in rows])
                plan.write(connection)
                fhir = plan.responses
            fast = [row[0] for row in rows]
    except (DBAPIError, FhirFamilyError):
        # rolled back whole (a race, the database refused, or a line the FHIR rules refuse): every line goes
        # one by one, where each fails or succeeds alone
        fast = []
    for index in fast:
        prepared = items[index][0]
        results[index] = IngestResult(
            ids[index], True, CURRENT, (), transaction_response(prepared, True), fhir[index]
        )
    rest = [index for index in range(len(items)) if results[index] is None]
    for index, result in zip(rest, store.store_many([items[index] for index in rest]), strict=True):
        results[index] = result
    return [result for result in results if result is not None]
