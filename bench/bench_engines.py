"""One figure, three engines: the time each takes to produce the national report from one synthetic month.

PostgreSQL: the collector's own report (``reports.build_report``) over the loaded month. DuckDB: ``fhir-family
analytics materialise`` over the export, then the report. Spark: the PySpark job (``spark-submit``, local mode
on ``FHIR_FAMILY_BENCH_SPARK_CORES`` cores, default 2) over the export, then the report. The load into
PostgreSQL and the export are shown too, as context. Every engine's published tables (by provider and by local
authority) are checked equal before a figure is printed.

Needs a PostgreSQL: ``FHIR_FAMILY_BENCH_DATABASE_URL`` or ``TEST_DATABASE_URL``; each run uses a fresh schema
and drops it. ``./scripts/run-tests.sh --exec .venv/bin/python bench/run.py engines`` runs it against a
throwaway PostgreSQL. Sizes: 100,000 returns; add 1,000,000 with
``FHIR_FAMILY_BENCH_ENGINES_1M=1``, or set ``FHIR_FAMILY_BENCH_ENGINES_SIZES=100000,1000000``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from run import Row

from fhir_family.analytics import spark_job
from fhir_family.analytics.duckdb_store import local_authority_counts, materialise, raw_counts
from fhir_family.collector import reports
from fhir_family.collector.bulk_load import bulk_load
from fhir_family.collector.database import make_engine, migrate
from fhir_family.collector.export import export_ndjson
from fhir_family.collector.pseudonym import Pseudonymiser
from fhir_family.collector.store import SubmissionStore
from fhir_family.collector.synthetic import synthetic_national_month
from fhir_family.mapping.bundle import build_bundle

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from conftest import _postgres_schema_url  # noqa: E402 - the same throwaway-schema helper as the tests

CORES = int(os.environ.get("FHIR_FAMILY_BENCH_SPARK_CORES", "2"))


def _sizes() -> list[int]:
    if os.environ.get("FHIR_FAMILY_BENCH_ENGINES_SIZES"):
        return [int(size) for size in os.environ["FHIR_FAMILY_BENCH_ENGINES_SIZES"].split(",")]
    return [100_000, 1_000_000] if os.environ.get("FHIR_FAMILY_BENCH_ENGINES_1M") == "1" else [100_000]


def _timed(action):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = action()
    return result, time.perf_counter() - start


def _tables(report: reports.Report) -> tuple[list, list | None]:
    """The published tables compared across engines: by provider and by local authority."""
    return report.rows, report.local_authorities


def _engine_tables(location: Path) -> tuple[list, list | None]:
    """DuckDB's or Spark's counts, published as ``fhir-family analytics report`` publishes them."""
    return _tables(reports.publish(raw_counts(location), None, local_authority_counts(location)))


def _one_size(base_url: str, size: int) -> list[Row]:
    schema = _postgres_schema_url(base_url)
    db_url = next(schema)
    engine = make_engine(db_url)
    try:
        migrate(engine)
        store = SubmissionStore(engine, Pseudonymiser(b"bench-engines-key-0123456789abcdef"))
        bundles = (build_bundle(record) for record in synthetic_national_month(size))
        loaded, load_s = _timed(lambda: bulk_load(store, bundles, "bench"))
        postgres, postgres_s = _timed(lambda: _tables(reports.build_report(engine)))
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            _, export_s = _timed(lambda: export_ndjson(engine, folder / "export", parquet=True))
            duck, duck_s = _timed(
                lambda: (
                    materialise(folder / "export", folder / "duckdb"),
                    _engine_tables(folder / "duckdb"),
                )[1]
            )
            job, spark_s = _timed(lambda: spark_job.submit_local(folder / "export", folder / "spark", CORES))
            if job.returncode != 0:
                raise RuntimeError(f"the Spark job failed: {job.stderr[-2000:]}")
            spark, report_s = _timed(lambda: _engine_tables(folder / "spark"))
        if not postgres == duck == spark:
            raise AssertionError(f"the engines disagree at {loaded} returns")
    finally:
        engine.dispose()
        next(schema, None)
    label = f"({loaded:,} returns)"
    return [
        Row(f"load into PostgreSQL, bulk {label}", load_s, "s"),
        Row(f"export NDJSON+Parquet {label}", export_s, "s"),
        Row(f"PostgreSQL report {label}", postgres_s, "s"),
        Row(f"DuckDB materialise+report {label}", duck_s, "s", "PostgreSQL report", postgres_s),
        Row(f"Spark job+report local[{CORES}] {label}", spark_s + report_s, "s", "PostgreSQL report",
            postgres_s),
    ]


def run() -> list[Row]:
    base = os.environ.get("FHIR_FAMILY_BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if not base:
        print("bench_engines: skipped, no PostgreSQL (set TEST_DATABASE_URL)", file=sys.stderr)
        return []
    rows: list[Row] = []
    for size in _sizes():
        rows.extend(_one_size(base, size))
    return rows
