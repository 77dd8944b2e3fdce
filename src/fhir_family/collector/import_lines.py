"""One ``$import`` line made ready to store, or refused: the CPU half of a line, with no database work when
it runs in a worker process (``import_pool``), so it can run on another core than the writer.

A line is read as UTF-8 JSON, then checked as ``Collector.prepare`` checks a single POST (caller, profile
validation, facts, pseudonymisation). A refusal becomes the line's outcome; a refusal by the check is also
an audit row, written by ``Collector.prepare`` in-thread or, for a worker process, by the writer
(``PreparedLine.refusal``), since a forked process must not use its parent's database connections.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from fhir_family import messages as msg

from ..errors import FhirFamilyError
from ..jsontext import parse_json
from ..outcome import Issue, IssueSeverity, IssueType, operation_outcome
from .service import Collector, submission_target
from .store import PreparedReturn
from .tokens import Principal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedLine:
    """A line ready to store (``prepared``) or its outcome already decided (``outcome``)."""

    number: int
    prepared: PreparedReturn | None = None
    outcome: dict[str, Any] | None = None
    refusal: tuple[str | None, int, str] | None = None
    """(submission id, HTTP status, message) of a check's refusal still to audit."""


def error_outcome(number: int, submission_id: Any, exc: Exception) -> dict[str, Any]:
    if isinstance(exc, FhirFamilyError):
        status, outcome = exc.http_status, exc.outcome
        return {"line": number, "submissionId": submission_id, "status": status, "outcome": outcome}
    # One broken line must not stop the job; logged for the operator, no internals to the client.
    log.error("import line %s failed", number, exc_info=exc)
    issue = Issue(
        severity=IssueSeverity.FATAL,
        code=IssueType.EXCEPTION,
        diagnostics="The collector failed on this line; resend it",
    )
    outcome = operation_outcome([issue])
    return {"line": number, "submissionId": submission_id, "status": 500, "outcome": outcome}


def not_utf8(number: int) -> dict[str, Any]:
    issue = Issue(
        severity=IssueSeverity.ERROR,
        code=IssueType.STRUCTURE,
        diagnostics=f"Line {number} is not UTF-8",
        expression=None,
        message_id=msg.COLLECTOR_NOT_UTF8,
    )
    return {"line": number, "submissionId": None, "status": 400, "outcome": operation_outcome([issue])}


def prepare_line(
    collector: Collector, principal: Principal, number: int, text: str | None, *, in_worker: bool = False
) -> PreparedLine:
    """Line ``number`` (``text`` None: not UTF-8) parsed and checked. In a worker process the check's
    refusal is handed back for the writer to audit; in the writer's own thread ``Collector.prepare``
    audits it at once."""
    if text is None:
        return PreparedLine(number, outcome=not_utf8(number))
    submission_id = None
    try:
        bundle = parse_json(text, msg.COLLECTOR_NOT_JSON, first_line=number)
    except Exception as exc:  # noqa: BLE001 - the line's outcome; the others go on
        return PreparedLine(number, outcome=error_outcome(number, None, exc))
    if isinstance(bundle, dict) and isinstance(bundle.get("identifier"), dict):
        submission_id = bundle["identifier"].get("value")
    try:
        if in_worker:
            return PreparedLine(number, prepared=collector.check(bundle, principal))
        return PreparedLine(number, prepared=collector.prepare(bundle, principal))
    except FhirFamilyError as exc:
        refusal = (submission_target(bundle), exc.http_status, str(exc)) if in_worker else None
        return PreparedLine(number, outcome=error_outcome(number, submission_id, exc), refusal=refusal)
    except Exception as exc:  # noqa: BLE001 - the line's outcome; the others go on
        return PreparedLine(number, outcome=error_outcome(number, submission_id, exc))
