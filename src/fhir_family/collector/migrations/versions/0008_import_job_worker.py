"""The process running an $import job (host:pid), so a restarted collector can tell an interrupted job
from one another worker is still running, and mark it failed

Revision ID: 0008
Revises: 0004
Create Date: 2026-11-30 13:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("import_jobs", sa.Column("worker", sa.String(length=80), nullable=True))


def downgrade() -> None:
    op.drop_column("import_jobs", "worker")
