"""The collector's HTTP layer, shared by every blueprint: the app's Collector, FHIR responses, bearer-token
authentication (audited 401/403), the audited 404 and the error handlers that turn every failure into an
OperationOutcome.

Blueprints import this module, never ``app.py``, so the app can import the blueprints without a cycle.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from fhir_family import messages as msg

from ..errors import AuthError, FhirFamilyError, InputError
from ..jsontext import parse_json
from ..outcome import Issue, IssueSeverity, IssueType, operation_outcome
from .service import Collector, forbidden
from .tokens import Principal, authenticate

log = logging.getLogger("fhir_family.collector.app")

FHIR_JSON = "application/fhir+json"
EXTENSION_KEY = "fhir_family_collector"


def collector() -> Collector:
    return current_app.extensions[EXTENSION_KEY]


def fhir_response(
    resource: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    body = json.dumps(resource, ensure_ascii=False)
    return Response(body, status=status, headers=headers or {}, content_type=FHIR_JSON)


# -- authentication ------------------------------------------------------------------------------------------


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if collector().settings.allow_query_token and request.method == "GET" and request.args.get("token"):
        return request.args["token"]
    return None


def require(*roles: str, action: str) -> Principal:
    """The caller's principal, or an audited 401/403. ``action`` names the request in the audit log."""
    token = _bearer_token()
    target = request.path
    if token is None:
        raise _unauthenticated(
            action, "no bearer token", IssueType.LOGIN, msg.COLLECTOR_NO_TOKEN,
            "Send an 'Authorization: Bearer <token>' header with a token issued by the collector",
        )
    principal = authenticate(collector().sessions, token)
    if principal is None:
        raise _unauthenticated(
            action, "unknown, expired or revoked token", IssueType.SECURITY, msg.COLLECTOR_BAD_TOKEN,
            "The bearer token is unknown, has expired or has been revoked",
        )
    if principal.role not in roles:
        collector().audit(principal, action, target, 403, f"role {principal.role} not allowed")
        raise forbidden(f"A {principal.role} token cannot {action.replace('-', ' ')}")
    g.principal = principal
    return principal


def _unauthenticated(
    action: str, reason: str, code: IssueType, message_id: str, diagnostics: str
) -> AuthError:
    """An audited 401: every refusal leaves an audit row, whatever was wrong with the credentials."""
    collector().audit(None, action, request.path, 401, reason)
    return AuthError(
        reason.capitalize(),
        [
            Issue(
                severity=IssueSeverity.ERROR,
                code=code,
                diagnostics=diagnostics,
                expression=None,
                message_id=message_id,
            )
        ],
    )


# -- responses for errors ------------------------------------------------------------------------------------


def not_found(principal: Principal, action: str, target: str, diagnostics: str) -> Response:
    """An audited 404: a provider probing for ids it does not hold leaves a trace."""
    collector().audit(principal, action, target, 404)
    issue = Issue(
        severity=IssueSeverity.ERROR,
        code=IssueType.NOT_FOUND,
        diagnostics=diagnostics,
        expression=None,
        message_id=msg.COLLECTOR_NOT_FOUND,
    )
    return fhir_response(operation_outcome([issue]), 404)


def read_json_body() -> Any:
    return parse_json(request.get_data(cache=False), msg.COLLECTOR_NOT_JSON)


def _fhir_family_error(exc: FhirFamilyError) -> Response:
    headers = {"WWW-Authenticate": 'Bearer realm="fhir-family collector"'} if exc.http_status == 401 else {}
    if exc.http_status == 503:
        headers["Retry-After"] = "2"  # storage contention: nothing was stored, the same request may be resent
    return fhir_response(exc.outcome, exc.http_status, headers)


def _http_error(exc: HTTPException) -> Response:
    code = {404: IssueType.NOT_FOUND, 405: IssueType.NOT_SUPPORTED, 413: IssueType.TOO_LONG}.get(
        exc.code or 400, IssueType.PROCESSING
    )
    outcome = operation_outcome(
        [Issue(severity=IssueSeverity.ERROR, code=code, diagnostics=f"{exc.name}: {exc.description}")]
    )
    return fhir_response(outcome, exc.code or 400)


def _unexpected_error(exc: Exception) -> Response:
    log.exception("collector: unexpected error")
    outcome = operation_outcome(
        [
            Issue(
                severity=IssueSeverity.FATAL,
                code=IssueType.EXCEPTION,
                diagnostics=(
                    "The collector failed unexpectedly; nothing of this request was stored. Resend it later."
                ),
                expression=None,
                message_id=msg.COLLECTOR_INTERNAL,
            )
        ]
    )
    return fhir_response(outcome, 500)


def _refuse_nul() -> None:
    """A NUL (``%00``) in the path or query is never meaningful, and PostgreSQL text cannot hold one: 400 here
    rather than a database error (a 500) later."""
    texts = [request.path, *request.args.keys(), *(v for values in request.args.listvalues() for v in values)]
    if any("\x00" in text for text in texts):
        raise InputError("The URL contains a NUL character (%00), which no path or parameter here allows")


def install(app: Flask) -> None:
    """Every error of ``app`` answers with an OperationOutcome; URLs with a NUL are refused first."""
    app.before_request(_refuse_nul)
    app.register_error_handler(FhirFamilyError, _fhir_family_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
