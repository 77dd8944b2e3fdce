"""Per-line outcomes of an $import job in their own table, written batch by batch (not one document in memory)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 11:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_outcomes",
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "line"),
    )


def downgrade() -> None:
    op.drop_table("import_outcomes")
