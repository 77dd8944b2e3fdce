"""A national month through the real HTTP ``$import``: wall time, returns/s, peak RSS, report query time.

Builds N synthetic returns (``collector.synthetic``; 3 providers, one NDJSON file each, written as they are
generated so the generator's memory stays flat), starts ``fhir-family collector`` (gunicorn, ``WORKERS``
worker processes, so both cores validate while the database serialises only the batched commits), issues a
token per provider, POSTs the three files to ``$import`` at once (requests streams a file body; the server
spools it to disk in chunks), polls the status URLs until done, checks every line was accepted, reads the
streamed status document, then times the monthly report over the loaded month. SQLite and PostgreSQL (a
throwaway server as in ``bench_collector``).

Environment: ``BENCH_MONTH_RETURNS`` (default 10000; 1000000 for the full month), ``BENCH_MONTH_SIZES``
(comma-separated sizes for the plot of throughput against input size; default ``1000,<N>``),
``BENCH_PORT_BASE`` (ports base, base+1, ...; default: free ports from the OS), ``BENCH_OUT`` (folder for the
plot, default ``build/bench``), ``BENCH_MONTH_DATABASES`` (default ``sqlite,postgresql``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from bench_collector import _fresh_schema, _postgres
from run import Row

from fhir_family.collector.synthetic import DEMO_PROVIDERS, synthetic_month
from fhir_family.mapping.bundle import build_bundle

TARGET = 1000.0
"""The issue's target: >= 1,000 returns/s (a 1M-return month in <= 20 minutes)."""
WORKERS = 2
DATABASES = os.environ.get("BENCH_MONTH_DATABASES", "sqlite,postgresql").lower().split(",")
"""``BENCH_MONTH_DATABASES=sqlite`` leaves PostgreSQL out (a long run on a shared machine)."""
NDJSON = "application/fhir+ndjson"
KEY = "bench-month-key-0123456789abcdef0123"
ROOT = Path(__file__).resolve().parents[1]
FHIR_FAMILY = Path(sys.executable).with_name("fhir-family")
_port_offset = 0


def _port() -> int:
    """The next port: ``BENCH_PORT_BASE`` + n when set, else one the OS hands out."""
    global _port_offset
    base = os.environ.get("BENCH_PORT_BASE")
    if base:
        _port_offset += 1
        return int(base) + _port_offset - 1
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_month(folder: Path, n: int) -> dict[str, Path]:
    """One NDJSON file per provider, ``n`` returns in all, written line by line."""
    files = {ods: folder / f"{ods}.ndjson" for ods, _name in DEMO_PROVIDERS}
    handles = {ods: path.open("w", encoding="utf-8") for ods, path in files.items()}
    try:
        per_provider = -(-n // len(DEMO_PROVIDERS))
        for count, record in enumerate(synthetic_month("2026-10", per_provider, submission_prefix="month")):
            if count >= n:
                break
            handles[record.ods_code].write(json.dumps(build_bundle(record), separators=(",", ":")) + "\n")
    finally:
        for handle in handles.values():
            handle.close()
    return files


def _cli(*args: str) -> str:
    env = {**os.environ, "FHIR_FAMILY_PSEUDONYM_KEY": KEY}
    return subprocess.run(
        [str(FHIR_FAMILY), "collector", *args], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def _peak_rss_mib(master: int) -> float:
    """Sum of the peak resident set (VmHWM) of the gunicorn master's worker processes, in MiB."""
    total = 0
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    for pid in [str(master), *children]:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1])
    return total / 1024


def _wait_for(port: int, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the collector exited with {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the collector did not start")


def month_run(db_url: str, n: int, folder: Path) -> dict[str, float]:
    """Import a month of ``n`` returns into ``db_url`` over HTTP; the figures of the run."""
    files = _write_month(folder, n)
    tokens = {ods: _cli("add-token", "--ods", ods, "--db", db_url) for ods in files}
    analyst = _cli("add-token", "--role", "analyst", "--db", db_url)
    port = _port()
    env = {**os.environ, "FHIR_FAMILY_PSEUDONYM_KEY": KEY}
    command = [str(FHIR_FAMILY), "collector", "--db", db_url, "--port", str(port), "--workers", str(WORKERS)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(port, server)
        base = f"http://127.0.0.1:{port}"
        started = time.perf_counter()
        status_urls = {}
        for ods, path in files.items():
            with path.open("rb") as body:
                answer = requests.post(
                    f"{base}/$import",
                    data=body,
                    headers={"Authorization": f"Bearer {tokens[ods]}", "Content-Type": NDJSON},
                    timeout=3600,
                )
            answer.raise_for_status()
            status_urls[ods] = answer.headers["Content-Location"]
        summaries = {}
        while len(summaries) < len(status_urls):
            time.sleep(0.5)
            for ods, url in status_urls.items():
                if ods in summaries:
                    continue
                answer = requests.get(url, headers={"Authorization": f"Bearer {tokens[ods]}"}, timeout=3600)
                if answer.status_code == 200:
                    summaries[ods] = answer.json()["summary"]
        elapsed = time.perf_counter() - started
        accepted = sum(summary["accepted"] for summary in summaries.values())
        if accepted != n:
            raise RuntimeError(f"only {accepted} of {n} returns were accepted: {summaries}")
        rss = _peak_rss_mib(server.pid)
        report_started = time.perf_counter()
        report = requests.get(
            f"{base}/reports/monthly?month=2026-10",
            headers={"Authorization": f"Bearer {analyst}"},
            timeout=3600,
        )
        report_s = time.perf_counter() - report_started
        report.raise_for_status()
        per_second = n / elapsed
        return {"n": n, "seconds": elapsed, "per_second": per_second, "rss_mib": rss, "report": report_s}
    finally:
        server.terminate()
        server.wait(30)
        for path in files.values():
            path.unlink(missing_ok=True)


def _plot(results: dict[str, list[dict[str, float]]]) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        print("bench_month: matplotlib missing; no plot (pip install matplotlib)", file=sys.stderr)
        return None
    out = Path(os.environ.get("BENCH_OUT", ROOT / "build" / "bench"))
    out.mkdir(parents=True, exist_ok=True)
    figure, (left, right) = pyplot.subplots(1, 2, figsize=(10, 4))
    for database, runs in results.items():
        sizes = [run["n"] for run in runs]
        left.plot(sizes, [run["per_second"] for run in runs], marker="o", label=database)
        right.plot(sizes, [run["rss_mib"] for run in runs], marker="o", label=database)
    left.axhline(TARGET, color="grey", linestyle="--", label="target")
    for axis, label in ((left, "returns/s"), (right, "peak RSS of the collector, MiB")):
        axis.set_xscale("log")
        axis.set_xlabel("returns in the month (HTTP $import)")
        axis.set_ylabel(label)
        axis.grid(True, alpha=0.3)
        axis.legend()
    left.set_ylim(bottom=0)
    right.set_ylim(bottom=0)
    figure.suptitle(f"collector $import, {WORKERS} gunicorn workers, {os.cpu_count()} cores")
    figure.tight_layout()
    path = out / "month-throughput.png"
    figure.savefig(path, dpi=100)
    return path


def run() -> list[Row]:
    n = int(os.environ.get("BENCH_MONTH_RETURNS", "10000"))
    sizes = sorted({int(s) for s in os.environ.get("BENCH_MONTH_SIZES", f"1000,{n}").split(",")} | {n})
    results: dict[str, list[dict[str, float]]] = {"SQLite": []}
    with tempfile.TemporaryDirectory(prefix="ff-bench-month-") as tmp:
        folder = Path(tmp)
        for size in sizes:
            results["SQLite"].append(month_run(f"sqlite:///{folder}/m{size}.sqlite", size, folder))
        if "postgresql" in DATABASES:
            with _postgres() as pg:
                if pg is not None:
                    results["PostgreSQL"] = [month_run(_fresh_schema(pg), size, folder) for size in sizes]
    for database, runs in results.items():
        for figures in runs:
            print(
                f"bench_month: {database} n={figures['n']:.0f} wall {figures['seconds']:.1f} s, "
                f"{figures['per_second']:.0f} returns/s, peak RSS {figures['rss_mib']:.0f} MiB, "
                f"report {figures['report'] * 1000:.0f} ms",
                file=sys.stderr,
            )
    plot = _plot(results)
    if plot:
        print(f"bench_month: plot written to {plot}", file=sys.stderr)
    rows = []
    sqlite = results["SQLite"][-1]
    rows.append(Row(f"$import month, SQLite ({n} returns)", sqlite["per_second"], "return/s", "target",
                    TARGET, lower_is_better=False))
    rows.append(Row(f"$import month, SQLite, peak RSS ({n})", sqlite["rss_mib"], "MiB",
                    f"peak RSS at {sizes[0]} returns", results["SQLite"][0]["rss_mib"]))
    rows.append(Row("$import month, SQLite, report query", sqlite["report"] * 1000, "ms"))
    if "PostgreSQL" in results:
        pg = results["PostgreSQL"][-1]
        rows.append(Row(f"$import month, PostgreSQL ({n} returns)", pg["per_second"], "return/s",
                        "$import month, SQLite", sqlite["per_second"], lower_is_better=False))
        rows.append(Row(f"$import month, PostgreSQL, peak RSS ({n})", pg["rss_mib"], "MiB",
                        f"peak RSS at {sizes[0]} returns", results["PostgreSQL"][0]["rss_mib"]))
        rows.append(Row("$import month, PostgreSQL, report query", pg["report"] * 1000, "ms",
                        "$import month, SQLite, report query", sqlite["report"] * 1000))
    return rows
