"""Bulk ``$import``: an NDJSON file of national-return bundles (one per line) for month-end loads.

``POST /$import`` answers 202 at once with ``Content-Location: /$import-status/{job}``; a background thread
runs every line through the same two halves as a single POST (``Collector.prepare``: authorise, validate,
pseudonymise; then the store), so each line is validated, authorised, audited and stored atomically on its
own, and a bad line never stops the rest. A job of ``POOL_MIN_LINES`` or more is checked in worker
processes while its thread stores (``import_pool``: both cores for one job). Lines go to the database in
batches of ``BATCH_LINES``: the batch's plainly new returns with one multi-row insert per table
(``batch_store``), the others in one transaction with a savepoint per line (``SubmissionStore.store_many``),
so a commit serves many returns. The body is spooled to disk in chunks, encrypted under a key only the job
holds (``spool.py``: a process killed mid-job leaves no readable NHS number behind), and read back line by
line; each batch's outcomes are written to ``import_outcomes`` as it ends, so a job's memory does not grow
with its size. ``GET`` on the status URL answers 202 with ``X-Progress`` while running and 200 with one
outcome per line when done, streamed from the database. Job status is kept in the database, so any worker
process can answer it.

A job records the process running it (``worker``: host and pid). When a collector starts,
``recover_interrupted`` deletes the spools of dead processes and marks their jobs ``failed``, with the lines
done so far: the client resends the file, and the lines already stored are answered as resends (no change).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, request
from sqlalchemy import insert, select, update

from ..errors import FhirFamilyError, InputError
from ..outcome import Issue, IssueSeverity, IssueType, operation_outcome
from .batch_store import store_batch
from .database import READ_ONLY
from .http import collector, fhir_response, not_found, require
from .import_lines import PreparedLine, error_outcome, prepare_line
from .import_pool import prepared_lines
from .pseudonym import redact_numbers
from .schema import ImportJob, ImportOutcome
from .service import Collector, forbidden
from .spool import EncryptedSpool, process_alive, spool_stream, sweep_spools
from .store import PreparedReturn
from .tokens import PROVIDER, Principal

log = logging.getLogger(__name__)

bulk_api = Blueprint("collector_bulk", __name__)
IN_PROGRESS, COMPLETED, FAILED = "in-progress", "completed", "failed"
BATCH_LINES = 200
"""Lines per database transaction: one commit per batch; each line still its own savepoint."""
POOL_MIN_LINES = 100
"""A job of fewer lines is checked in the job's own thread: forking workers would cost more than it saves."""

_executors: dict[int, ThreadPoolExecutor] = {}


def _executor(collector: Collector) -> ThreadPoolExecutor:
    key = id(collector)
    if key not in _executors:
        _executors[key] = ThreadPoolExecutor(
            collector.settings.import_workers, thread_name_prefix="ff-import"
        )
    return _executors[key]


def _worker() -> str:
    """This process, as recorded on the jobs it runs: host and pid."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}"


def start_import(
    collector: Collector, principal: Principal, spool: EncryptedSpool, total: int, request_url: str
) -> str:
    """Record a job and queue it; the job owns (and deletes) the spooled body. Returns the job id."""
    job_id = str(uuid.uuid4())
    with collector.sessions.begin() as session:
        session.add(
            ImportJob(
                id=job_id,
                ods_code=principal.ods_code or "",
                actor=principal.actor[:120],
                created_at=datetime.now(UTC),
                status=IN_PROGRESS,
                total=total,
                processed=0,
                accepted=0,
                rejected=0,
                worker=_worker(),
            )
        )
    collector.audit(principal, "import", job_id, 202, f"{total} line(s) queued")
    _executor(collector).submit(_run_job, collector, principal, job_id, spool, total, request_url)
    return job_id


def _raw_lines(source: Path | EncryptedSpool) -> Iterator[bytes]:
    if isinstance(source, EncryptedSpool):
        yield from source.lines()
        return
    with source.open("rb") as lines:
        yield from lines


def _lines(raw_lines: Iterable[bytes]) -> Iterator[tuple[int, str | None]]:
    """(line number, text) for each non-blank line; text None when the line is not UTF-8."""
    for number, raw in enumerate(raw_lines, start=1):
        if not raw.strip():
            continue
        try:
            yield number, raw.decode("utf-8")
        except UnicodeDecodeError:
            yield number, None


def _store_lines(
    collector: Collector, principal: Principal, lines: list[PreparedLine]
) -> list[dict[str, Any]]:
    """The outcomes of a batch of checked lines, in order: refusals audited, the prepared returns stored in
    one transaction (a savepoint each)."""
    outcomes: list[dict[str, Any]] = []
    pending: list[tuple[int, int, PreparedReturn]] = []
    for line in lines:
        if line.refusal is not None:
            collector.audit(principal, "submit", *line.refusal)
        if line.prepared is None:
            outcomes.append(line.outcome or {})
            continue
        pending.append((len(outcomes), line.number, line.prepared))
        outcomes.append({})
    if pending:
        batch = [(prepared, principal) for _slot, _number, prepared in pending]
        results = store_batch(collector.store, batch)
        for (slot, number, prepared), result in zip(pending, results, strict=True):
            sid = prepared.facts.submission_id
            if isinstance(result, Exception):
                if isinstance(result, FhirFamilyError):
                    collector.audit(principal, "submit", sid, result.http_status, str(result))
                outcomes[slot] = error_outcome(number, sid, result)
            else:
                outcomes[slot] = {
                    "line": number,
                    "submissionId": result.submission_id,
                    "status": 201 if result.created else 200,
                    "submissionStatus": result.status,
                }
    return outcomes


def line_batches(
    collector: Collector,
    principal: Principal,
    spool: Path | EncryptedSpool,
    size: int | None = None,
    processes: int = 0,
) -> Iterator[list[dict[str, Any]]]:
    """The outcomes of an NDJSON file's non-blank lines, a batch at a time, in order: the one ingest path of
    ``$import`` and of MESH messages. Each outcome is ``{line, submissionId, status, ...}``. With
    ``processes`` > 0 the lines are checked in that many worker processes (``import_pool``) while this
    thread stores; otherwise each line is checked here."""
    size = size or BATCH_LINES
    lines = _lines(_raw_lines(spool))
    if processes > 0:
        checked: Iterator[PreparedLine] = prepared_lines(collector, principal, lines, processes)
    else:
        checked = (prepare_line(collector, principal, number, text) for number, text in lines)
    while batch := list(islice(checked, size)):
        yield _store_lines(collector, principal, batch)


def line_outcomes(
    collector: Collector, principal: Principal, spool: Path | EncryptedSpool
) -> Iterator[dict[str, Any]]:
    """Each non-blank line's outcome, in order (``line_batches`` flattened)."""
    for batch in line_batches(collector, principal, spool):
        yield from batch


def _run_job(
    collector: Collector,
    principal: Principal,
    job_id: str,
    spool: EncryptedSpool,
    total: int,
    request_url: str,
) -> None:
    processed = accepted = rejected = 0
    try:
        processes = collector.settings.import_processes if total >= POOL_MIN_LINES else 0
        for outcomes in line_batches(collector, principal, spool, processes=processes):
            processed += len(outcomes)
            good = sum(1 for outcome in outcomes if outcome["status"] in (200, 201))
            accepted += good
            rejected += len(outcomes) - good
            rows = [
                # Validator diagnostics may quote what was sent: mask anything shaped like an NHS number.
                {"job_id": job_id, "line": item["line"], "body": redact_numbers(json.dumps(item))}
                for item in outcomes
            ]
            with collector.engine.begin() as connection:
                connection.execute(insert(ImportOutcome.__table__), rows)
                connection.execute(
                    update(ImportJob.__table__)
                    .where(ImportJob.__table__.c.id == job_id)
                    .values(processed=processed, accepted=accepted, rejected=rejected)
                )
        status = COMPLETED
    except Exception:  # noqa: BLE001 - the job must end in a terminal state the client can see
        log.exception("import job %s failed", job_id)
        status = FAILED
    finally:
        spool.delete()  # unreadable without the job's key, and gone as soon as the job ends
    head = _head(request_url, status, processed, accepted, rejected)
    _update(
        collector,
        job_id,
        processed=processed,
        accepted=accepted,
        rejected=rejected,
        status=status,
        finished_at=datetime.now(UTC),
        outcomes_json=json.dumps(head, ensure_ascii=False),
    )


def _head(
    request_url: str | None,
    status: str,
    processed: int,
    accepted: int,
    rejected: int,
    note: str | None = None,
) -> dict[str, Any]:
    """The result document's head: when, what, how it ended and the counts (``note`` says why it failed)."""
    head: dict[str, Any] = {
        "transactionTime": datetime.now(UTC).isoformat(),
        "request": request_url,
        "status": status,
        "summary": {"lines": processed, "accepted": accepted, "rejected": rejected},
    }
    if note:
        head["note"] = note
    return head


def recover_interrupted(collector: Collector) -> list[str]:
    """After a crash: delete the spools of dead processes, and mark the jobs those processes were running on
    this host ``failed`` with the lines done so far, so a client polling the job learns to resend rather than
    waiting for ever. Jobs of live processes (another worker's) are left alone. Returns the failed job ids."""
    sweep_spools()
    host = socket.gethostname()[:60]
    table = ImportJob.__table__
    with collector.engine.connect().execution_options(**READ_ONLY) as connection:
        running = connection.execute(
            select(table.c.id, table.c.worker, table.c.total, table.c.processed, table.c.accepted,
                   table.c.rejected).where(table.c.status == IN_PROGRESS, table.c.worker.like(f"{host}:%"))
        ).all()
    failed = []
    for job in running:
        pid = job.worker.rsplit(":", 1)[1]
        if not pid.isdigit() or process_alive(int(pid)):
            continue
        note = (
            f"The collector stopped during this job after {job.processed} of {job.total} line(s); resend "
            "the whole file: lines already stored are answered 200 as resends and change nothing"
        )
        head = _head(None, FAILED, job.processed, job.accepted, job.rejected, note)
        with collector.engine.begin() as connection:
            connection.execute(
                update(table)
                .where(table.c.id == job.id, table.c.status == IN_PROGRESS)
                .values(status=FAILED, finished_at=datetime.now(UTC), outcomes_json=json.dumps(head))
            )
        log.warning("import job %s was interrupted (%s): marked failed", job.id, job.worker)
        failed.append(job.id)
    return failed


def _result_document(collector: Collector, job_id: str, head_json: str) -> Iterator[str]:
    """The finished job's document, streamed: its head, then the outcome rows a thousand at a time."""
    head = json.loads(head_json)
    if "outcomes" in head:  # a job finished before migration 0004 kept the whole document
        yield head_json
        return
    yield head_json[:-1] + ', "outcomes": ['
    query = (
        select(ImportOutcome.__table__.c.body)
        .where(ImportOutcome.__table__.c.job_id == job_id)
        .order_by(ImportOutcome.__table__.c.line)
    )
    with collector.engine.connect().execution_options(**READ_ONLY, yield_per=1000) as connection:
        first = True
        for partition in connection.execute(query).partitions():
            text = ",".join(row.body for row in partition)
            yield text if first else "," + text
            first = False
    yield "]}"


def _spool_body() -> tuple[EncryptedSpool, int]:
    """Copy the request body in chunks to a private (0600), encrypted temporary file, so a month-end file is
    never held in memory nor left readable on disk; returns the spool and its number of non-blank lines."""
    spool = spool_stream(iter(lambda: request.stream.read(1 << 20), b""))
    return spool, spool.non_blank_lines


def _update(collector: Collector, job_id: str, **values: Any) -> None:
    with collector.sessions.begin() as session:
        job = session.get(ImportJob, job_id)
        if job is not None:
            for key, value in values.items():
                setattr(job, key, value)


@bulk_api.post("/$import")
def import_ndjson() -> Response:
    principal = require(PROVIDER, action="import")
    spool, total = _spool_body()
    if total == 0:
        spool.delete()
        raise InputError("The NDJSON body is empty: send one national-return bundle per line")
    job_id = start_import(collector(), principal, spool, total, request.url)
    status_url = f"{request.url_root.rstrip('/')}/$import-status/{job_id}"
    outcome = operation_outcome(
        [
            Issue(
                severity=IssueSeverity.INFORMATION,
                code=IssueType.INFORMATIONAL,
                diagnostics=f"Import accepted; poll {status_url}",
            )
        ]
    )
    return fhir_response(outcome, 202, {"Content-Location": status_url})


@bulk_api.get("/$import-status/<job_id>")
def import_status(job_id: str) -> Response:
    principal = require(PROVIDER, action="import-status")
    with collector().sessions() as session:
        job = session.get(ImportJob, job_id)
    if job is None:
        return not_found(principal, "import-status", job_id, f"No import job {job_id}")
    if job.ods_code != principal.ods_code:
        collector().audit(principal, "import-status", job_id, 403, "job of another provider")
        raise forbidden("A provider may read only its own import jobs")
    if job.status == IN_PROGRESS:
        return Response(
            status=202, headers={"X-Progress": f"{job.processed} of {job.total} lines", "Retry-After": "1"}
        )
    if not job.outcomes_json:
        return Response("{}", 200, content_type="application/json")
    document = _result_document(collector(), job_id, job.outcomes_json)
    return Response(document, 200, content_type="application/json")
