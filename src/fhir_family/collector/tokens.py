"""Bearer tokens: issued once, kept only as SHA-256, each tied to a role and (for providers) an ODS code.

A token may carry an expiry (set at issue, or by ``rotate_token``'s grace period): from then on it is refused
exactly as an unknown token is. Its last use is recorded to the minute, at most one write a minute per token
(a request storm does not become a write storm)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from ..errors import InputError
from ..expiry import aware
from .schema import ApiToken, Organisation

PROVIDER = "provider"
ANALYST = "analyst"
ROLES = (PROVIDER, ANALYST)
_ODS = re.compile(r"^[A-Z0-9]{3,6}$")
LAST_USE_RESOLUTION = timedelta(minutes=1)
"""``last_used_at`` is rewritten only when older than this: one write a minute per token at most."""
DEFAULT_GRACE = timedelta(days=1)
"""How long a rotated token's old secret keeps working, unless ``rotate_token`` is told otherwise."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's role, its ODS code (providers) and a label for the audit log."""

    token_id: int
    role: str
    ods_code: str | None
    label: str

    @property
    def actor(self) -> str:
        return f"{self.label} [{self.role}{' ' + self.ods_code if self.ods_code else ''}]"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(
    sessions: sessionmaker[Session],
    role: str,
    ods_code: str | None = None,
    label: str | None = None,
    organisation_name: str | None = None,
    expires_at: datetime | None = None,
) -> str:
    """Create a token and return it; this is the only time the clear token exists. ``expires_at``: refused
    from then on (None: until revoked)."""
    if role not in ROLES:
        raise InputError(f"Unknown role {role!r}: use one of {', '.join(ROLES)}")
    if role == PROVIDER and (not ods_code or not _ODS.match(ods_code)):
        raise InputError("A provider token needs an ODS code of 3 to 6 upper-case letters or digits")
    if role == ANALYST and ods_code:
        raise InputError("An analyst token reads national aggregates and takes no ODS code")
    token = f"ffc_{secrets.token_urlsafe(32)}"
    now = datetime.now(UTC)
    with sessions.begin() as session:
        if ods_code and session.get(Organisation, ods_code) is None:
            session.add(Organisation(ods_code=ods_code, name=organisation_name, created_at=now))
            session.flush()  # the token row refers to it
        session.add(
            ApiToken(
                token_hash=hash_token(token),
                role=role,
                ods_code=ods_code,
                label=label or (f"{role}-{ods_code}" if ods_code else role),
                created_at=now,
                expires_at=expires_at,
            )
        )
    return token


def authenticate(sessions: sessionmaker[Session], token: str) -> Principal | None:
    """The principal for a clear token, or None when it is unknown, revoked or expired (all alike)."""
    now = datetime.now(UTC)
    with sessions() as session:
        row = session.scalar(
            select(ApiToken).where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
        )
        if row is None or (row.expires_at is not None and aware(row.expires_at) <= now):
            return None
        principal = Principal(token_id=row.id, role=row.role, ods_code=row.ods_code, label=row.label)
        last_used = row.last_used_at
    if last_used is None or now - aware(last_used) >= LAST_USE_RESOLUTION:
        _record_use(sessions, principal.token_id, now)
    return principal


def _record_use(sessions: sessionmaker[Session], token_id: int, now: datetime) -> None:
    """Set ``last_used_at`` unless another request (or process) did within the minute: the condition is in
    the UPDATE, so racing requests write once."""
    with sessions.begin() as session:
        session.execute(
            update(ApiToken)
            .where(
                ApiToken.id == token_id,
                or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - LAST_USE_RESOLUTION),
            )
            .values(last_used_at=now)
        )


def list_tokens(sessions: sessionmaker[Session]) -> list[ApiToken]:
    """Every token row (hashes only), oldest first."""
    with sessions() as session:
        return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def rotate_token(
    sessions: sessionmaker[Session],
    token_id: int,
    grace: timedelta = DEFAULT_GRACE,
    expires_at: datetime | None = None,
) -> tuple[str, int]:
    """A new token (returned with its id) for the same role, provider and label as active token
    ``token_id``; the old one keeps working for ``grace`` (0: revoked at once), never past its own expiry.
    ``expires_at`` is the new token's expiry (None: until revoked). InputError when there is no such active
    token."""
    now = datetime.now(UTC)
    with sessions.begin() as session:
        old = session.get(ApiToken, token_id)
        if old is None or old.revoked_at is not None or (
            old.expires_at is not None and aware(old.expires_at) <= now
        ):
            raise InputError(f"No active token with id {token_id}")
        token = f"ffc_{secrets.token_urlsafe(32)}"
        new = ApiToken(
            token_hash=hash_token(token),
            role=old.role,
            ods_code=old.ods_code,
            label=old.label,
            created_at=now,
            expires_at=expires_at,
        )
        session.add(new)
        if grace <= timedelta(0):
            old.revoked_at = now
        else:
            end = now + grace
            old.expires_at = end if old.expires_at is None else min(aware(old.expires_at), end)
        session.flush()
        return token, new.id


def revoke_token(sessions: sessionmaker[Session], token_id: int) -> bool:
    """Revoke a token by id; False when there is no such active token."""
    with sessions.begin() as session:
        row = session.get(ApiToken, token_id)
        if row is None or row.revoked_at is not None:
            return False
        row.revoked_at = datetime.now(UTC)
        return True
