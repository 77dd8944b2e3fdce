"""A batch of national returns by MESH, end to end against a real mesh-sandbox: ``fhir-family submit --via
mesh FILE.ndjson`` (map-free: validate each bundle, stream them into one MESH message, chunked and gzipped)
and ``fhir-family collector mesh-poll --once`` (spool, ingest every line through the ``$import`` path,
send the outcome back, acknowledge). Each runs as its own process so its peak RSS is its own.

Memory must be flat: the same peak RSS for a tenth of the batch and for the whole of it. ``make bench`` runs
2,000 returns (``FHIR_FAMILY_MESH_BENCH_RETURNS`` to change it); ``python bench/bench_mesh.py 50000`` runs
the issue's 50,000 and prints the figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PROVIDER, COLLECTOR, ODS = "X26ABC1", "X26ABC2", "RXA"
KEY = "mesh-bench-key-0123456789abcdef-0123"


@dataclass(frozen=True)
class Run:
    returns: int
    batch_bytes: int
    send_seconds: float
    send_peak_rss_mb: float
    poll_seconds: float
    poll_peak_rss_mb: float
    stored: int
    poll_output: str


def _cli() -> str:
    return str(Path(sys.executable).with_name("fhir-family"))


_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_pid, status, usage = os.wait4(pid, 0)
sys.stderr.write(f"\\npeak-rss-kib={usage.ru_maxrss}\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""
"""Runs a command and reports its own peak RSS. Linux carries a parent's RSS at fork into the child's
``ru_maxrss`` (it survives ``exec``), so a command forked from this bench, grown by the modules before it
(DuckDB, Spark's driver), would report the bench's size; forked from this small launcher, it reports its
own."""


def _measured(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, stdout) of one child process; fails loudly when it fails."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        launched = [sys.executable, "-c", _LAUNCHER, *command]
        process = subprocess.Popen(launched, env=env, stdout=out, stderr=err)
        process.wait()
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if process.returncode not in (0, 1):
        raise RuntimeError(f"{command[1:4]} exited {process.returncode}: {stderr[-2000:]}")
    peak_kib = int(stderr.rstrip().rsplit("peak-rss-kib=", 1)[1])
    return seconds, peak_kib / 1024, stdout


def write_batch(path: Path, returns: int) -> int:
    """``returns`` synthetic national returns for one provider as NDJSON, streamed; returns the bytes."""
    from fhir_family.collector.synthetic import synthetic_month
    from fhir_family.mapping.bundle import build_bundle

    with path.open("w", encoding="utf-8") as out:
        month = 0
        while returns > 0:  # a synthetic month has at most 25,000 patients (its NHS number seeds run out)
            month += 1
            count, returns = min(returns, 25_000), returns - 25_000
            records = synthetic_month(f"2026-{month:02d}", count, providers=((ODS, "Bench Trust"),))
            for record in records:
                out.write(json.dumps(build_bundle(record), separators=(",", ":")) + "\n")
    return path.stat().st_size


def measure(returns: int, workdir: Path) -> Run:
    """One batch of ``returns`` through a fresh sandbox and a fresh SQLite collector."""
    from sqlalchemy import func, select

    from fhir_family.collector.database import make_engine, migrate, session_factory
    from fhir_family.collector.mailboxes import bind_mailbox
    from fhir_family.collector.schema import Submission
    from fhir_family.mesh.sandbox import SANDBOX_PASSWORD, SANDBOX_SHARED_KEY, MeshSandbox

    workdir.mkdir(parents=True, exist_ok=True)
    batch = workdir / f"batch-{returns}.ndjson"
    size = write_batch(batch, returns)
    db = f"sqlite:///{workdir / f'collector-{returns}.sqlite'}"
    engine = make_engine(db)
    migrate(engine)
    bind_mailbox(session_factory(engine), PROVIDER, ODS)
    with MeshSandbox(workdir / f"sandbox-{returns}.log") as sandbox:
        env = {
            **os.environ,
            "FHIR_FAMILY_MESH_URL": sandbox.url,
            "FHIR_FAMILY_MESH_PASSWORD": SANDBOX_PASSWORD,
            "FHIR_FAMILY_MESH_SHARED_KEY": SANDBOX_SHARED_KEY,
            "FHIR_FAMILY_PSEUDONYM_KEY": KEY,
        }
        send_s, send_mb, _ = _measured(
            [_cli(), "submit", "--via", "mesh", "--mailbox", PROVIDER, "--to-mailbox", COLLECTOR, str(batch)],
            env,
        )
        poll_s, poll_mb, output = _measured(
            [_cli(), "collector", "mesh-poll", "--once", "--mailbox", COLLECTOR, "--db", db], env
        )
    with session_factory(engine)() as session:
        stored = session.scalar(select(func.count()).select_from(Submission))
    engine.dispose()
    batch.unlink()
    return Run(returns, size, send_s, send_mb, poll_s, poll_mb, stored, output)


def run():  # type: ignore[no-untyped-def]
    from run import Row

    returns = int(os.environ.get("FHIR_FAMILY_MESH_BENCH_RETURNS", "2000"))
    with tempfile.TemporaryDirectory() as tmp:
        small = measure(max(returns // 10, 1), Path(tmp))
        large = measure(returns, Path(tmp))
    rows = []
    for label, attribute in (("submit --via mesh", "send"), ("collector mesh-poll", "poll")):
        rows.append(
            Row(
                f"{label}: peak RSS, {large.returns:,} returns",
                getattr(large, f"{attribute}_peak_rss_mb"),
                "MB",
                f"{small.returns:,} returns",
                getattr(small, f"{attribute}_peak_rss_mb"),
            )
        )
        rows.append(
            Row(f"{label}: {large.returns:,} returns", getattr(large, f"{attribute}_seconds"), "s")
        )
    return rows


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with tempfile.TemporaryDirectory() as tmp:
        for size in (max(count // 10, 1), count):
            result = measure(size, Path(tmp))
            print(
                f"{result.returns:>7,} returns ({result.batch_bytes / 1e6:.1f} MB NDJSON): "
                f"send {result.send_seconds:.1f} s, peak RSS {result.send_peak_rss_mb:.0f} MB; "
                f"poll {result.poll_seconds:.1f} s, peak RSS {result.poll_peak_rss_mb:.0f} MB; "
                f"stored {result.stored:,}; {result.poll_output.strip().splitlines()[0]}",
                flush=True,
            )
