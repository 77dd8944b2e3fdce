"""Bulk ``$import``: an NDJSON file of national-return bundles (one per line) for month-end loads.

``POST /$import`` answers 202 at once with ``Content-Location: /$import-status/{job}``; a background thread
runs
every line through the same ``Collector.submit`` as a single POST (so each line is validated, authorised,
audited and stored atomically on its own, and a bad line never stops the rest). ``GET`` on the status URL
answers 202 with ``X-Progress`` while running and 200 with one outcome per line when done. Job status is kept
in the database, so any worker process can answer it.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, request

from fhir_family import messages as msg

from ..errors import FhirFamilyError, InputError
from ..jsontext import parse_json
from ..outcome import Issue, IssueSeverity, IssueType, operation_outcome
from .http import collector, fhir_response, not_found, require
from .pseudonym import redact_numbers
from .schema import ImportJob
from .service import Collector, forbidden
from .tokens import PROVIDER, Principal

log = logging.getLogger(__name__)

bulk_api = Blueprint("collector_bulk", __name__)
IN_PROGRESS, COMPLETED, FAILED = "in-progress", "completed", "failed"
_PROGRESS_EVERY = 25

_executors: dict[int, ThreadPoolExecutor] = {}


def _executor(collector: Collector) -> ThreadPoolExecutor:
    key = id(collector)
    if key not in _executors:
        _executors[key] = ThreadPoolExecutor(
            collector.settings.import_workers, thread_name_prefix="ff-import"
        )
    return _executors[key]


def start_import(
    collector: Collector, principal: Principal, spool: Path, total: int, request_url: str
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
            )
        )
    collector.audit(principal, "import", job_id, 202, f"{total} line(s) queued")
    _executor(collector).submit(_run_job, collector, principal, job_id, spool, request_url)
    return job_id


def _line_outcome(collector: Collector, principal: Principal, number: int, text: str) -> dict[str, Any]:
    submission_id = None
    try:
        bundle = parse_json(text, msg.COLLECTOR_NOT_JSON, first_line=number)
        if isinstance(bundle, dict) and isinstance(bundle.get("identifier"), dict):
            submission_id = bundle["identifier"].get("value")
        result = collector.submit(bundle, principal)
        return {
            "line": number,
            "submissionId": result.submission_id,
            "status": 201 if result.created else 200,
            "submissionStatus": result.status,
        }
    except FhirFamilyError as exc:
        return {
            "line": number,
            "submissionId": submission_id,
            "status": exc.http_status,
            "outcome": exc.outcome,
        }
    except Exception:  # noqa: BLE001 - one broken line must not stop the job; logged for the operator
        log.exception("import line %s failed", number)
        return {
            "line": number,
            "submissionId": submission_id,
            "status": 500,
            "outcome": operation_outcome(
                [
                    Issue(
                        IssueSeverity.FATAL,
                        IssueType.EXCEPTION,
                        "The collector failed on this line; resend it",
                    )
                ]
            ),
        }


def _lines(spool: Path) -> Iterator[tuple[int, str | None]]:
    """(line number, text) for each non-blank line; text None when the line is not UTF-8."""
    with spool.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError:
                yield number, None


def line_outcomes(collector: Collector, principal: Principal, spool: Path) -> Iterator[dict[str, Any]]:
    """Each non-blank line of an NDJSON file through ``Collector.submit`` on its own, in order: the one
    ingest path of ``$import`` and of MESH messages. Yields ``{line, submissionId, status, ...}`` per line."""
    for number, text in _lines(spool):
        if text is None:
            issue = Issue(
                IssueSeverity.ERROR,
                IssueType.STRUCTURE,
                f"Line {number} is not UTF-8",
                None,
                msg.COLLECTOR_NOT_UTF8,
            )
            yield {"line": number, "submissionId": None, "status": 400, "outcome": operation_outcome([issue])}
        else:
            yield _line_outcome(collector, principal, number, text)


def _run_job(collector: Collector, principal: Principal, job_id: str, spool: Path, request_url: str) -> None:
    outcomes: list[dict[str, Any]] = []
    accepted = rejected = 0
    try:
        for outcome in line_outcomes(collector, principal, spool):
            outcomes.append(outcome)
            if outcome["status"] in (200, 201):
                accepted += 1
            else:
                rejected += 1
            if len(outcomes) % _PROGRESS_EVERY == 0:
                _update(collector, job_id, processed=len(outcomes), accepted=accepted, rejected=rejected)
        status = COMPLETED
    except Exception:  # noqa: BLE001 - the job must end in a terminal state the client can see
        log.exception("import job %s failed", job_id)
        status = FAILED
    finally:
        spool.unlink(missing_ok=True)  # it holds raw NHS numbers: gone as soon as the job ends
    document = {
        "transactionTime": datetime.now(UTC).isoformat(),
        "request": request_url,
        "summary": {"lines": len(outcomes), "accepted": accepted, "rejected": rejected},
        "outcomes": outcomes,
    }
    _update(
        collector,
        job_id,
        processed=len(outcomes),
        accepted=accepted,
        rejected=rejected,
        status=status,
        finished_at=datetime.now(UTC),
        # Validator diagnostics may quote what was sent: mask anything shaped like an NHS number.
        outcomes_json=redact_numbers(json.dumps(document, ensure_ascii=False)),
    )


def _spool_body() -> tuple[Path, int]:
    """Copy the request body to a private temporary file (mode 600) in chunks, so a month-end file is never
    held in memory; returns the file and its number of non-blank lines."""
    fd, name = tempfile.mkstemp(prefix="ff-import-", suffix=".ndjson")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := request.stream.read(1 << 20):
                out.write(chunk)
        with path.open("rb") as lines:
            total = sum(1 for line in lines if line.strip())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, total


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
        spool.unlink(missing_ok=True)
        raise InputError("The NDJSON body is empty: send one national-return bundle per line")
    job_id = start_import(collector(), principal, spool, total, request.url)
    status_url = f"{request.url_root.rstrip('/')}/$import-status/{job_id}"
    outcome = operation_outcome(
        [Issue(IssueSeverity.INFORMATION, IssueType.INFORMATIONAL, f"Import accepted; poll {status_url}")]
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
    return Response(job.outcomes_json or "{}", 200, content_type="application/json")
