"""The project's exceptions: one root that carries a FHIR OperationOutcome.

Foreign errors (HL7 parser errors, jsonschema errors, SQLAlchemy IntegrityError, JSON decode errors) are
translated at the boundary into these types with the offending location attached; the facade and collector
turn them into an OperationOutcome response, and the CLI into a one-line message and exit code.

Every exception the project raises on purpose is a ``FhirFamilyError``; each class names its HTTP status and
the message id its issue carries when the raiser gives no issues of its own (``tests/test_errors.py`` checks
both for every subclass in the package). Where raisers know more, they pass issues with a specific id.
"""

from __future__ import annotations

from typing import Any

from fhir_family import messages as msg

from .outcome import Issue, IssueSeverity, IssueType, operation_outcome


class FhirFamilyError(Exception):
    """Root of every error this project raises on purpose; ``issues`` say what was wrong and where."""

    http_status: int = 400
    message_id: str = msg.ERROR
    """The message id of the default issue, made when the raiser passes no issues."""

    def __init__(self, message: str, issues: list[Issue] | None = None) -> None:
        super().__init__(message)
        self.issues: list[Issue] = issues or [
            Issue(
                severity=IssueSeverity.ERROR,
                code=IssueType.INVALID,
                diagnostics=message,
                expression=None,
                message_id=self.message_id,
            )
        ]

    @property
    def outcome(self) -> dict[str, Any]:
        """The error as a FHIR OperationOutcome resource."""
        return operation_outcome(self.issues)


class InputError(FhirFamilyError, ValueError):
    """The input could not be read at all (not JSON, not HL7 v2, unreadable file): HTTP 400, CLI exit 2."""

    http_status = 400
    message_id = msg.INPUT


class MappingError(FhirFamilyError, ValueError):
    """The input was readable but could not be mapped to a national return (missing or impossible fields)."""

    http_status = 422
    message_id = msg.MAPPING


class NonConformantError(FhirFamilyError):
    """A bundle or resource failed profile validation: HTTP 422, CLI exit 1."""

    http_status = 422
    message_id = msg.NONCONFORMANT


class AuthError(FhirFamilyError):
    """Missing or bad credentials: HTTP 401."""

    http_status = 401
    message_id = msg.AUTH


class ForbiddenError(FhirFamilyError):
    """Credentials are valid but do not allow this action: HTTP 403."""

    http_status = 403
    message_id = msg.FORBIDDEN
