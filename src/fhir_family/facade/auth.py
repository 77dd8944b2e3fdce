"""Who may write through the facade: a bearer token per EHR feed, bound to the ODS codes it submits for.

Write endpoints (``POST /submit``: it forwards to the collector) call ``require_feed()`` before reading the
body and ``require_ods(feed, bundle)`` once the national return is built. Mapping-only endpoints (``/ehr/*``,
``$validate``) store and forward nothing and stay open; the README's Security section says where to expose
them. Tokens live in the file named by ``FEED_TOKENS_FILE`` (``feed_tokens.py``); with none configured every
write is refused, never let through.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, current_app, request

from fhir_family import messages as msg
from fhir_family.collector.facts import reporting_ods
from fhir_family.errors import AuthError, ForbiddenError
from fhir_family.outcome import Issue, IssueSeverity, IssueType

from .feed_tokens import ENV_FILE, Feed, FeedTokenFile

_KEY = "fhir_family.feed_tokens"


def install(app: Flask) -> None:
    """Load the feed-token file named by ``FEED_TOKENS_FILE`` (default ``$FHIR_FAMILY_FEED_TOKENS``)."""
    configured = app.config.get("FEED_TOKENS_FILE") or os.environ.get(ENV_FILE)
    app.extensions[_KEY] = FeedTokenFile(Path(configured) if configured else None)


def _refuse(text: str, message_id: str) -> AuthError:
    error = AuthError(
        text,
        [
            Issue(
                severity=IssueSeverity.ERROR,
                code=IssueType.LOGIN,
                diagnostics=text,
                expression=None,
                message_id=message_id,
            )
        ],
    )
    error.headers = {"WWW-Authenticate": 'Bearer realm="fhir-family facade"'}
    return error


def require_feed() -> Feed:
    """The feed whose bearer token this request carries; 401 when there is none or it is unknown."""
    tokens: FeedTokenFile = current_app.extensions[_KEY]
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _refuse("This endpoint writes: send Authorization: Bearer <feed token>", msg.FACADE_NO_TOKEN)
    feed = tokens.feed_for(token.strip())
    if feed is None:
        where = "" if tokens.path else " (this facade has no FEED_TOKENS_FILE, so it accepts no writes)"
        raise _refuse(f"Unknown, expired or revoked feed token{where}", msg.FACADE_BAD_TOKEN)
    return feed


def require_ods(feed: Feed, bundle: dict[str, Any]) -> None:
    """403 unless the return's reporting provider is one of the ODS codes this feed submits for."""
    ods = reporting_ods(bundle)
    if ods not in feed.ods_codes:
        allowed = ", ".join(sorted(feed.ods_codes))
        text = f"Feed {feed.name} submits for ODS {allowed} only; this return's reporting provider is {ods}"
        raise ForbiddenError(
            text,
            [
                Issue(
                    severity=IssueSeverity.ERROR,
                    code=IssueType.FORBIDDEN,
                    diagnostics=text,
                    expression=None,
                    message_id=msg.FACADE_ODS_FORBIDDEN,
                )
            ],
        )
