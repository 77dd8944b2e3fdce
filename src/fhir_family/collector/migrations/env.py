"""Alembic environment: migrations always run programmatically on a connection handed over by
``fhir_family.collector.database.migrate``; there is no alembic.ini."""

from __future__ import annotations

from alembic import context

from fhir_family.collector.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable through the alembic CLI, which we do not ship
    raise RuntimeError("Run migrations through fhir_family.collector.database.migrate(engine)")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
