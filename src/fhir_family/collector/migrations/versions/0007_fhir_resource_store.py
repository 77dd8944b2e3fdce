"""The collector's FHIR resource store: resources by type and id with versions, and their identifier tokens

Revision ID: 0007
Revises: 0004
Create Date: 2026-11-30 13:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
# 0005 (guide-collector) and 0006 (security-data) are reserved on other branches: whoever merges last
# chains this one after the highest of them.
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fhir_resources",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("resource_type", sa.String(length=40), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ods_code", sa.String(length=6), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "uq_fhir_resources_type_id", "fhir_resources", ["resource_type", "resource_id"], unique=True
    )
    op.create_index(op.f("ix_fhir_resources_ods_code"), "fhir_resources", ["ods_code"], unique=False)
    op.create_table(
        "fhir_resource_versions",
        sa.Column("resource_pk", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["resource_pk"], ["fhir_resources.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("resource_pk", "version_id"),
    )
    op.create_table(
        "fhir_identifiers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("resource_pk", sa.Integer(), nullable=False),
        sa.Column("resource_type", sa.String(length=40), nullable=False),
        sa.Column("system", sa.String(length=500), nullable=True),
        sa.Column("value", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["resource_pk"], ["fhir_resources.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_fhir_identifiers_token", "fhir_identifiers", ["resource_type", "value", "system"], unique=False
    )
    op.create_index(
        op.f("ix_fhir_identifiers_resource_pk"), "fhir_identifiers", ["resource_pk"], unique=False
    )


def downgrade() -> None:
    op.drop_table("fhir_identifiers")
    op.drop_table("fhir_resource_versions")
    op.drop_index(op.f("ix_fhir_resources_ods_code"), table_name="fhir_resources")
    op.drop_index("uq_fhir_resources_type_id", table_name="fhir_resources")
    op.drop_table("fhir_resources")
