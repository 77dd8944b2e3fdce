"""``fhir-family analytics``: the national return as SQL on FHIR views.

``test-suite`` runs the official SQL on FHIR v2 tests against the view runner and writes the suite's JSON
test report; ``run`` prints one view's rows over Bundles or NDJSON (what a return looks like in the tables);
``materialise`` runs the guide's views over a ``fhir-family export`` folder into DuckDB and Parquet;
``report`` prints the national report from that database (or the Spark job's Parquet), with the collector's
own disclosure control (``collector.reports.publish``), so it equals ``fhir-family report`` on the same
returns.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn

import click

from .exits import ExitCode

FORMATS = ["table", "json", "csv", "html"]


def _fail(command: str, message: object, code: ExitCode = ExitCode.UNUSABLE) -> NoReturn:
    click.echo(f"fhir-family analytics {command}: {message}", err=True)
    sys.exit(code)


@click.group()
def command() -> None:
    """SQL on FHIR views of the national return: the official test suite, DuckDB and Parquet, the report."""


@command.command("test-suite")
@click.option(
    "--suite",
    "suite",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The suite's tests folder (default $SQL_ON_FHIR_TESTS, else shared/sql-on-fhir-tests up the tree).",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("build/sql-on-fhir-test-report.json"),
    show_default=True,
    help="Where to write the JSON test report (the suite's test-report format).",
)
@click.option("--failures", is_flag=True, help="Also list every failing test with what differed.")
def test_suite(suite: Path | None, report_path: Path, failures: bool) -> None:
    """Run the SQL on FHIR v2 test suite; exit 1 if a shareable test fails."""
    from ..analytics import suite as sof_suite
    from ..errors import FhirFamilyError

    try:
        folder = sof_suite.suite_dir(suite)
        results = sof_suite.run_suite(folder)
    except FhirFamilyError as exc:
        _fail("test-suite", exc)
    click.echo(f"SQL on FHIR v2 test suite: {folder}")
    click.echo(sof_suite.summary_table(sof_suite.summarise(results)))
    if failures:
        for result in results:
            if not result.passed:
                click.echo(f"FAIL {result.file} {result.title!r} ({', '.join(result.tags)}): {result.error}")
    try:
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(json.dumps(sof_suite.test_report(results), indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        _fail("test-suite", f"cannot write {report_path}: {exc.strerror}")
    click.echo(f"test report: {report_path}")
    if any(r.shareable and not r.passed for r in results):
        sys.exit(ExitCode.REJECTED)


@command.command("run")
@click.argument("view_name")
@click.argument(
    "inputs", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--format", "fmt", type=click.Choice(["csv", "ndjson"]), default="csv", show_default=True)
@click.option(
    "--views",
    "views_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="ViewDefinitions folder (default: the guide's profiles/views).",
)
def run_one(view_name: str, inputs: tuple[Path, ...], fmt: str, views_dir: Path | None) -> None:
    """Print one view's rows over national-return Bundles (JSON) or resources (NDJSON, one per line).

    VIEW_NAME is a view's name (national_return, dependent_child ...) or a ViewDefinition JSON file."""
    import csv
    import io

    from ..analytics.bundles import resources_of
    from ..analytics.export_reader import read_ndjson
    from ..analytics.runner import run_view
    from ..analytics.viewdefinition import read_view
    from ..analytics.views import load_views
    from ..errors import FhirFamilyError

    try:
        if view_name.endswith(".json"):
            view = read_view(_read_json("run", Path(view_name)))
        else:
            views = load_views(views_dir)
            if view_name not in views:
                _fail("run", f"no view named {view_name!r}; the views are {', '.join(sorted(views))}")
            view = views[view_name]
        resources = []
        for path in inputs:
            if path.suffix == ".ndjson":
                resources += list(read_ndjson([path]))
            else:
                data = _read_json("run", path)
                is_bundle = isinstance(data, dict) and data.get("resourceType") == "Bundle"
                resources += list(resources_of([data])) if is_bundle else [data]
        rows = list(run_view(view, resources))
    except FhirFamilyError as exc:
        _fail("run", exc)
    if fmt == "ndjson":
        for row in rows:
            click.echo(json.dumps(row))
        return
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=view.columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: json.dumps(v) if isinstance(v, (list, bool)) else v for k, v in row.items()})
    click.echo(text.getvalue(), nl=False)


def _read_json(command_name: str, path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        _fail(command_name, f"{path}: not readable JSON ({exc})")


@command.command("materialise")
@click.argument("export_dir", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="A folder (gets analytics.duckdb and parquet/), or a file ending .duckdb (Parquet beside it).",
)
@click.option(
    "--views",
    "views_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="ViewDefinitions folder (default: the guide's profiles/views).",
)
@click.option(
    "--from",
    "source",
    type=click.Choice(["ndjson", "parquet"]),
    default="ndjson",
    show_default=True,
    help="Read the export's NDJSON files or its Parquet files (the same resources).",
)
def materialise(export_dir: Path, out: Path, views_dir: Path | None, source: str) -> None:
    """Run the views over a 'fhir-family export' folder into DuckDB tables and Parquet files."""
    from ..analytics.duckdb_store import materialise as run
    from ..analytics.views import load_views
    from ..errors import FhirFamilyError

    try:
        result = run(export_dir, out, load_views(views_dir), source)
    except FhirFamilyError as exc:
        _fail("materialise", exc)
    except OSError as exc:
        _fail("materialise", f"cannot write {out}: {exc.strerror or exc}")
    for name, count in result.tables.items():
        click.echo(f"{count:>8}  {name}")
    click.echo(f"database: {result.output.database}")
    click.echo(f"parquet:  {result.output.parquet_dir}")


@command.command("report")
@click.argument("database", metavar="DB_OR_DIR", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--month", default=None, help="Only this reporting month (YYYY-MM).")
@click.option("--ods", default=None, help="Only this provider (its own rows, without national totals).")
def report(database: Path, fmt: str, month: str | None, ods: str | None) -> None:
    """The national report (PRNTSTAT 11-15 and children by provider and month, and by local authority) from a
    materialised database or the Spark job's output folder, with the collector's disclosure control."""
    from ..analytics.duckdb_store import local_authority_counts, raw_counts
    from ..collector import reports
    from ..errors import FhirFamilyError
    from .report import echo_report

    try:
        published = reports.publish(
            raw_counts(database, ods, month), ods, local_authority_counts(database, ods, month)
        )
    except FhirFamilyError as exc:
        _fail("report", exc)
    echo_report(published, fmt)
