"""The same views and tables as ``duckdb_store.materialise``, as a PySpark job for data beyond one machine.

Each view runs inside the executors (``mapPartitions`` over the export's NDJSON lines, the same runner), the
derived tables are the same SQL (``derived.py``) in Spark SQL, and every table is written as Parquet
(``OUT/parquet/<table>/part-*.parquet``). ``fhir-family analytics report OUT`` then publishes
``report_counts`` with the collector's disclosure control, exactly as for DuckDB.

    JOB=$(python -c 'import fhir_family.analytics.spark_job as job; print(job.__file__)')
    spark-submit --master 'local[*]' "$JOB" EXPORT_DIR --out OUT_DIR

On a cluster, install fhir-family on every node (or ship it with ``--py-files``) and give EXPORT_DIR and
OUT_DIR as paths every node can read (HDFS, S3, a shared filesystem). PySpark is the ``spark`` extra.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

# Absolute imports: spark-submit runs this file as a script, not as a module of its package.
from fhir_family.analytics.derived import DERIVED_TABLES, UNRESOLVED_PROVIDERS
from fhir_family.analytics.duckdb_store import PRNTSTAT_CONCEPT_MAP
from fhir_family.analytics.exceptions import ExportReadError
from fhir_family.analytics.export_reader import export_files
from fhir_family.analytics.viewdefinition import ViewDefinition
from fhir_family.analytics.views import load_views
from fhir_family.guide import guide_resources_dir

_INTEGER_TYPES = {"integer", "unsignedInt", "positiveInt", "integer64"}


def _spark_type(types: Any, fhir_type: str | None, collection: bool) -> Any:
    if fhir_type == "boolean":
        base = types.BooleanType()
    elif fhir_type in _INTEGER_TYPES:
        base = types.LongType()
    elif fhir_type == "decimal":
        base = types.DoubleType()
    else:
        base = types.StringType()
    return types.ArrayType(base) if collection else base


def _schema(types: Any, view: ViewDefinition) -> Any:
    column_types = view.column_types
    return types.StructType(
        [types.StructField(name, _spark_type(types, *column_types[name]), True) for name in view.columns]
    )


def _partition_rows(source: dict[str, Any], columns: list[str]):
    """For mapPartitions: NDJSON lines in, row tuples out (the view compiled once per partition)."""

    def rows(lines: Iterable[str]) -> Iterator[tuple]:
        from fhir_family.analytics.runner import run_view
        from fhir_family.analytics.viewdefinition import read_view

        view = read_view(source)
        resources = (json.loads(line) for line in lines if line.strip())
        for row in run_view(view, resources):
            yield tuple(row[name] for name in columns)

    return rows


def _prntstat_pairs() -> list[tuple[str, str]]:
    concept_map = json.loads((guide_resources_dir() / PRNTSTAT_CONCEPT_MAP).read_text(encoding="utf-8"))
    return [
        (element["code"], target["code"])
        for group in concept_map.get("group", [])
        for element in group.get("element", [])
        for target in element.get("target", [])
        if target.get("code")  # not-asked is "unmatched": no PRNTSTAT code (guide.md 0.3)
    ]


def run(
    spark: Any, export_dir: Path, out: Path, views: dict[str, ViewDefinition] | None = None
) -> dict[str, int]:
    """Write every view and derived table as Parquet under ``out/parquet`` and register it (read back from its
    Parquet) as a Spark temporary view; returns table name -> row count.

    Reading each table back from its Parquet before later tables use it keeps Spark from re-running the views
    (Python, in the executors) for every derived table that reads them."""
    from pyspark.sql import types

    views = views or load_views()
    files = export_files(export_dir)
    counts: dict[str, int] = {}

    def materialised(name: str, frame: Any) -> None:
        target = str(out / "parquet" / name)
        frame.write.mode("overwrite").parquet(target)
        stored = spark.read.parquet(target)
        stored.createOrReplaceTempView(name)
        counts[name] = stored.count()

    for name, view in views.items():
        paths = [str(p) for p in files.get(view.resource, [])]
        schema = _schema(types, view)
        if paths:
            lines = spark.sparkContext.textFile(",".join(paths))
            rdd = lines.mapPartitions(_partition_rows(view.source, view.columns))
            materialised(name, spark.createDataFrame(rdd, schema))
        else:
            materialised(name, spark.createDataFrame([], schema))
    prntstat = spark.createDataFrame(_prntstat_pairs(), "parental_status string, prntstat string")
    materialised("prntstat_map", prntstat)
    for name, sql in DERIVED_TABLES:
        materialised(name, spark.sql(sql))
    unresolved = spark.sql(UNRESOLVED_PROVIDERS).collect()[0][0]
    if unresolved:
        raise ExportReadError(
            f"{unresolved} returns refer to a provider (Organization) that is not in the export, so they "
            "cannot be counted by ODS code"
        )
    return counts


def submit_local(
    export_dir: Path, out: Path, cores: int = 1, timeout: float = 3600
) -> subprocess.CompletedProcess[str]:
    """Run this job with ``spark-submit`` in local mode on ``cores`` cores, as a user would (tests, bench).

    The interpreter running this is the job's Python; Spark's UI (a fixed port) is off."""
    python = Path(sys.executable)
    submit = shutil.which("spark-submit", path=str(python.parent)) or shutil.which("spark-submit")
    if not submit:
        raise FileNotFoundError("spark-submit not found (pip install 'fhir-family[spark]')")
    env = {
        **os.environ,
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    command = [
        submit,
        "--master",
        f"local[{cores}]",
        "--driver-memory",
        os.environ.get("FHIR_FAMILY_SPARK_DRIVER_MEMORY", "2g"),
        "--conf",
        "spark.ui.enabled=false",
        "--conf",
        f"spark.sql.shuffle.partitions={max(2, 2 * cores)}",
        __file__,
        str(export_dir),
        "--out",
        str(out),
    ]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)


def main(argv: list[str] | None = None) -> int:
    """``spark-submit spark_job.py EXPORT_DIR --out OUT_DIR``: exit 0, or 2 with a one-line message."""
    parser = argparse.ArgumentParser(description="Materialise the fhir-family views with Spark.")
    parser.add_argument("export_dir", type=Path, help="a 'fhir-family export' folder")
    parser.add_argument("--out", required=True, type=Path, help="output folder (Parquet under OUT/parquet)")
    parser.add_argument("--views", type=Path, default=None, help="ViewDefinitions folder")
    args = parser.parse_args(argv)

    from fhir_family.errors import FhirFamilyError

    try:  # bad input is reported before a JVM is started
        views = load_views(args.views)
        export_files(args.export_dir)
    except FhirFamilyError as exc:
        print(f"fhir-family spark job: {exc}", file=sys.stderr)
        return 2

    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("fhir-family analytics").getOrCreate()
    try:
        counts = run(spark, args.export_dir, args.out, views)
    except FhirFamilyError as exc:
        print(f"fhir-family spark job: {exc}", file=sys.stderr)
        return 2
    finally:
        spark.stop()
    for name, count in counts.items():
        print(f"{count:>8}  {name}")
    print(f"parquet: {args.out / 'parquet'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
