"""OperationOutcome building blocks shared by the validator, the facade and the collector.

Every problem this project reports travels as a FHIR OperationOutcome issue: severity, IssueType code,
plain-English diagnostics, a FHIRPath expression with indices and a stable message id (carried in
``issue.details.coding`` with the system below), so integration engineers can match on ids, not prose.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

MESSAGE_ID_SYSTEM = "https://fhir-family.uk/fhir/CodeSystem/message-id"
LINE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-line"
"""Core extension on an issue: the input line it refers to (NDJSON/CSV line, or line in a JSON text)."""
COLUMN_EXTENSION = "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-col"
"""Core extension on an issue: the column of the input it refers to."""
SOURCE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-source"
"""Core extension on an issue ("helps a user track down the source of the problem"): for a failed invariant,
the FHIRPath of the rule, kept out of the sentence in ``diagnostics``."""


class IssueSeverity(StrEnum):
    """http://hl7.org/fhir/R4/valueset-issue-severity.html"""

    FATAL = "fatal"
    ERROR = "error"
    WARNING = "warning"
    INFORMATION = "information"


class IssueType(StrEnum):
    """The subset of http://hl7.org/fhir/R4/valueset-issue-type.html this project emits."""

    INVALID = "invalid"
    STRUCTURE = "structure"
    REQUIRED = "required"
    VALUE = "value"
    INVARIANT = "invariant"
    SECURITY = "security"
    LOGIN = "login"
    FORBIDDEN = "forbidden"
    PROCESSING = "processing"
    NOT_SUPPORTED = "not-supported"
    DUPLICATE = "duplicate"
    NOT_FOUND = "not-found"
    TOO_LONG = "too-long"
    CODE_INVALID = "code-invalid"
    EXTENSION = "extension"
    INFORMATIONAL = "informational"
    EXCEPTION = "exception"
    BUSINESS_RULE = "business-rule"
    CONFLICT = "conflict"
    TRANSIENT = "transient"
    THROTTLED = "throttled"
    TIMEOUT = "timeout"
    TOO_COSTLY = "too-costly"


@dataclass(frozen=True, kw_only=True)
class Issue:
    """One problem found in one place. Keyword-only: ``Issue(severity=..., code=..., diagnostics=...)`` says
    which string is the diagnostics and which the message id, where five positional strings did not."""

    severity: IssueSeverity
    code: IssueType
    diagnostics: str
    expression: str | None = None
    message_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: the machine-readable rule that failed (an invariant's FHIRPath), rendered as the issue-source extension
    rule: str | None = None

    def to_fhir(self) -> dict[str, Any]:
        issue: dict[str, Any] = {}
        if self.rule:
            issue["extension"] = [{"url": SOURCE_EXTENSION, "valueString": self.rule}]
        issue.update(severity=str(self.severity), code=str(self.code))
        if self.message_id:
            issue["details"] = {"coding": [{"system": MESSAGE_ID_SYSTEM, "code": self.message_id}]}
        issue["diagnostics"] = self.diagnostics
        if self.expression:
            issue["expression"] = [self.expression]
        issue.update(self.extra)
        return issue


def operation_outcome(issues: Iterable[Issue]) -> dict[str, Any]:
    """An OperationOutcome resource; no issues gives the conventional single 'all OK' information issue."""
    rendered = [issue.to_fhir() for issue in issues]
    if not rendered:
        rendered = [{"severity": "information", "code": "informational", "diagnostics": "No issues found."}]
    return {"resourceType": "OperationOutcome", "issue": rendered}


def has_errors(outcome: dict[str, Any]) -> bool:
    """True when any issue in the OperationOutcome is an error or fatal."""
    return any(issue.get("severity") in ("error", "fatal") for issue in outcome.get("issue", []))


def message_id(issue: dict[str, Any]) -> str | None:
    """The stable message id of a rendered issue, if it has one."""
    for coding in issue.get("details", {}).get("coding", []):
        if coding.get("system") == MESSAGE_ID_SYSTEM:
            return coding.get("code")
    return None
