"""The per-line outcome the collector sends back by MESH: NDJSON, one OperationOutcome per line of the
message it answers, in the same order. ``id`` is ``line-N``; the first issue says what happened to that line
(``information``: stored or already stored; ``error``: refused, with the HTTP status ``$import`` would have
given), and the collector's own issues (the validator's, with FHIRPath expressions) follow it."""

from __future__ import annotations

from typing import Any

from .. import messages as msg
from ..outcome import Issue, IssueSeverity, IssueType, operation_outcome

ACCEPTED = (200, 201)


def line_resource(result: dict[str, Any]) -> dict[str, Any]:
    """The OperationOutcome for one line, from the per-line result of ``collector.bulk.line_outcomes``."""
    line, status = result["line"], result["status"]
    submission = result.get("submissionId") or "(no submission id)"
    if status in ACCEPTED:
        what = "stored" if status == 201 else "already stored (a resend; nothing changed)"
        state = result.get("submissionStatus", "current")
        text = f"line {line}: submission {submission} {what}; it is {state}"
        message_id = msg.MESH_STORED if status == 201 else msg.MESH_UNCHANGED
        issues = [
            Issue(
                severity=IssueSeverity.INFORMATION,
                code=IssueType.INFORMATIONAL,
                diagnostics=text,
                expression=None,
                message_id=message_id,
            )
        ]
        return {**operation_outcome(issues), "id": f"line-{line}"}
    text = f"line {line}: submission {submission} refused (HTTP {status})"
    head = Issue(
        severity=IssueSeverity.ERROR,
        code=IssueType.PROCESSING,
        diagnostics=text,
        expression=None,
        message_id=msg.MESH_LINE_REFUSED,
    ).to_fhir()
    detail = (result.get("outcome") or {}).get("issue", [])
    return {"resourceType": "OperationOutcome", "id": f"line-{line}", "issue": [head, *detail]}


def message_refused(text: str, message_id: str) -> dict[str, Any]:
    """The one outcome of a message refused whole (unbound mailbox, empty message)."""
    issue = Issue(
        severity=IssueSeverity.ERROR,
        code=IssueType.FORBIDDEN,
        diagnostics=text,
        expression=None,
        message_id=msg.MESH_REFUSED,
    )
    return {**operation_outcome([issue]), "id": f"message-{message_id}"}


def is_accepted(resource: dict[str, Any]) -> bool:
    issues = resource.get("issue") or [{}]
    return issues[0].get("severity") == "information"


def summary_text(resource: dict[str, Any]) -> str:
    """One line for a person: the head issue, then the first of the collector's errors with its location."""
    issues = resource.get("issue") or []
    if not issues:
        return "(empty outcome)"
    text = issues[0].get("diagnostics", "")
    for issue in issues[1:]:
        if issue.get("severity") in ("error", "fatal"):
            where = issue.get("expression") or issue.get("location") or []
            text += f": {issue.get('diagnostics', issue.get('code'))}" + (f" at {where[0]}" if where else "")
            break
    return text
