"""Sending national returns to a collector over HTTP with ``requests``: retries, timeouts, TLS, a token.

Retrying a POST is normally unsafe; here it is safe because the collector treats a resent submission id as a
no-op with the same answer. So the session retries connection failures and 429/502/503/504 answers with
exponential backoff, honouring ``Retry-After`` (urllib3 ``Retry``). TLS certificates are always verified
(pass ``verify=<CA bundle path>`` for a private CA, never ``False``). Every ``requests`` exception is
translated here into the project's own errors, so callers handle one family of exceptions.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from fhir_family import messages as msg

from ..errors import FhirFamilyError, InputError
from ..outcome import Issue, IssueSeverity, IssueType, operation_outcome

__all__ = [
    "CollectorAnswer",
    "CollectorClient",
    "CollectorTimeoutError",
    "CollectorUnreachableError",
    "ForwardingError",
    "RETRY_STATUSES",
    "make_session",
]

TOKEN_ENV = "FHIR_FAMILY_TOKEN"
RETRY_STATUSES = (429, 502, 503, 504)
DEFAULT_TIMEOUT = (5.0, 60.0)
"""(connect, read) seconds."""
FHIR_JSON = "application/fhir+json"


class ForwardingError(FhirFamilyError):
    """The return could not be delivered to the collector: HTTP 502 to our own caller. Safe to resend."""

    http_status = 502


class CollectorUnreachableError(ForwardingError, ConnectionError):
    """No connection to the collector (refused, DNS, TLS failure), after the retries."""


class CollectorTimeoutError(ForwardingError, TimeoutError):
    """The collector did not answer in time: HTTP 504. Safe to resend (the submission id makes it a no-op)."""

    http_status = 504


def _issue(code: IssueType, text: str, message_id: str) -> list[Issue]:
    return [
        Issue(
            severity=IssueSeverity.ERROR, code=code, diagnostics=text, expression=None, message_id=message_id
        )
    ]


@dataclass(frozen=True)
class CollectorAnswer:
    """The collector's answer: HTTP status and FHIR body (transaction-response or OperationOutcome)."""

    status: int
    body: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)
    attempts_exhausted: bool = False

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300

    @property
    def resource(self) -> dict[str, Any]:
        """The body, or an OperationOutcome describing a body that was not FHIR JSON."""
        if self.body is not None:
            return self.body
        text = f"The collector answered HTTP {self.status} without a FHIR JSON body"
        return operation_outcome(_issue(IssueType.EXCEPTION, text, msg.FORWARD_BAD_ANSWER))


def make_session(
    retries: int = 4,
    backoff_factor: float = 0.5,
    backoff_max: float = 30.0,
    token: str | None = None,
    verify: bool | str = True,
) -> requests.Session:
    """A session that retries idempotent submissions; ``token`` defaults to ``$FHIR_FAMILY_TOKEN``."""
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        backoff_factor=backoff_factor,
        backoff_max=backoff_max,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD", "POST", "PUT"}),
        respect_retry_after_header=True,
        raise_on_status=False,  # after the last try, hand back the collector's own answer
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=16)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if verify is False:
        raise ValueError("TLS verification cannot be turned off; pass the path of a CA bundle instead")
    session.verify = verify
    token = token if token is not None else os.environ.get(TOKEN_ENV)
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    session.headers["Accept"] = FHIR_JSON
    session.headers["User-Agent"] = "fhir-family-forwarder"
    return session


class CollectorClient:
    """Sends returns to one collector base URL. Use as a context manager or call ``close()``."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        retries: int = 4,
        backoff_factor: float = 0.5,
        backoff_max: float = 30.0,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        verify: bool | str = True,
        session: requests.Session | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise InputError(f"Collector URL must start with http:// or https://, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or make_session(retries, backoff_factor, backoff_max, token, verify)

    def __enter__(self) -> CollectorClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    def submit(self, bundle: dict[str, Any]) -> CollectorAnswer:
        """POST one national-return transaction Bundle to the collector's FHIR base."""
        data = json.dumps(bundle, ensure_ascii=False).encode("utf-8")
        return self._send("POST", f"{self.base_url}/", data, FHIR_JSON)

    def import_ndjson(self, ndjson: bytes) -> CollectorAnswer:
        """POST an NDJSON file of bundles to ``$import`` (answers 202 with a status URL)."""
        return self._send("POST", f"{self.base_url}/$import", ndjson, "application/fhir+ndjson")

    def get(self, url: str) -> CollectorAnswer:
        return self._send(
            "GET", url if url.startswith("http") else f"{self.base_url}/{url.lstrip('/')}", None, None
        )

    def _timeout(self) -> CollectorTimeoutError:
        text = f"The collector at {self.base_url} did not answer within {self.timeout} seconds"
        return CollectorTimeoutError(text, _issue(IssueType.TRANSIENT, text, msg.FORWARD_TIMEOUT))

    def _send(self, method: str, url: str, data: bytes | None, content_type: str | None) -> CollectorAnswer:
        headers = {"Content-Type": content_type} if content_type else {}
        try:
            response = self.session.request(method, url, data=data, headers=headers, timeout=self.timeout)
        except (requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout) as exc:
            raise self._timeout() from exc
        except requests.exceptions.SSLError as exc:
            text = f"TLS failure talking to {self.base_url}: the certificate could not be verified ({exc})"
            raise CollectorUnreachableError(text, _issue(IssueType.SECURITY, text, msg.FORWARD_TLS)) from exc
        except requests.exceptions.ConnectionError as exc:
            if isinstance(getattr(exc.args[0] if exc.args else None, "reason", None), ReadTimeoutError):
                # urllib3 wraps a read timeout on the last retry in MaxRetryError; requests then calls it a
                # ConnectionError. It is a timeout all the same.
                raise self._timeout() from exc
            text = f"Could not reach the collector at {self.base_url}: {_reason(exc)}"
            raise CollectorUnreachableError(
                text, _issue(IssueType.TRANSIENT, text, msg.FORWARD_UNREACHABLE)
            ) from exc
        except requests.exceptions.RequestException as exc:
            text = f"Could not send to the collector at {self.base_url}: {exc}"
            raise ForwardingError(text, _issue(IssueType.EXCEPTION, text, msg.FORWARD_FAILED)) from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = None
        return CollectorAnswer(
            status=response.status_code,
            body=body,
            headers=dict(response.headers),
            attempts_exhausted=response.status_code in RETRY_STATUSES,
        )


def _reason(exc: requests.exceptions.ConnectionError) -> str:
    """The underlying reason ('[Errno 111] Connection refused'), not urllib3's nested repr."""
    inner = exc.args[0] if exc.args else exc
    text = str(getattr(inner, "reason", None) or inner)
    return text.split(": ", 1)[-1] if "object at 0x" in text else text
