"""Bearer tokens for the facade's EHR feeds, kept in a JSON file as SHA-256 only (no Flask here).

The facade has no database, so its tokens live in one file the operator names (``serve --feed-tokens`` or
``$FHIR_FAMILY_FEED_TOKENS``). Each entry is one EHR feed: a name, the ODS codes it may submit for, and the
hash of its token; the clear token is printed once by ``fhir-family serve-token issue`` and never stored.
The file is written 0600 and re-read when it changes, so a revocation applies without a restart.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import InputError

TOKEN_PREFIX = "fff_"
ENV_FILE = "FHIR_FAMILY_FEED_TOKENS"
_ODS = re.compile(r"^[A-Z0-9]{3,6}$")
_FEED = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@dataclass(frozen=True)
class Feed:
    """One EHR feed allowed to write through the facade, and the providers it submits for."""

    name: str
    ods_codes: frozenset[str]
    token_sha256: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def read_entries(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        feeds = data["feeds"]
        if not isinstance(feeds, list):
            raise TypeError
        return feeds
    except (ValueError, KeyError, TypeError):
        raise InputError(f"{path}: not a feed-token file (a JSON object with a \"feeds\" list)") from None


def load_feeds(path: Path) -> dict[str, Feed]:
    """Token hash -> feed, for every feed in the file (an absent file has none)."""
    feeds: dict[str, Feed] = {}
    for number, entry in enumerate(read_entries(path), 1):
        try:
            feed = Feed(str(entry["feed"]), frozenset(entry["ods"]), str(entry["token_sha256"]))
        except (KeyError, TypeError):
            raise InputError(f"{path}: feed entry {number} needs feed, ods and token_sha256") from None
        feeds[feed.token_sha256] = feed
    return feeds


def _write(path: Path, entries: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump({"feeds": entries}, handle, indent=2)
        handle.write("\n")
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def issue_feed_token(path: Path, feed: str, ods_codes: list[str]) -> str:
    """Add (or replace: rotate) ``feed`` and return its new token, the only time the clear token exists."""
    if not _FEED.match(feed):
        raise InputError(f"Feed name {feed!r}: use 1 to 64 letters, digits, '.', '_' or '-'")
    bad = [code for code in ods_codes if not _ODS.match(code)]
    if not ods_codes or bad:
        got = ", ".join(bad) or "none"
        raise InputError(f"A feed needs ODS codes of 3 to 6 upper-case letters or digits (got {got})")
    token = f"{TOKEN_PREFIX}{secrets.token_urlsafe(32)}"
    entries = [entry for entry in read_entries(path) if entry.get("feed") != feed]
    entries.append({
        "feed": feed,
        "ods": sorted(set(ods_codes)),
        "token_sha256": hash_token(token),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    })
    _write(path, entries)
    return token


def revoke_feed(path: Path, feed: str) -> bool:
    """Remove ``feed`` from the file; False when it is not there."""
    entries = read_entries(path)
    kept = [entry for entry in entries if entry.get("feed") != feed]
    if len(kept) == len(entries):
        return False
    _write(path, kept)
    return True


class FeedTokenFile:
    """The feeds of one token file, re-read whenever the file's modification time or size changes."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._feeds: dict[str, Feed] = {}
        self.feeds()  # a broken file fails at start, not on the first request

    def feeds(self) -> dict[str, Feed]:
        if self.path is None:
            return {}
        try:
            stat = self.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            stamp = (0, -1)
        if stamp != self._stamp:
            self._feeds, self._stamp = load_feeds(self.path), stamp
        return self._feeds

    def feed_for(self, token: str) -> Feed | None:
        return self.feeds().get(hash_token(token))
