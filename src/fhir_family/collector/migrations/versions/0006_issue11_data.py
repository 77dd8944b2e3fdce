"""Issue 11, data: submission ids scoped to the provider; token expiry and last use; a full, append-only audit

- submissions: unique (ods_code, submission_id), no longer unique alone. One global namespace let a provider
  take an id another would use (the other then got 409) and let 409 and 403-vs-404 answers reveal which of
  another provider's ids exist. Existing rows keep their provider.
- api_tokens: an optional expiry (set at issue, or by a rotation's grace period) and the last use.
- audit_log: request id, source address, token id, method, path and bytes on every row (a row per request,
  action ``request``, joins the rows of what the request did by its request id); triggers on both databases
  refuse UPDATE and DELETE (and, on PostgreSQL, TRUNCATE) of audit rows, whatever the code does.

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-30 13:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
# 0005 is reserved for another branch (guide-collector): when both are merged, this revises "0005".
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 0001 left the unique constraint on submission_id unnamed: PostgreSQL named it submissions_submission_id_key,
# and this convention gives SQLite's reflected copy (in batch mode) the same name, so one drop serves both.
_NAMING = {"uq": "%(table_name)s_%(column_0_name)s_key"}
_CURRENT_RETURN = "uq_submissions_current_return"
_AUDIT_COLUMNS = (
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
    _scope_submission_ids()
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("audit_log") as batch_op:
        for name, kind in _AUDIT_COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=True))
        batch_op.create_index("ix_audit_log_request_id", ["request_id"], unique=False)
    _append_only_audit()


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
        for name, _kind in reversed(_AUDIT_COLUMNS):
            batch_op.drop_column(name)
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("expires_at")
    op.drop_index(_CURRENT_RETURN, table_name="submissions")
    with op.batch_alter_table("submissions", naming_convention=_NAMING) as batch_op:
        batch_op.drop_constraint("uq_submissions_provider_id", type_="unique")
        batch_op.create_unique_constraint("submissions_submission_id_key", ["submission_id"])
    _create_current_return_index()


def _scope_submission_ids() -> None:
    # SQLite rebuilds the table in batch mode (database.migrate turns foreign keys off, or the rebuild's DROP
    # would cascade-delete child facts and resources); the partial index is dropped and made again explicitly
    # so its WHERE clause cannot be lost in reflection.
    op.drop_index(_CURRENT_RETURN, table_name="submissions")
    with op.batch_alter_table("submissions", naming_convention=_NAMING) as batch_op:
        batch_op.drop_constraint("submissions_submission_id_key", type_="unique")
        batch_op.create_unique_constraint("uq_submissions_provider_id", ["ods_code", "submission_id"])
    _create_current_return_index()


def _create_current_return_index() -> None:
    op.create_index(
        _CURRENT_RETURN,
        "submissions",
        ["ods_code", "patient_pseudonym", "period_start", "period_end"],
        unique=True,
        sqlite_where=sa.text("status = 'current'"),
        postgresql_where=sa.text("status = 'current'"),
    )


def _append_only_audit() -> None:
    """Triggers, so not even a hand-written statement changes an audit row. (A later batch migration that
    rebuilds audit_log on SQLite must create them again.)"""
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
