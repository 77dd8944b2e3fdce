"""What gunicorn itself answers, as FHIR: the requests the applications never see (a request line or header
too long, a malformed request, a client too slow) get an OperationOutcome, as every other error of both
servers, instead of gunicorn's own HTML page.

``BufferingThreadWorker`` (``slow_clients.py``) writes these.
"""

from __future__ import annotations

from gunicorn.http import errors as http_errors

from . import messages as msg
from .jsontext import dumps_compact
from .outcome import Issue, IssueSeverity, IssueType, operation_outcome
from .security_headers import DATA_POLICY

_REASONS = {400: "Bad Request", 403: "Forbidden", 408: "Request Timeout", 414: "URI Too Long",
            431: "Request Header Fields Too Large", 500: "Internal Server Error", 501: "Not Implemented"}


def refusal(exc: BaseException) -> tuple[int, IssueType, str]:
    """(status, issue type, diagnostics) for an exception gunicorn raised while reading a request."""
    if isinstance(exc, http_errors.LimitRequestLine):
        return 414, IssueType.TOO_LONG, f"The request line (method, URL and version) is too long: {exc}"
    if isinstance(exc, http_errors.LimitRequestHeaders):
        return 431, IssueType.TOO_LONG, f"The request headers are too many or too large: {exc}"
    if isinstance(exc, http_errors.UnsupportedTransferCoding):
        return 501, IssueType.NOT_SUPPORTED, f"Unsupported transfer coding: {exc}"
    if isinstance(exc, http_errors.ForbiddenProxyRequest):
        return 403, IssueType.FORBIDDEN, "A PROXY protocol header from an address not allowed to send one"
    if isinstance(exc, http_errors.ConfigurationProblem):
        return 500, IssueType.EXCEPTION, f"The server is misconfigured: {exc}"
    if isinstance(exc, (http_errors.ParseException, http_errors.InvalidChunkSize,
                        http_errors.ChunkMissingTerminator)):
        return 400, IssueType.STRUCTURE, f"Not a well-formed HTTP request: {type(exc).__name__}: {exc}"
    return 500, IssueType.EXCEPTION, "The server failed unexpectedly on this request; nothing was done"


def error_answer(status: int, code: IssueType, diagnostics: str) -> bytes:
    """A whole HTTP/1.1 response (``Connection: close``) carrying one OperationOutcome issue, with the
    security headers every answer of these servers carries."""
    outcome = operation_outcome([Issue(
        severity=IssueSeverity.FATAL if status >= 500 else IssueSeverity.ERROR,
        code=code,
        diagnostics=diagnostics,
        message_id=msg.http_status(status),
    )])
    body = dumps_compact(outcome).encode("utf-8")
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/fhir+json; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "Cache-Control: no-store\r\n"
        f"Content-Security-Policy: {DATA_POLICY}\r\n"
        "X-Frame-Options: DENY\r\n"
        "Referrer-Policy: no-referrer\r\n"
        "\r\n"
    )
    return head.encode("latin-1") + body
