"""Materialise the views in DuckDB (one table per ViewDefinition, plus the derived tables of ``derived.py``)
and as Parquet, from the collector's Bulk Data export; read the report counts back.

DuckDB and pyarrow are the ``analytics`` extra (``pip install 'fhir-family[analytics]'``); they are imported
when a function here runs, so the rest of the package works without them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..guide import guide_resources_dir
from .derived import DERIVED_TABLES, LA_MEASURE_COLUMNS, MEASURE_COLUMNS, UNRESOLVED_PROVIDERS
from .exceptions import ExportReadError, ViewDefinitionError
from .export_reader import export_files, read_ndjson, read_parquet
from .runner import run_view
from .viewdefinition import ViewDefinition
from .views import load_views

BATCH_ROWS = 10_000
DATABASE_FILE = "analytics.duckdb"
PRNTSTAT_CONCEPT_MAP = "ConceptMap-parental-status-to-ndtms-prntstat.json"

_INTEGER_TYPES = {"integer", "unsignedInt", "positiveInt", "integer64"}


class AnalyticsDependencyError(ExportReadError):
    """DuckDB or pyarrow is not installed."""


def _modules() -> tuple[Any, Any]:
    try:
        import duckdb
        import pyarrow
    except ImportError as exc:
        raise AnalyticsDependencyError(
            f"{exc.name} is not installed: pip install 'fhir-family[analytics]'"
        ) from exc
    return duckdb, pyarrow


@dataclass(frozen=True)
class Output:
    database: Path
    parquet_dir: Path

    @classmethod
    def at(cls, out: Path) -> Output:
        """``out`` ending in ``.duckdb`` is the database file (Parquet in ``<stem>-parquet/`` beside it);
        anything else is a folder holding ``analytics.duckdb`` and ``parquet/``."""
        if out.suffix == ".duckdb":
            return cls(out, out.with_name(f"{out.stem}-parquet"))
        return cls(out / DATABASE_FILE, out / "parquet")


@dataclass(frozen=True)
class MaterialiseResult:
    output: Output
    tables: dict[str, int]
    """Table name -> row count, views first, then derived tables."""


def _arrow_type(pa: Any, fhir_type: str | None, collection: bool) -> Any:
    if fhir_type == "boolean":
        base = pa.bool_()
    elif fhir_type in _INTEGER_TYPES:
        base = pa.int64()
    elif fhir_type == "decimal":
        base = pa.float64()
    else:  # FHIR's own text for codes, ids, strings and date/dateTime (partial dates exist: 1970-06)
        base = pa.string()
    return pa.list_(base) if collection else base


def _schema(pa: Any, view: ViewDefinition) -> Any:
    types = view.column_types
    return pa.schema([(name, _arrow_type(pa, *types[name])) for name in view.columns])


def _batches(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _load_view(
    con: Any, pa: Any, name: str, view: ViewDefinition, resources: Iterable[dict[str, Any]]
) -> None:
    schema = _schema(pa, view)
    empty = pa.Table.from_pylist([], schema=schema)  # noqa: F841 - read by DuckDB's replacement scan
    con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM empty')
    for batch in _batches(run_view(view, resources), BATCH_ROWS):
        try:
            arrow_batch = pa.Table.from_pylist(batch, schema=schema)  # noqa: F841 - replacement scan
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise ViewDefinitionError(
                f"view {name}: a value does not fit its column's declared type ({exc})"
            ) from exc
        con.execute(f'INSERT INTO "{name}" SELECT * FROM arrow_batch')


def _load_prntstat_map(con: Any) -> None:
    """The guide's ConceptMap parental-status -> NDTMS PRNTSTAT as a table (one source of truth)."""
    path = guide_resources_dir() / PRNTSTAT_CONCEPT_MAP
    concept_map = json.loads(path.read_text(encoding="utf-8"))
    pairs = [
        (element["code"], target["code"])
        for group in concept_map.get("group", [])
        for element in group.get("element", [])
        for target in element.get("target", [])
        if target.get("code")  # not-asked is "unmatched": no PRNTSTAT code (guide.md 0.3)
    ]
    con.execute("CREATE OR REPLACE TABLE prntstat_map (parental_status VARCHAR, prntstat VARCHAR)")
    con.executemany("INSERT INTO prntstat_map VALUES (?, ?)", pairs)


def materialise(
    export_dir: Path,
    out: Path,
    views: dict[str, ViewDefinition] | None = None,
    source: str = "ndjson",
) -> MaterialiseResult:
    """Run every view over the export (its NDJSON, or with ``source="parquet"`` its Parquet) into ``out``'s
    DuckDB database, add the derived tables, and write each table as Parquet. Existing tables of the same
    names are replaced."""
    duckdb, pa = _modules()
    views = views or load_views()
    files = export_files(export_dir, source)

    def resources(paths: list[Path], resource_type: str) -> Iterable[dict[str, Any]]:
        if source == "parquet":
            return read_parquet(duckdb, paths, resource_type)
        return read_ndjson(paths, resource_type)

    output = Output.at(out)
    output.database.parent.mkdir(parents=True, exist_ok=True)
    output.parquet_dir.mkdir(parents=True, exist_ok=True)
    tables: dict[str, int] = {}
    con = duckdb.connect(str(output.database))
    try:
        for name, view in views.items():
            _load_view(con, pa, name, view, resources(files.get(view.resource, []), view.resource))
            tables[name] = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
        _load_prntstat_map(con)
        for name, sql in DERIVED_TABLES:
            con.execute(f'CREATE OR REPLACE TABLE "{name}" AS {sql}')
            tables[name] = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
        unresolved = con.execute(UNRESOLVED_PROVIDERS).fetchone()[0]
        if unresolved:
            raise ExportReadError(
                f"{unresolved} returns refer to a provider (Organization) that is not in the export, so they "
                "cannot be counted by ODS code"
            )
        for name in tables:
            target = output.parquet_dir / f"{name}.parquet"
            con.execute(f"COPY \"{name}\" TO '{_sql_string(target)}' (FORMAT parquet)")
    finally:
        con.close()
    return MaterialiseResult(output, tables)


def _sql_string(path: Path) -> str:
    return str(path).replace("'", "''")


LA_COUNTS_TABLE = "report_counts_by_la"


def _counts_source(location: Path, name: str) -> tuple[str, str]:
    """(database to open, table expression) for the counts table ``name`` at ``location``: a ``.duckdb``
    file, a folder that ``materialise`` wrote, or one the Spark job wrote (``parquet/<name>/*.parquet``)."""
    if location.suffix == ".duckdb" or (location / DATABASE_FILE).is_file():
        database = location if location.suffix == ".duckdb" else location / DATABASE_FILE
        if database.is_file():
            return str(database), name
    spark_parts = location / "parquet" / name
    if spark_parts.is_dir() and any(spark_parts.glob("*.parquet")):
        return ":memory:", f"read_parquet('{_sql_string(spark_parts)}/*.parquet')"
    if (location / "parquet" / "report_counts").is_dir():
        raise ExportReadError(
            f"{location}: no {name} Parquet (written by an older Spark job: run the Spark job again)"
        )
    raise ExportReadError(
        f"{location}: no analytics database or {name} Parquet "
        "(run 'fhir-family analytics materialise' or the Spark job first)"
    )


def _read_counts(
    location: Path, name: str, key: str, measures: tuple[str, ...], ods_code: str | None, month: str | None
) -> dict[tuple[str, str], dict[str, int]]:
    """True counts per (``key``, month) summed over providers (or one provider's), from table ``name``."""
    duckdb, _pa = _modules()
    database, table = _counts_source(location, name)
    con = duckdb.connect(database, read_only=database != ":memory:")
    try:
        sums = ", ".join(f"sum({m})" for m in measures)
        query = f"SELECT {key}, month, {sums} FROM {table} WHERE 1 = 1"
        params: list[str] = []
        if ods_code:
            query += " AND ods = ?"
            params.append(ods_code)
        if month:
            query += " AND month = ?"
            params.append(month)
        query += f" GROUP BY {key}, month"
        try:
            rows = con.execute(query, params).fetchall()
        except duckdb.CatalogException as exc:
            raise ExportReadError(
                f"{location}: no {name} table (materialised by an older version, or not a materialised "
                f"analytics database: run 'fhir-family analytics materialise' again) ({exc})"
            ) from exc
    finally:
        con.close()
    return {(k, m): dict(zip(measures, map(int, values), strict=True)) for k, m, *values in rows}


def raw_counts(
    location: Path, ods_code: str | None = None, month: str | None = None
) -> dict[tuple[str, str], dict[str, int]]:
    """True counts per (ods, month) from a materialised database or the Spark job's Parquet, in the shape of
    ``collector.reports.raw_counts`` (publish them with ``collector.reports.publish``)."""
    return _read_counts(location, "report_counts", "ods", MEASURE_COLUMNS, ods_code, month)


def local_authority_counts(
    location: Path, ods_code: str | None = None, month: str | None = None
) -> dict[tuple[str, str], dict[str, int]]:
    """True counts per (GSS code, month), of all providers or of ``ods_code``'s patients only, from a
    materialised database or the Spark job's Parquet, in the shape of
    ``collector.reports.local_authority_counts`` (``reports.publish`` takes them as ``la_counts``)."""
    return _read_counts(location, LA_COUNTS_TABLE, "la", LA_MEASURE_COLUMNS, ods_code, month)
