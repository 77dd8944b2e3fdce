"""Request ids and error handlers: every error leaves as an OperationOutcome, never a stack trace.

The request id (``X-Request-ID`` from the client when it is sensible, else a fresh one) is echoed in the
response header, stamped on every log record made while serving the request, and quoted in the body of an
unexpected-error response, so a support call can find the log lines without the client ever seeing internals.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, has_request_context, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from fhir_family import messages as msg
from fhir_family.errors import FhirFamilyError
from fhir_family.outcome import Issue, IssueSeverity, IssueType, operation_outcome

from .http import fhir_response

REQUEST_ID_HEADER = "X-Request-ID"
_SENSIBLE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
log = logging.getLogger("fhir_family.facade")

_HTTP_ISSUE_TYPE = {
    400: IssueType.INVALID,
    404: IssueType.NOT_FOUND,
    405: IssueType.NOT_SUPPORTED,
    406: IssueType.NOT_SUPPORTED,
    413: IssueType.TOO_LONG,
    415: IssueType.NOT_SUPPORTED,
    422: IssueType.PROCESSING,
}


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every log record (``-`` outside a request) so formats can show it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


def current_request_id() -> str:
    return g.get("request_id", "-") if has_request_context() else "-"


def _assign_request_id() -> None:
    sent = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = sent if _SENSIBLE_ID.match(sent) else uuid.uuid4().hex
    g.started = time.perf_counter()


def _stamp_and_log(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = current_request_id()
    elapsed_ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
    log.info("%s %s -> %s in %.1f ms [request_id=%s]", request.method, request.path, response.status_code,
             elapsed_ms, current_request_id())
    return response


def _outcome_response(status: int, issues: list[Issue], headers: dict[str, str] | None = None) -> Response:
    # Errors are always answered in FHIR JSON, even to a client whose Accept header caused the error.
    return fhir_response(operation_outcome(issues), status, headers=headers, negotiate=False)


def _handle_project_error(exc: FhirFamilyError) -> Response:
    return _outcome_response(exc.http_status, exc.issues, getattr(exc, "headers", None))


def _handle_http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    code = _HTTP_ISSUE_TYPE.get(status, IssueType.PROCESSING)
    text = exc.description or exc.name
    if status == 413:
        limit = request.max_content_length
        text = f"Request body is larger than this endpoint's limit of {limit} bytes" if limit else exc.name
    issue = Issue(
        severity=IssueSeverity.ERROR, code=code, diagnostics=text, message_id=msg.http_status(status)
    )
    headers = {}
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        headers["Allow"] = ", ".join(exc.valid_methods)
    return _outcome_response(status, [issue], headers)


def _handle_unexpected(exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        return _handle_http_error(exc)
    log.exception("unexpected error [request_id=%s]", current_request_id())
    text = f"Internal error. Nothing was forwarded. Quote request id {current_request_id()} to support."
    issue = Issue(
        severity=IssueSeverity.FATAL,
        code=IssueType.EXCEPTION,
        diagnostics=text,
        message_id=msg.http_status(500),
    )
    return _outcome_response(500, [issue])


def install(app: Flask) -> None:
    """Wire request ids, request logging and the error handlers into ``app``."""
    app.before_request(_assign_request_id)
    app.after_request(_stamp_and_log)
    app.register_error_handler(FhirFamilyError, _handle_project_error)
    app.register_error_handler(HTTPException, _handle_http_error)
    app.register_error_handler(Exception, _handle_unexpected)
    if not any(isinstance(f, RequestIdFilter) for f in log.filters):
        log.addFilter(RequestIdFilter())
