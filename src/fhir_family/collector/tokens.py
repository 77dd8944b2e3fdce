"""Bearer tokens: issued once, kept only as SHA-256, each tied to a role and (for providers) an ODS code."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..errors import InputError
from .schema import ApiToken, Organisation

PROVIDER = "provider"
ANALYST = "analyst"
ROLES = (PROVIDER, ANALYST)
_ODS = re.compile(r"^[A-Z0-9]{3,6}$")


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
) -> str:
    """Create a token and return it; this is the only time the clear token exists."""
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
            )
        )
    return token


def authenticate(sessions: sessionmaker[Session], token: str) -> Principal | None:
    """The principal for a clear token, or None when it is unknown or revoked."""
    with sessions() as session:
        row = session.scalar(
            select(ApiToken).where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
        )
        if row is None:
            return None
        return Principal(token_id=row.id, role=row.role, ods_code=row.ods_code, label=row.label)


def list_tokens(sessions: sessionmaker[Session]) -> list[ApiToken]:
    """Every token row (hashes only), oldest first."""
    with sessions() as session:
        return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def revoke_token(sessions: sessionmaker[Session], token_id: int) -> bool:
    """Revoke a token by id; False when there is no such active token."""
    with sessions.begin() as session:
        row = session.get(ApiToken, token_id)
        if row is None or row.revoked_at is not None:
            return False
        row.revoked_at = datetime.now(UTC)
        return True
