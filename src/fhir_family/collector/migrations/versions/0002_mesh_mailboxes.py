"""MESH mailboxes bound to a provider's ODS code

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 10:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mesh_mailboxes",
        sa.Column("mailbox_id", sa.String(length=20), nullable=False),
        sa.Column("ods_code", sa.String(length=6), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["ods_code"], ["organisations.ods_code"]),
        sa.PrimaryKeyConstraint("mailbox_id"),
    )


def downgrade() -> None:
    op.drop_table("mesh_mailboxes")
