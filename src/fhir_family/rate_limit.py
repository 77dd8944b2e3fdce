"""Rate limits on the write requests of both servers: a token bucket per source address and per bearer token.

A write is refused with 429 and ``Retry-After`` before anything else runs for it (no token look-up, no
database row), so a flood costs the server almost nothing. Limits per bucket, from app config or the
environment (app config first):

- ``WRITE_RATE`` / ``$FHIR_FAMILY_WRITE_RATE``: writes per second a bucket refills (default 50; 0 turns limits
  off);
- ``WRITE_BURST`` / ``$FHIR_FAMILY_WRITE_BURST``: writes a bucket holds, the burst allowed after a quiet spell
  (default 200).

Each source address and each bearer token has its own bucket, so a client cannot escape the limit by changing
tokens, nor one feed starve another behind the same proxy. Buckets live in each worker process (two workers
allow twice the rate) and at most ``MAX_BUCKETS`` are kept, least recently used dropped first. Behind a
reverse proxy every client shares the proxy's address: limit per client there too (README, "Security").
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from flask import Flask, Response, current_app, request

from . import messages as msg
from .outcome import Issue, IssueSeverity, IssueType, operation_outcome

DEFAULT_RATE = 50.0
DEFAULT_BURST = 200
MAX_BUCKETS = 10_000
EXTENSION_KEY = "fhir_family.rate_limit"


class RateLimiter:
    """Token buckets by key: ``retry_after(key)`` takes one token, or says how long until one is there."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, when)
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> float:
        """0 when the request may go ahead (a token was taken); else the seconds until a token is back."""
        now = self._clock()
        with self._lock:
            tokens, when = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - when) * self.rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
            self._buckets[key] = (tokens - 1 if wait == 0 else tokens, now)
            while len(self._buckets) > MAX_BUCKETS:
                self._buckets.popitem(last=False)
        return wait


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
