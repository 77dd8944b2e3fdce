"""The PySpark job (analytics/spark_job.py) run as users run it, with ``spark-submit`` in local mode, over the
collector's export of a synthetic month: every table equals DuckDB's, and the published report equals the
collector's own (PostgreSQL/SQLite) report. One JVM start for the module: the job runs once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from fhir_family.analytics import spark_job
from fhir_family.analytics.duckdb_store import local_authority_counts, materialise, raw_counts
from fhir_family.cli import main
from fhir_family.collector import reports
from fhir_family.collector.app import create_app
from fhir_family.collector.export import export_ndjson
from fhir_family.collector.synthetic import synthetic_month
from fhir_family.collector.tokens import issue_token
from fhir_family.mapping.bundle import build_bundle

if os.environ.get("CI") != "true":
    pytest.importorskip("pyspark", reason="PySpark is the 'spark' extra (the dev extra includes it)")

TABLES = (
    "reporting_provider",
    "national_return",
    "dependent_child",
    "child_help",
    "child_data_quality",
    "returns",
    "children",
    "data_quality",
    "report_counts",
    "report_counts_by_la",
)


@pytest.fixture(scope="module")
def engines(tmp_path_factory, collector_validator):
    """A synthetic month in the collector, its export, DuckDB's tables and the Spark job's Parquet."""
    tmp = tmp_path_factory.mktemp("engines")
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{tmp / 'collector.sqlite'}",
            "PSEUDONYM_KEY": "spark-test-key-0123456789abcdef-0123",
            "VALIDATOR": collector_validator,
        }
    )
    collector = app.extensions["fhir_family_collector"]
    tokens = {ods: issue_token(collector.sessions, "provider", ods) for ods in ("RXA", "RXB", "RXC")}
    client = app.test_client()
    for record in synthetic_month(patients_per_provider=30):
        response = client.post(
            "/",
            data=json.dumps(build_bundle(record)),
            headers={"Authorization": f"Bearer {tokens[record.ods_code]}"},
        )
        assert response.status_code == 200
    export_ndjson(collector.engine, tmp / "export")
    materialise(tmp / "export", tmp / "duckdb")

    python = Path(sys.executable)
    submit = shutil.which("spark-submit", path=str(python.parent)) or shutil.which("spark-submit")
    assert submit, "spark-submit not found (pip install 'fhir-family[spark]')"
    env = {
        **os.environ,
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    job = subprocess.run(
        [
            submit,
            "--master",
            "local[1]",
            "--conf",
            "spark.ui.enabled=false",  # no fixed port 4040
            "--conf",
            "spark.sql.shuffle.partitions=2",
            spark_job.__file__,
            str(tmp / "export"),
            "--out",
            str(tmp / "spark"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert job.returncode == 0, job.stderr[-4000:]
    assert "report_counts" in job.stdout
    return collector, tmp


def test_spark_tables_equal_duckdbs(engines):
    _collector, tmp = engines
    con = duckdb.connect(str(tmp / "duckdb" / "analytics.duckdb"), read_only=True)
    for table in TABLES:
        spark = f"read_parquet('{tmp / 'spark' / 'parquet' / table}/*.parquet')"
        columns = [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()]
        spark_columns = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {spark}").fetchall()]
        assert spark_columns == columns, table
        cols = ", ".join(f'"{c}"' for c in columns)
        total = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        assert total > 0, table
        for left, right in ((table, spark), (spark, table)):
            extra = con.execute(
                f"SELECT count(*) FROM (SELECT {cols} FROM {left} EXCEPT ALL SELECT {cols} FROM {right})"
            ).fetchone()[0]
            assert extra == 0, f"{table}: {extra} rows of {left} not in {right}"
    con.close()


def test_spark_report_equals_the_collectors(engines):
    collector, tmp = engines
    assert raw_counts(tmp / "spark") == reports.raw_counts(collector.engine)
    published = CliRunner().invoke(main, ["analytics", "report", str(tmp / "spark"), "--format", "json"])
    assert published.exit_code == 0, published.output
    theirs = reports.build_report(collector.engine)
    assert json.loads(published.output)["rows"] == theirs.rows
    assert local_authority_counts(tmp / "spark") == reports.local_authority_counts(collector.engine)
    assert json.loads(published.output)["byLocalAuthority"] == theirs.local_authorities


def test_spark_job_refuses_a_bad_export_before_starting_spark(tmp_path, capsys):
    assert spark_job.main([str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "manifest.json: missing" in capsys.readouterr().err
