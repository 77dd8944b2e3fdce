"""``fhir-family export --out DIR``: pseudonymised returns as Bulk Data NDJSON (one file per resource type),
Parquet beside it, and ``manifest.json``, readable by ``spark.read.json`` or Pathling as they are."""

from __future__ import annotations

import getpass
import os
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
@click.option(
    "--parquet/--no-parquet",
    default=True,
    show_default=True,
    help="Also write {Type}.parquet beside each NDJSON file (needs the analytics extra).",
)
@click.option(
    "--base-url",
    default=None,
    help="The collector's public base URL, for the manifest's request "
    "(default $FHIR_FAMILY_COLLECTOR_URL or http://localhost:8081).",
)
def command(
    out_dir: Path, db_url: str | None, include_superseded: bool, parquet: bool, base_url: str | None
) -> None:
    """Export pseudonymised data as Bulk-Data NDJSON."""
    from ..collector.audit import record
    from ..collector.database import make_engine, migrate, session_factory
    from ..collector.export import export_ndjson, export_request_url
    from ..errors import FhirFamilyError

    try:
        engine = make_engine(db_url or default_database_url())
        migrate(engine)
        base = base_url or os.environ.get("FHIR_FAMILY_COLLECTOR_URL") or "http://localhost:8081"
        request = export_request_url(base, include_superseded)
        result = export_ndjson(engine, out_dir, include_superseded, request=request, parquet=parquet)
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
    for item in result.manifest.get("extension", {}).get("parquet", []):
        click.echo(f"parquet: {out_dir / (item['type'] + '.parquet')}")
    click.echo(f"manifest: {out_dir / 'manifest.json'}")
