"""Submission ids scoped to the provider: unique (ods_code, submission_id), no longer unique alone

One global namespace let a provider take an id another would use (the other then got 409) and let 409 and
403-vs-404 answers reveal which of another provider's ids exist. Existing rows keep their provider.

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-30 13:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
# 0005 is reserved for another branch (guide-collector); whichever merges second chains after the other.
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 0001 left the unique constraint on submission_id unnamed: PostgreSQL named it submissions_submission_id_key,
# and this convention gives SQLite's reflected copy (in batch mode) the same name, so one drop serves both.
_NAMING = {"uq": "%(table_name)s_%(column_0_name)s_key"}
_CURRENT_RETURN = "uq_submissions_current_return"


def upgrade() -> None:
    # SQLite rebuilds the table in batch mode; the partial index is dropped and made again explicitly so its
    # WHERE clause cannot be lost in reflection.
    op.drop_index(_CURRENT_RETURN, table_name="submissions")
    with op.batch_alter_table("submissions", naming_convention=_NAMING) as batch_op:
        batch_op.drop_constraint("submissions_submission_id_key", type_="unique")
        batch_op.create_unique_constraint("uq_submissions_provider_id", ["ods_code", "submission_id"])
    _create_current_return_index()


def downgrade() -> None:
    op.drop_index(_CURRENT_RETURN, table_name="submissions")
    with op.batch_alter_table("submissions", naming_convention=_NAMING) as batch_op:
        batch_op.drop_constraint("uq_submissions_provider_id", type_="unique")
        batch_op.create_unique_constraint("submissions_submission_id_key", ["submission_id"])
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
