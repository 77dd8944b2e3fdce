"""The audit log: one row per request that touched returns or reports, refusals included."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from .pseudonym import redact_numbers
from .schema import AuditEvent
from .tokens import Principal

ANONYMOUS = "anonymous"


def audit_row(
    principal: Principal | str | None,
    action: str,
    target: str | None,
    outcome: int,
    detail: str | None = None,
) -> AuditEvent:
    """An audit row; ``detail`` is redacted so a diagnostic quoting an NHS number cannot leak it."""
    actor = principal.actor if isinstance(principal, Principal) else principal or ANONYMOUS
    return AuditEvent(
        at=datetime.now(UTC),
        actor=actor[:120],
        action=action,
        target=redact_numbers(target)[:300] if target else None,
        outcome=outcome,
        detail=redact_numbers(detail)[:2000] if detail else None,
    )


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
