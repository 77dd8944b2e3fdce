"""``fhir-family report``: the collector's aggregate report with disclosure control, read from its database
(the same figures as ``GET /reports/monthly``)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from ..collector.settings import default_database_url
from .exits import fail

if TYPE_CHECKING:
    from ..collector.reports import Report


@click.command()
@click.option("--db", "db_url", default=None, help="Database URL (default $DATABASE_URL or SQLite var/).")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "csv", "html"]), default="table", show_default=True
)
@click.option("--month", default=None, help="Only this reporting month (YYYY-MM).")
@click.option("--ods", default=None, help="Only this provider (its own rows, without national totals).")
def command(db_url: str | None, fmt: str, month: str | None, ods: str | None) -> None:
    """Print the collector's aggregate report with disclosure control."""
    from ..collector import reports
    from ..collector.database import make_engine, migrate
    from ..errors import FhirFamilyError

    try:
        engine = make_engine(db_url or default_database_url())
        migrate(engine)
        report = reports.build_report(engine, ods_code=ods, month=month)
    except FhirFamilyError as exc:
        fail("report", str(exc))
    echo_report(report, fmt)


def echo_report(report: Report, fmt: str) -> None:
    """Print a disclosure-controlled report as table, json, csv or html (``report``, ``analytics report``)."""
    from ..collector import reports

    if fmt == "json":
        click.echo(json.dumps(reports.to_json(report), indent=2))
    elif fmt == "csv":
        click.echo(reports.to_csv(report), nl=False)
    elif fmt == "html":
        click.echo(reports.to_html(report))
    else:
        click.echo(reports.to_table(report))
