"""audit_log: request id, source address, token id, method, path and bytes on every row; append-only

A row per request (action ``request``) joins the rows of what the request did by its request id. Triggers on
both databases refuse UPDATE and DELETE (and, on PostgreSQL, TRUNCATE) of audit rows, whatever the code does.

Revision ID: 0006c
Revises: 0006b
Create Date: 2026-11-30 13:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006c"
down_revision: str | Sequence[str] | None = "0006b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("request_id", sa.String(length=36)),
    ("source", sa.String(length=64)),
    ("token_id", sa.Integer()),
    ("method", sa.String(length=10)),
    ("path", sa.String(length=300)),
    ("bytes_in", sa.BigInteger()),
    ("bytes_out", sa.BigInteger()),
)
_REFUSAL = "audit_log is append-only"


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch_op:
        for name, kind in _COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=True))
        batch_op.create_index("ix_audit_log_request_id", ["request_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{_REFUSAL}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER audit_log_no_change ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER audit_log_no_update")
        op.execute("DROP TRIGGER audit_log_no_delete")
    with op.batch_alter_table("audit_log") as batch_op:
        batch_op.drop_index("ix_audit_log_request_id")
        for name, _kind in reversed(_COLUMNS):
            batch_op.drop_column(name)
