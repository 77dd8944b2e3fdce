"""A full audit row for every request to the collector, whatever it ends with (issue 11): time, request id
(answered as ``X-Request-ID``), source address, token id (never the token), method, path (numbers masked; the
names of query parameters, never their values), status and bytes in and out.

The request's facts are set in ``audit.CURRENT_REQUEST`` first thing, so the rows the request writes on the
way (a submission, a refusal) carry the same request id; the ``request`` row is written last, when the status
and size are known. Flask runs ``after_request`` for error answers too (4xx from any handler, the 500
handler's answer), so no request goes unrecorded.

One exception keeps a flood cheap: writes the rate limit refuses (429) are counted in memory, and at most one
row per source address per minute is written for them, the first refusal of that minute, its detail giving
how many refusals from that source went unwritten since the previous such row. A refusal costs no database
write, and the audit still says who was refused, when, and how often."""

from __future__ import annotations

import logging
import threading
import time
import uuid

from flask import Flask, Response, current_app, g, request

from .audit import CURRENT_REQUEST, RequestFacts, audit_row
from .http import EXTENSION_KEY

log = logging.getLogger(__name__)
HEADER = "X-Request-ID"
THROTTLED = 429
SUMMARY_SECONDS = 60.0
"""At most one audit row per source address per this many seconds for rate-limited writes."""
REFUSALS_KEY = "fhir_family.rate_limit_refusals"


class RefusalCounter:
    """Rate-limit refusals by source address: ``note(source)`` says whether to write a row now, and how many
    refusals went unwritten before it."""

    def __init__(self, clock=time.monotonic) -> None:  # type: ignore[no-untyped-def]
        self._clock = clock
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, int]] = {}  # source -> (when the last row was written, unwritten)

    def note(self, source: str) -> int | None:
        """None: counted, write nothing; else write a row now, covering this many earlier refusals."""
        now = self._clock()
        with self._lock:
            last, unwritten = self._state.get(source, (None, 0))
            if last is not None and now - last < SUMMARY_SECONDS:
                self._state[source] = (last, unwritten + 1)
                return None
            self._state[source] = (now, 0)
            if len(self._state) > 10_000:  # forget the quietest sources first
                for key in sorted(self._state, key=lambda k: self._state[k][0])[:1_000]:
                    del self._state[key]
            return unwritten


def _path() -> str:
    """The path and the names of the query parameters (values may carry identifiers: never kept)."""
    names = sorted(set(request.args.keys()))
    return request.path + (("?" + "&".join(f"{name}=" for name in names)) if names else "")


def _begin() -> None:
    g.request_id = str(uuid.uuid4())
    g.audit_token = CURRENT_REQUEST.set(
        RequestFacts(g.request_id, request.remote_addr, request.method, _path())
    )


def _record(response: Response) -> Response:
    request_id = getattr(g, "request_id", None)
    if request_id is None:  # a before_request hook ran first and failed
        _begin()
        request_id = g.request_id
    response.headers[HEADER] = request_id
    principal = getattr(g, "principal", None)
    size = response.calculate_content_length()  # None for a streamed answer
    detail = None
    if response.status_code == THROTTLED:
        counter: RefusalCounter = current_app.extensions.setdefault(REFUSALS_KEY, RefusalCounter())
        unwritten = counter.note(request.remote_addr or "")
        if unwritten is None:
            return response
        detail = f"rate limited; {unwritten} earlier refusal(s) from this address not written one by one"
    row = audit_row(principal, "request", None, response.status_code, detail, request.content_length, size)
    try:
        collector = current_app.extensions[EXTENSION_KEY]
        with collector.sessions.begin() as session:
            session.add(row)
    except Exception:  # noqa: BLE001 - the database is down: the answer (often a 503 already) still goes out
        log.exception("collector: the audit row of request %s could not be written", request_id)
    return response


def _end(_error: BaseException | None) -> None:
    token = getattr(g, "audit_token", None)
    if token is not None:
        try:
            CURRENT_REQUEST.reset(token)
        except ValueError:  # torn down in another context (a streamed answer): nothing of ours is set there
            CURRENT_REQUEST.set(None)


def install(app: Flask) -> None:
    """Record every request of ``app``: call before any other before_request hook is registered."""
    app.before_request_funcs.setdefault(None, []).insert(0, _begin)
    app.after_request(_record)
    app.teardown_request(_end)
