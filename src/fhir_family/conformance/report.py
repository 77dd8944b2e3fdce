"""A human-readable rendering of OperationOutcomes: what an integration engineer reads in a terminal.

One block per validated file: a headline (valid or not, with counts), then one line per issue giving severity,
FHIRPath expression, stable message id and the plain-English diagnostics. Information issues are left out
of the lines (the "No issues found." convention would only add noise) but errors and warnings are all shown.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..outcome import COLUMN_EXTENSION, LINE_EXTENSION, message_id

_SHOWN_SEVERITIES = ("fatal", "error", "warning")


def _issue_extension(issue: dict[str, Any], url: str) -> int | None:
    for extension in issue.get("extension", []):
        if extension.get("url") == url:
            return extension.get("valueInteger")
    return None


def issue_line(issue: dict[str, Any]) -> int | None:
    """The input line an issue refers to: the standard ``operationoutcome-issue-line`` extension."""
    return _issue_extension(issue, LINE_EXTENSION)


def issue_column(issue: dict[str, Any]) -> int | None:
    """The input column an issue refers to: the standard ``operationoutcome-issue-col`` extension."""
    return _issue_extension(issue, COLUMN_EXTENSION)


def severity_counts(outcome: dict[str, Any]) -> Counter[str]:
    """How many issues of each severity (``fatal`` counted with ``error``)."""
    counts: Counter[str] = Counter()
    for issue in outcome.get("issue", []):
        severity = issue.get("severity", "error")
        counts["error" if severity == "fatal" else severity] += 1
    return counts


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def describe_counts(counts: Counter[str]) -> str:
    return f"{_plural(counts['error'], 'error')}, {_plural(counts['warning'], 'warning')}"


def render_outcome(title: str, outcome: dict[str, Any]) -> str:
    """One file's block: ``title: valid|INVALID|UNUSABLE (n errors, m warnings)``, then its issues."""
    counts = severity_counts(outcome)
    fatal = any(issue.get("severity") == "fatal" for issue in outcome.get("issue", []))
    verdict = "UNUSABLE" if fatal else "INVALID" if counts["error"] else "valid"
    lines = [f"{title}: {verdict} ({describe_counts(counts)})"]
    for issue in outcome.get("issue", []):
        severity = issue.get("severity", "error")
        if severity not in _SHOWN_SEVERITIES:
            continue
        where = ", ".join(issue.get("expression", []))
        line, column = issue_line(issue), issue_column(issue)
        if line is not None:
            position = f"line {line}" if column is None else f"line {line}, col {column}"
            where = f"{position}: {where}" if where else position
        where = where or "(whole input)"
        ident = message_id(issue) or issue.get("code", "")
        lines.append(f"  {severity.upper():8} {where}")
        lines.append(f"           [{ident}] {issue.get('diagnostics', '')}")
    return "\n".join(lines)


def render_summary(outcomes: dict[str, dict[str, Any]]) -> str:
    """The closing line over every file: how many valid, how many not, total errors and warnings."""
    total: Counter[str] = Counter()
    invalid = 0
    for outcome in outcomes.values():
        counts = severity_counts(outcome)
        total.update(counts)
        invalid += 1 if counts["error"] else 0
    valid = len(outcomes) - invalid
    return f"{_plural(len(outcomes), 'file')}: {valid} valid, {invalid} invalid ({describe_counts(total)})"


def render_report(outcomes: dict[str, dict[str, Any]]) -> str:
    """Every file's block followed by the summary line."""
    blocks = [render_outcome(title, outcome) for title, outcome in outcomes.items()]
    return "\n".join([*blocks, "", render_summary(outcomes)]) + "\n"
