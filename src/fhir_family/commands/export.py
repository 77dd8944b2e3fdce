"""``fhir-family export --out DIR``: pseudonymised returns as Bulk Data NDJSON (one file per resource type)
plus ``manifest.json``, readable by ``spark.read.json`` or Pathling as they are."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click

from ..collector.settings import default_database_url
from .exits import fail


@click.command()
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the NDJSON files and manifest.json into.",
)
@click.option("--db", "db_url", default=None, help="Database URL (default $DATABASE_URL or SQLite var/).")
@click.option("--include-superseded", is_flag=True, help="Also export returns that a later one superseded.")
def command(out_dir: Path, db_url: str | None, include_superseded: bool) -> None:
    """Export pseudonymised data as Bulk-Data NDJSON."""
    from ..collector.audit import record
    from ..collector.database import make_engine, migrate, session_factory
    from ..collector.export import export_ndjson
    from ..errors import FhirFamilyError

    try:
        engine = make_engine(db_url or default_database_url())
        migrate(engine)
        result = export_ndjson(engine, out_dir, include_superseded, request=" ".join(sys.argv))
        counts = ", ".join(f"{item['count']} {item['type']}" for item in result.manifest["output"])
        # Record-level data left the database: that goes in the audit log like any read.
        record(
            session_factory(engine), f"cli {getpass.getuser()}", "export", str(out_dir.resolve()), 200, counts
        )
    except FhirFamilyError as exc:
        fail("export", str(exc))
    except OSError as exc:
        fail("export", f"cannot write to {out_dir}: {exc.strerror}")
    for item in result.manifest["output"]:
        click.echo(f"{item['count']:>8}  {item['type']}")
    click.echo(f"manifest: {out_dir / 'manifest.json'}")
