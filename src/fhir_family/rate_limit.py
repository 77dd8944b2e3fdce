"""Rate limits on the write requests of both servers, per source address and per bearer token, with the
maintained ``limits`` library (what Flask-Limiter and slowapi run on).

A write is refused with 429 and ``Retry-After`` before anything else runs for it (no token look-up, no
database work), so a flood costs the server almost nothing. Limits per key, from app config or the
environment (app config first):

- ``WRITE_RATE`` / ``$FHIR_FAMILY_WRITE_RATE``: writes per second allowed on average (default 50; 0 turns
  limits off);
- ``WRITE_BURST`` / ``$FHIR_FAMILY_WRITE_BURST``: writes allowed at once after a quiet spell (default 200).

They become one ``limits`` item, ``WRITE_BURST`` writes per ``ceil(WRITE_BURST / WRITE_RATE)`` seconds,
enforced with the sliding-window-counter strategy (constant memory per key, no burst at a window's edge).
Each source address and each bearer token (hashed) is its own key, so a client cannot escape the limit by
changing tokens, nor one feed starve another behind the same proxy. The counters live in each worker process
(in-memory storage: two workers allow twice the rate). Behind a reverse proxy every client shares the proxy's
address: limit per client there too (README, "Security").
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable

from flask import Flask, Response, current_app, request
from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from . import messages as msg
from .outcome import Issue, IssueSeverity, IssueType, operation_outcome

DEFAULT_RATE = 50.0
DEFAULT_BURST = 200
EXTENSION_KEY = "fhir_family.rate_limit"


class RateLimiter:
    """``retry_after(key)`` counts one write for ``key``, or says how long until one is allowed."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.window = max(1, math.ceil(burst / rate))
        self.item = RateLimitItemPerSecond(burst, self.window)
        self._limiter = SlidingWindowCounterRateLimiter(MemoryStorage())

    def retry_after(self, key: str) -> float:
        """0 when the write may go ahead (it was counted); else the seconds until one would be allowed."""
        if self._limiter.hit(self.item, key):
            return 0.0
        reset, _remaining = self._limiter.get_window_stats(self.item, key)
        return max(reset - time.time(), 0.001)


def _setting(app: Flask, name: str, default: float) -> float:
    value = app.config.get(name)
    if value is None:
        value = os.environ.get(f"FHIR_FAMILY_{name}") or default
    return float(value)


def install(app: Flask, is_write: Callable[[], bool]) -> None:
    """Limit the requests ``is_write()`` picks; register before any other ``before_request`` so a refused
    request costs nothing else."""
    rate, burst = _setting(app, "WRITE_RATE", DEFAULT_RATE), _setting(app, "WRITE_BURST", DEFAULT_BURST)
    if rate <= 0:
        return
    app.extensions[EXTENSION_KEY] = RateLimiter(rate, max(1, int(burst)))

    def limit() -> Response | None:
        if not is_write():
            return None
        limiter: RateLimiter = current_app.extensions[EXTENSION_KEY]
        keys = [f"address:{request.remote_addr}"]
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            keys.append("token:" + hashlib.sha256(token.strip().encode()).hexdigest())
        wait = max(limiter.retry_after(key) for key in keys)
        return _too_many(wait) if wait > 0 else None

    app.before_request_funcs.setdefault(None, []).insert(0, limit)


def _too_many(wait: float) -> Response:
    seconds = max(1, math.ceil(wait))
    issue = Issue(
        severity=IssueSeverity.ERROR,
        code=IssueType.THROTTLED,
        diagnostics=f"Too many writes from this client or token: retry after {seconds} s (nothing was done)",
        message_id=msg.http_status(429),
    )
    return Response(json.dumps(operation_outcome([issue])), status=429, content_type="application/fhir+json",
                    headers={"Retry-After": str(seconds)})
