"""Collector ingest throughput (bundles/s) on SQLite and PostgreSQL.

Each figure is one run over the same deterministic synthetic returns (3 providers x ``PER_PROVIDER``), into a
fresh database:

- ingest: ``Collector.submit`` per bundle, i.e. what ``POST /`` does behind HTTP: check the token's ODS code,
  full profile validation, facts, pseudonymisation, one atomic transaction (submission, children, resources,
  audit row);
- store only: the transaction alone (validation done beforehand), to show the database's share;
- ingest with 4 threads: four providers' senders at once (row and unique-index contention included);
- ``$import`` batches: ``Collector.prepare`` per line and ``batch_store.store_batch`` per batch of
  ``bulk.BATCH_LINES`` (the plainly new returns in multi-row inserts, FHIR store included; the rest a
  savepoint each), what an ``$import`` job does behind HTTP (the HTTP path itself, with a month of returns,
  is ``bench_month``).

Every figure is the median of ``BENCH_REPEATS`` (default 3) runs, the kinds interleaved (a, b, c, a, b, c)
so a noisy neighbour slows all kinds alike rather than one.

PostgreSQL rows are read against the SQLite figure of the same kind (ratio > 1: PostgreSQL is faster).
PostgreSQL is ``$TEST_DATABASE_URL`` when set, else a throwaway server started here with initdb/pg_ctl in a
temporary folder (as the ``postgres`` user when running as root) and stopped afterwards; without PostgreSQL
binaries its rows are left out with a note on stderr.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from glob import glob
from pathlib import Path

from run import Row

from fhir_family.collector.batch_store import store_batch
from fhir_family.collector.bulk import BATCH_LINES
from fhir_family.collector.facts import extract
from fhir_family.collector.service import Collector
from fhir_family.collector.settings import CollectorSettings
from fhir_family.collector.synthetic import synthetic_month
from fhir_family.collector.tokens import Principal, authenticate, issue_token
from fhir_family.conformance import default_validator
from fhir_family.mapping.bundle import build_bundle

PER_PROVIDER = 100
THREADS = 4
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
TARGET = 1000.0
"""The issue's target for ingest: >= 1,000 returns/s."""
KEY = b"bench-key-0123456789abcdef0123456789"


def _bundles(prefix: str) -> list[tuple[str, dict]]:
    return [
        (r.ods_code, build_bundle(r))
        for r in synthetic_month("2026-10", PER_PROVIDER, submission_prefix=prefix)
    ]


def _collector(url: str) -> tuple[Collector, dict[str, Principal]]:
    collector = Collector(
        CollectorSettings(database_url=url, pseudonym_key=KEY), validator=default_validator()
    )
    principals = {}
    for ods in ("RXA", "RXB", "RXC"):
        token = issue_token(collector.sessions, "provider", ods)
        principals[ods] = authenticate(collector.sessions, token)
    return collector, principals


def _ingest(url: str, threads: int = 1) -> float:
    collector, principals = _collector(url)
    work = _bundles(f"bench-{uuid.uuid4().hex[:8]}")
    chunks = [work[i::threads] for i in range(threads)]

    def send(items: list[tuple[str, dict]]) -> None:
        for ods, bundle in items:
            collector.submit(bundle, principals[ods])

    started = time.perf_counter()
    if threads == 1:
        send(work)
    else:
        workers = [threading.Thread(target=send, args=(chunk,)) for chunk in chunks]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    elapsed = time.perf_counter() - started
    collector.engine.dispose()
    return len(work) / elapsed


def _import_batches(url: str) -> float:
    collector, principals = _collector(url)
    work = _bundles(f"batch-{uuid.uuid4().hex[:8]}")
    started = time.perf_counter()
    for start in range(0, len(work), BATCH_LINES):
        chunk = work[start : start + BATCH_LINES]
        items = [(collector.prepare(bundle, principals[ods]), principals[ods]) for ods, bundle in chunk]
        store_batch(collector.store, items)
    elapsed = time.perf_counter() - started
    collector.engine.dispose()
    return len(work) / elapsed


def _store_only(url: str) -> float:
    collector, principals = _collector(url)
    prepared = [(ods, bundle, extract(bundle)) for ods, bundle in _bundles(f"store-{uuid.uuid4().hex[:8]}")]
    started = time.perf_counter()
    for ods, bundle, facts in prepared:
        collector.store.ingest(bundle, facts, principals[ods])
    elapsed = time.perf_counter() - started
    collector.engine.dispose()
    return len(prepared) / elapsed


@contextmanager
def _postgres() -> Iterator[str | None]:
    """A PostgreSQL URL with an empty database per use, or None when none can be had."""
    if os.environ.get("TEST_DATABASE_URL"):
        yield os.environ["TEST_DATABASE_URL"]
        return
    bindirs = sorted(glob("/usr/lib/postgresql/*/bin"))
    if not bindirs or not Path(bindirs[-1], "pg_ctl").exists():
        print("bench_collector: no PostgreSQL binaries; PostgreSQL rows left out", file=sys.stderr)
        yield None
        return
    bindir = Path(bindirs[-1])
    folder = Path(tempfile.mkdtemp(prefix="ff-bench-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data = folder / "data"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": True}
    try:
        subprocess.run(
            [*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "bench", "--auth=trust"], **quiet
        )
        options = f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off -c synchronous_commit=off"
        subprocess.run(
            [
                *as_user,
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(folder / "log"),
                "-w",
                "-o",
                options,
                "start",
            ],
            **quiet,
        )
        subprocess.run(
            [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "bench", "bench"], **quiet
        )
        yield f"postgresql+psycopg://bench@127.0.0.1:{port}/bench"
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)


def _fresh_schema(base_url: str) -> str:
    """A new schema in ``base_url``'s database, so every run starts empty."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(base_url)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(
        url.set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True
    ) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


def _medians(kinds: dict[str, Callable[[], float]]) -> dict[str, float]:
    """The median of ``REPEATS`` runs of each kind, the kinds interleaved."""
    runs: dict[str, list[float]] = {name: [] for name in kinds}
    for _ in range(REPEATS):
        for name, measure in kinds.items():
            runs[name].append(measure())
    return {name: statistics.median(values) for name, values in runs.items()}


def run() -> list[Row]:
    default_validator()  # loaded once per process in real use: not part of any figure
    n = 3 * PER_PROVIDER
    with tempfile.TemporaryDirectory(prefix="ff-bench-sqlite-") as tmp:
        fresh = iter(range(1_000_000))

        def sqlite() -> str:
            return f"sqlite:///{tmp}/{next(fresh)}.sqlite"

        lite = _medians(
            {
                "ingest": lambda: _ingest(sqlite()),
                "store": lambda: _store_only(sqlite()),
                "threads": lambda: _ingest(sqlite(), THREADS),
                "batches": lambda: _import_batches(sqlite()),
            }
        )
    rows = [
        Row(f"collector ingest, SQLite ({n} bundles)", lite["ingest"], "bundle/s", "target", TARGET,
            lower_is_better=False),
        Row("collector store only, SQLite", lite["store"], "bundle/s", lower_is_better=False),
        Row(f"collector ingest, SQLite, {THREADS} threads", lite["threads"], "bundle/s",
            "collector ingest, SQLite", lite["ingest"], lower_is_better=False),
        Row("collector $import batches, SQLite", lite["batches"], "bundle/s", "collector ingest, SQLite",
            lite["ingest"], lower_is_better=False),
    ]
    with _postgres() as pg:
        if pg is not None:
            post = _medians(
                {
                    "ingest": lambda: _ingest(_fresh_schema(pg)),
                    "store": lambda: _store_only(_fresh_schema(pg)),
                    "threads": lambda: _ingest(_fresh_schema(pg), THREADS),
                    "batches": lambda: _import_batches(_fresh_schema(pg)),
                }
            )
            rows += [
                Row(f"collector ingest, PostgreSQL ({n} bundles)", post["ingest"], "bundle/s",
                    "collector ingest, SQLite", lite["ingest"], lower_is_better=False),
                Row("collector store only, PostgreSQL", post["store"], "bundle/s",
                    "collector store only, SQLite", lite["store"], lower_is_better=False),
                Row(f"collector ingest, PostgreSQL, {THREADS} threads", post["threads"], "bundle/s",
                    f"collector ingest, PostgreSQL ({n} bundles)", post["ingest"], lower_is_better=False),
                Row("collector $import batches, PostgreSQL", post["batches"], "bundle/s",
                    "collector $import batches, SQLite", lite["batches"], lower_is_better=False),
            ]
    return rows
