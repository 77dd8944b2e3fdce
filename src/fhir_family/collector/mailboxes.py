"""MESH mailboxes bound to providers: the MESH counterpart of a bearer token. A return that arrives from a
mailbox is submitted as that mailbox's provider, so the same rule holds as over HTTP: a provider may only
submit for its own ODS code. A mailbox with no binding (or a revoked one) may submit nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..errors import InputError
from .schema import MeshMailbox, Organisation
from .tokens import PROVIDER, Principal

_ODS = re.compile(r"^[A-Z0-9]{3,6}$")
_MAILBOX = re.compile(r"^[A-Z0-9]{3,20}$")
MAILBOX_PRINCIPAL_ID = 0
"""``Principal.token_id`` of a mailbox principal: it came from no token."""


def bind_mailbox(
    sessions: sessionmaker[Session],
    mailbox_id: str,
    ods_code: str,
    label: str | None = None,
    organisation_name: str | None = None,
) -> None:
    """Bind (or re-bind, clearing a revocation) ``mailbox_id`` to ``ods_code``."""
    mailbox_id = mailbox_id.strip().upper()
    if not _MAILBOX.match(mailbox_id):
        raise InputError(f"A MESH mailbox id is 3 to 20 upper-case letters or digits, not {mailbox_id!r}")
    if not _ODS.match(ods_code or ""):
        raise InputError("A mailbox binding needs an ODS code of 3 to 6 upper-case letters or digits")
    now = datetime.now(UTC)
    with sessions.begin() as session:
        if session.get(Organisation, ods_code) is None:
            session.add(Organisation(ods_code=ods_code, name=organisation_name, created_at=now))
            session.flush()
        row = session.get(MeshMailbox, mailbox_id)
        if row is None:
            session.add(
                MeshMailbox(
                    mailbox_id=mailbox_id,
                    ods_code=ods_code,
                    label=label or f"mesh-{mailbox_id}",
                    created_at=now,
                )
            )
        else:
            row.ods_code, row.revoked_at, row.created_at = ods_code, None, now
            row.label = label or row.label


def mailbox_principal(sessions: sessionmaker[Session], mailbox_id: str | None) -> Principal | None:
    """The provider a mailbox submits for, or None when it is unbound or revoked."""
    if not mailbox_id:
        return None
    with sessions() as session:
        row = session.scalar(
            select(MeshMailbox).where(
                MeshMailbox.mailbox_id == mailbox_id.upper(), MeshMailbox.revoked_at.is_(None)
            )
        )
        if row is None:
            return None
        return Principal(MAILBOX_PRINCIPAL_ID, PROVIDER, row.ods_code, f"{row.label} (MESH {row.mailbox_id})")


def list_mailboxes(sessions: sessionmaker[Session]) -> list[MeshMailbox]:
    with sessions() as session:
        return list(session.scalars(select(MeshMailbox).order_by(MeshMailbox.mailbox_id)))


def revoke_mailbox(sessions: sessionmaker[Session], mailbox_id: str) -> bool:
    """Revoke a binding; False when there is no active one."""
    with sessions.begin() as session:
        row = session.get(MeshMailbox, mailbox_id.upper())
        if row is None or row.revoked_at is not None:
            return False
        row.revoked_at = datetime.now(UTC)
        return True
