"""The audit log: one row per request (action ``request``), and one per thing a request did to returns or
reports, refusals included. Rows are only ever inserted (the database refuses UPDATE and DELETE).

The HTTP layer (``request_audit.py``) sets the request's facts (id, source address, method, path) in a
context variable for the length of the request, so every row written while it runs carries them, wherever
it is written from (a store transaction, a refusal), without passing them through every call."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from .pseudonym import redact_numbers
from .schema import AuditEvent
from .tokens import Principal

ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class RequestFacts:
    """What every audit row of one HTTP request shares."""

    request_id: str
    source: str | None
    method: str
    path: str


CURRENT_REQUEST: ContextVar[RequestFacts | None] = ContextVar("fhir_family_audit_request", default=None)


def clean(text: str | None, limit: int) -> str | None:
    """Text fit for an audit column: numbers masked, NUL (which PostgreSQL text cannot hold) spelled ``%00``,
    cut to the column's length."""
    if text is None:
        return None
    return redact_numbers(text.replace("\x00", "%00"))[:limit]


def audit_row(
    principal: Principal | str | None,
    action: str,
    target: str | None,
    outcome: int,
    detail: str | None = None,
    bytes_in: int | None = None,
    bytes_out: int | None = None,
) -> AuditEvent:
    """An audit row; ``target`` and ``detail`` are redacted so a diagnostic quoting an NHS number cannot leak
    it. The current request's facts, if any, are filled in."""
    actor = principal.actor if isinstance(principal, Principal) else principal or ANONYMOUS
    facts = CURRENT_REQUEST.get()
    return AuditEvent(
        at=datetime.now(UTC),
        actor=clean(actor, 120) or ANONYMOUS,
        action=action,
        target=clean(target, 300) if target else None,
        outcome=outcome,
        detail=clean(detail, 2000) if detail else None,
        request_id=facts.request_id if facts else None,
        source=clean(facts.source, 64) if facts else None,
        token_id=principal.token_id if isinstance(principal, Principal) else None,
        method=clean(facts.method, 10) if facts else None,
        path=clean(facts.path, 300) if facts else None,
        bytes_in=bytes_in,
        bytes_out=bytes_out,
    )


_INSERTED = [column.name for column in AuditEvent.__table__.columns if column.name != "id"]


def row_values(row: AuditEvent) -> dict[str, object]:
    """An audit row as the column values a Core ``insert`` takes."""
    return {name: getattr(row, name) for name in _INSERTED}


def record(
    sessions: sessionmaker[Session],
    principal: Principal | str | None,
    action: str,
    target: str | None,
    outcome: int,
    detail: str | None = None,
) -> None:
    """Write one audit row in its own transaction."""
    with sessions.begin() as session:
        session.add(audit_row(principal, action, target, outcome, detail))
