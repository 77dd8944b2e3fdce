"""The guide 0.2 facts of a return and its children: legal basis, date asked, who asked, source, support
offered, local authority, team type, service request id, derived ParentalResp; per child: NHS number sent,
previous CP plan / looked after, PR restriction, local authority, think-family action and outcome, ended

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 13:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SUBMISSION_COLUMNS = (
    ("legal_basis", sa.String(length=24)),
    ("date_asked", sa.Date()),
    ("asked_by", sa.String(length=24)),
    ("status_source", sa.String(length=16)),
    ("support_offered", sa.String(length=200)),
    ("local_authority", sa.String(length=9)),
    ("team_type", sa.String(length=4)),
    ("service_request_id", sa.String(length=200)),
    ("parental_resp", sa.String(length=1)),
)
_CHILD_FLAGS = ("has_nhs_number", "previous_child_protection_plan", "previous_looked_after")
_CHILD_COLUMNS = (
    ("pr_restriction", sa.String(length=80)),
    ("local_authority", sa.String(length=9)),
    ("think_family_action", sa.String(length=16)),
    ("think_family_outcome", sa.String(length=24)),
    ("ended", sa.Date()),
)


def upgrade() -> None:
    # Plain ADD COLUMN (nullable, or with a default): SQLite and PostgreSQL both do it in place.
    for name, type_ in _SUBMISSION_COLUMNS:
        op.add_column("submissions", sa.Column(name, type_, nullable=True))
    op.create_index("ix_submissions_local_authority", "submissions", ["local_authority"])
    for name in _CHILD_FLAGS:
        op.add_column(
            "child_facts", sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false())
        )
    for name, type_ in _CHILD_COLUMNS:
        op.add_column("child_facts", sa.Column(name, type_, nullable=True))
    # Children stored before 0005 had a pseudonym exactly when an NHS number was sent.
    op.execute("UPDATE child_facts SET has_nhs_number = (child_pseudonym IS NOT NULL)")


def downgrade() -> None:
    with op.batch_alter_table("child_facts") as batch:
        for name, _type in reversed(_CHILD_COLUMNS):
            batch.drop_column(name)
        for name in reversed(_CHILD_FLAGS):
            batch.drop_column(name)
    op.drop_index("ix_submissions_local_authority", table_name="submissions")
    with op.batch_alter_table("submissions") as batch:
        for name, _type in reversed(_SUBMISSION_COLUMNS):
            batch.drop_column(name)
