"""Loading many new returns at once: the rows ``SubmissionStore.ingest`` writes, a batch per transaction.

``ingest`` stores one return per transaction and checks, one at a time, whether it resends or supersedes an
earlier one: right for live submissions, minutes for a national month of 100,000 returns. A month loaded into
an empty month (a backfill, or synthetic data for benchmarks and the three-engine test) needs neither check,
so this writes the same rows (the same pseudonymised bundle, child facts and resources, built by the same
functions) with one multi-row insert per table per batch. The database's unique constraints still hold: a
batch holding a submission id already stored, or a second current return for the same patient and period,
fails whole with ``BulkLoadError`` and nothing of that batch is stored (use ``ingest`` to supersede).

Returns must already be valid national returns: the caller validates them (``Collector.validator``) or
builds them with the project's bundle builder, whose output the guide's tests validate.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from ..errors import FhirFamilyError
from .audit import audit_row
from .facts import extract
from .schema import CURRENT, ChildFact, StoredResource, Submission
from .store import (
    SubmissionStore,
    child_fact_values,
    patient_pseudonym,
    prepare_return,
    resource_values,
    submission_values,
)


class BulkLoadError(FhirFamilyError):
    """A batch could not be stored (nothing of it was); the message names the batch's first submission."""

    http_status = 409


def bulk_load(
    store: SubmissionStore, bundles: Iterable[dict[str, Any]], actor: str, batch_size: int = 1000
) -> int:
    """Store ``bundles`` (new, valid national returns) as current returns; returns how many were stored."""
    stored_count = 0
    iterator = iter(bundles)
    while batch := list(islice(iterator, batch_size)):
        _load_batch(store, batch, actor)
        stored_count += len(batch)
    return stored_count


def _load_batch(store: SubmissionStore, batch: list[dict[str, Any]], actor: str) -> None:
    now = datetime.now(UTC)
    submissions, children, resources = [], [], []
    for bundle in batch:
        facts = extract(bundle)
        prepared = prepare_return(bundle, facts, store.pseudonymiser)
        patient = patient_pseudonym(facts, store.pseudonymiser)
        submissions.append(
            {
                **submission_values(prepared, patient),
                "received_at": now,
                "status": CURRENT,
                "superseded_by": None,
            }
        )
        children.append(child_fact_values(facts, store.pseudonymiser))
        resources.append(resource_values(prepared))
    first = submissions[0]["submission_id"]
    try:
        with store.sessions.begin() as session:
            keys = list(
                session.scalars(
                    insert(Submission).returning(Submission.id, sort_by_parameter_order=True), submissions
                )
            )
            child_rows = _with_keys(keys, children)
            if child_rows:
                session.execute(insert(ChildFact), child_rows)
            resource_rows = _with_keys(keys, resources)
            if resource_rows:
                session.execute(insert(StoredResource), resource_rows)
            session.add(
                audit_row(actor, "bulk-load", first, 201, f"{len(batch)} return(s) stored as current")
            )
    except IntegrityError as exc:
        raise BulkLoadError(
            f"The batch starting with submission {first!r} was not stored: a submission id is already "
            "stored, or a patient already has a current return for the period (load corrections with ingest)"
        ) from exc


def _with_keys(keys: list[int], per_submission: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [
        {**row, "submission_pk": key} for key, rows in zip(keys, per_submission, strict=True) for row in rows
    ]
