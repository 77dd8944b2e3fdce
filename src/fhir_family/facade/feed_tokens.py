"""Bearer tokens for the facade's EHR feeds, kept in a JSON file as SHA-256 only (no Flask here).

The facade has no database, so its tokens live in one file the operator names (``serve --feed-tokens`` or
``$FHIR_FAMILY_FEED_TOKENS``). Each entry is one EHR feed: a name, the ODS codes it may submit for, and the
hash of its token; the clear token is printed once by ``fhir-family serve-token issue`` and never stored.
The file is written 0600 and re-read when it changes, so a revocation applies without a restart.

A feed's token may expire (``expires_at``, set at issue): from then on it is refused exactly as an unknown
token is. ``rotate_feed_token`` gives a feed a new token and keeps the old one working for a grace period
(``previous``, each with its own ``expires_at``), so the EHR can switch without a failed send; issuing again
replaces the token at once. Each token's last use is kept beside the file (``<file>.last-use.json``, written
by the facade, never the token file itself) to the minute: at most one write a minute per token.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..errors import InputError

TOKEN_PREFIX = "fff_"
ENV_FILE = "FHIR_FAMILY_FEED_TOKENS"
_ODS = re.compile(r"^[A-Z0-9]{3,6}$")
_FEED = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
LAST_USE_RESOLUTION = timedelta(minutes=1)
DEFAULT_GRACE = timedelta(days=1)


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


def _moment(value: Any, path: Path, number: int) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{path}: feed entry {number} has an expires_at that is not a date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def load_credentials(path: Path) -> dict[str, tuple[Feed, datetime | None]]:
    """Token hash -> (feed, expiry or None), for every current and previous (in grace) token in the file."""
    credentials: dict[str, tuple[Feed, datetime | None]] = {}
    for number, entry in enumerate(read_entries(path), 1):
        try:
            feed = Feed(str(entry["feed"]), frozenset(entry["ods"]), str(entry["token_sha256"]))
            olds = entry.get("previous") or []
            previous = [(str(old["token_sha256"]), old.get("expires_at")) for old in olds]
        except (KeyError, TypeError):
            raise InputError(f"{path}: feed entry {number} needs feed, ods and token_sha256") from None
        credentials[feed.token_sha256] = (feed, _moment(entry.get("expires_at"), path, number))
        for token_sha256, expires in previous:
            credentials[token_sha256] = (feed, _moment(expires, path, number))
    return credentials


def load_feeds(path: Path) -> dict[str, Feed]:
    """Token hash -> feed, for every feed's current token in the file (an absent file has none)."""
    credentials = load_credentials(path)
    return {digest: feed for digest, (feed, _) in credentials.items() if digest == feed.token_sha256}


def _write(path: Path, entries: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump({"feeds": entries}, handle, indent=2)
        handle.write("\n")
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def issue_feed_token(
    path: Path, feed: str, ods_codes: list[str], expires_at: datetime | None = None
) -> str:
    """Add (or replace at once) ``feed`` and return its new token, the only time the clear token exists.
    ``expires_at``: refused from then on (None: until revoked or replaced)."""
    token, entry = _new_entry(feed, ods_codes, expires_at)
    entries = [old for old in read_entries(path) if old.get("feed") != feed]
    entries.append(entry)
    _write(path, entries)
    return token


def _new_entry(feed: str, ods_codes: list[str], expires_at: datetime | None) -> tuple[str, dict[str, Any]]:
    """A new token for ``feed`` and its file entry (hash only)."""
    if not _FEED.match(feed):
        raise InputError(f"Feed name {feed!r}: use 1 to 64 letters, digits, '.', '_' or '-'")
    bad = [code for code in ods_codes if not _ODS.match(code)]
    if not ods_codes or bad:
        got = ", ".join(bad) or "none"
        raise InputError(f"A feed needs ODS codes of 3 to 6 upper-case letters or digits (got {got})")
    token = f"{TOKEN_PREFIX}{secrets.token_urlsafe(32)}"
    entry: dict[str, Any] = {
        "feed": feed,
        "ods": sorted(set(ods_codes)),
        "token_sha256": hash_token(token),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if expires_at is not None:
        entry["expires_at"] = expires_at.astimezone(UTC).isoformat(timespec="seconds")
    return token, entry


def rotate_feed_token(
    path: Path, feed: str, grace: timedelta = DEFAULT_GRACE, expires_at: datetime | None = None
) -> str:
    """A new token for ``feed`` (same ODS codes); its old token keeps working for ``grace`` (0: refused at
    once), never past its own expiry. InputError when the feed is not in the file."""
    entries = read_entries(path)
    current = next((entry for entry in entries if entry.get("feed") == feed), None)
    if current is None:
        raise InputError(f"no feed {feed!r} in {path}")
    now = datetime.now(UTC)
    kept = [old for old in current.get("previous", []) if _still_valid(old.get("expires_at"), now)]
    if grace > timedelta(0) and _still_valid(current.get("expires_at"), now):
        end = now + grace
        own = current.get("expires_at")
        if own is not None:
            end = min(end, _moment(own, path, 0) or end)
        kept.append(
            {"token_sha256": current["token_sha256"], "expires_at": end.isoformat(timespec="seconds")}
        )
    token, entry = _new_entry(feed, list(current["ods"]), expires_at)
    if kept:
        entry["previous"] = kept
    _write(path, [entry if old is current else old for old in entries])  # one write: no moment without both
    return token


def _still_valid(expires: Any, now: datetime) -> bool:
    if expires is None:
        return True
    moment = datetime.fromisoformat(str(expires))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) > now


def revoke_feed(path: Path, feed: str) -> bool:
    """Remove ``feed`` from the file; False when it is not there."""
    entries = read_entries(path)
    kept = [entry for entry in entries if entry.get("feed") != feed]
    if len(kept) == len(entries):
        return False
    _write(path, kept)
    return True


def last_use_path(path: Path) -> Path:
    """Where the facade records each token's last use: beside the token file, never in it."""
    return path.with_name(path.name + ".last-use.json")


def read_last_use(path: Path) -> dict[str, str]:
    """Token hash -> ISO time of its last use (empty when never used or unreadable)."""
    try:
        data = json.loads(last_use_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record_last_use(path: Path, token_sha256: str, now: datetime) -> bool:
    """Record ``now`` as the token's last use unless a use within the minute is recorded already (checked
    under an exclusive lock, so workers racing write once). True when written."""
    target = last_use_path(path)
    lock = os.open(target.with_name(target.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        uses = read_last_use(path)
        seen = uses.get(token_sha256)
        if seen is not None and now - datetime.fromisoformat(seen) < LAST_USE_RESOLUTION:
            return False
        uses[token_sha256] = now.isoformat(timespec="seconds")
        temporary = target.with_name(target.name + ".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(uses, handle, indent=2)
        os.replace(temporary, target)
        return True
    finally:
        os.close(lock)


class FeedTokenFile:
    """The feeds of one token file, re-read whenever the file's modification time or size changes."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._credentials: dict[str, tuple[Feed, datetime | None]] = {}
        self._recorded: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self.feeds()  # a broken file fails at start, not on the first request

    def _load(self) -> dict[str, tuple[Feed, datetime | None]]:
        if self.path is None:
            return {}
        try:
            stat = self.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            stamp = (0, -1)
        if stamp != self._stamp:
            self._credentials, self._stamp = load_credentials(self.path), stamp
        return self._credentials

    def feeds(self) -> dict[str, Feed]:
        return {digest: feed for digest, (feed, _) in self._load().items() if digest == feed.token_sha256}

    def feed_for(self, token: str) -> Feed | None:
        """The feed of a current (or in-grace) token; None when unknown or expired, alike. Records the use."""
        digest = hash_token(token)
        found = self._load().get(digest)
        now = datetime.now(UTC)
        if found is None or (found[1] is not None and found[1] <= now):
            return None
        self._note_use(digest, now)
        return found[0]

    def _note_use(self, digest: str, now: datetime) -> None:
        """At most one look at the last-use file a minute per token and process; one write across them."""
        assert self.path is not None
        with self._lock:
            last = self._recorded.get(digest)
            if last is not None and now - last < LAST_USE_RESOLUTION:
                return
            self._recorded[digest] = now
        # A read-only folder must not refuse a valid token: last use is a record, not a check.
        with contextlib.suppress(OSError):
            record_last_use(self.path, digest, now)
