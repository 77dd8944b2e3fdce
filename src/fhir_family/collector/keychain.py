"""The earlier pseudonymisation keys of a re-keyed database, kept wrapped under the current key.

A pseudonym is one-way (``HMAC(key, nhs number)``), so re-keying cannot recompute it from the number: the
number is not stored. ``rekey.py`` chains instead: a pseudonym made under key A becomes ``HMAC(B, pseudonym)``
under the new key B, and a number received later is pseudonymised through the same chain (A, then B), so it
links to what is stored. The earlier keys are kept in ``collector_settings`` encrypted under the current key
(encrypt-then-MAC with HMAC-SHA256 as the stream and the tag; no secret in clear): the current key alone opens
them, and an earlier key alone, leaked or kept, links nothing stored any more.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from .schema import CollectorSetting
from .settings import ConfigurationError

EARLIER_PREFIX = "pseudonym_key_earlier_"
"""``collector_settings`` names ``pseudonym_key_earlier_1``, ``_2``, ...: the chain, oldest first."""
_WRAP_VERSION = "v1:"
_NONCE = 16
_TAG = 32


def hmac_key(key: bytes) -> bytes:
    """The key HMAC-SHA256 actually uses (a key over the 64-byte block is hashed first): the same MACs, and at
    most 64 bytes to keep."""
    return hashlib.sha256(key).digest() if len(key) > 64 else key


def _subkey(key: bytes, purpose: bytes) -> bytes:
    return hmac.new(key, b"fhir-family key wrap " + purpose + b" v1", hashlib.sha256).digest()


def _stream(key: bytes, nonce: bytes, length: int) -> bytes:
    enc = _subkey(key, b"stream")
    blocks = (length + 31) // 32
    return b"".join(
        hmac.new(enc, nonce + i.to_bytes(4, "big"), hashlib.sha256).digest() for i in range(blocks)
    )[:length]


def wrap(current: bytes, secret: bytes) -> str:
    """``secret`` encrypted and authenticated under ``current``, as text for a settings row."""
    nonce = secrets.token_bytes(_NONCE)
    body = bytes(a ^ b for a, b in zip(secret, _stream(current, nonce, len(secret)), strict=True))
    tag = hmac.new(_subkey(current, b"tag"), nonce + body, hashlib.sha256).digest()
    return _WRAP_VERSION + base64.urlsafe_b64encode(nonce + body + tag).decode("ascii")


def unwrap(current: bytes, text: str) -> bytes:
    """The secret ``wrap`` hid; ConfigurationError when ``current`` is not the key it was wrapped under."""
    if not text.startswith(_WRAP_VERSION):
        raise ConfigurationError("An earlier pseudonymisation key is stored in an unknown form")
    raw = base64.urlsafe_b64decode(text[len(_WRAP_VERSION):])
    if len(raw) < _NONCE + _TAG:
        raise ConfigurationError("An earlier pseudonymisation key is stored truncated")
    nonce, body, tag = raw[:_NONCE], raw[_NONCE:-_TAG], raw[-_TAG:]
    expected = hmac.new(_subkey(current, b"tag"), nonce + body, hashlib.sha256).digest()
    if not hmac.compare_digest(tag, expected):
        raise ConfigurationError("An earlier pseudonymisation key cannot be opened with the current key")
    return bytes(a ^ b for a, b in zip(body, _stream(current, nonce, len(body)), strict=True))


def earlier_keys(session: Session, current: bytes) -> list[bytes]:
    """The chain of earlier keys, oldest first, opened with the current key (empty if never re-keyed)."""
    rows = session.scalars(
        select(CollectorSetting).where(CollectorSetting.name.startswith(EARLIER_PREFIX))
    ).all()
    ordered = sorted(rows, key=lambda row: int(row.name.removeprefix(EARLIER_PREFIX)))
    return [unwrap(current, row.value) for row in ordered]


def load_earlier_keys(sessions: sessionmaker[Session], current: bytes) -> list[bytes]:
    with sessions() as session:
        return earlier_keys(session, current)


def store_earlier_keys(session: Session, current: bytes, chain: list[bytes]) -> None:
    """Replace the stored chain by ``chain`` (oldest first), wrapped under ``current``."""
    for row in session.scalars(
        select(CollectorSetting).where(CollectorSetting.name.startswith(EARLIER_PREFIX))
    ).all():
        session.delete(row)
    session.flush()
    now = datetime.now(UTC)
    for index, key in enumerate(chain, start=1):
        name = f"{EARLIER_PREFIX}{index}"
        session.add(CollectorSetting(name=name, value=wrap(current, key), updated_at=now))
