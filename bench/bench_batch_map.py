"""Batch ``fhir-family map`` of a CSV file: ms per return and peak RSS at two sizes (flat is the target).

The CSV is the shipped example (examples/ehr/csv/returns.csv) repeated with fresh submission ids until it
holds N returns; the real command maps and validates it (``--out`` a temporary folder), as a subprocess
whose peak RSS is read from ``getrusage``. The example holds some invalid returns on purpose, so the map
reports those (exit 1) as a real month's file would. ``BENCH_CSV_RETURNS`` (default 10000; the issue's row
is 50000) and a tenth of it, so the rows show whether time per return and memory stay flat as it grows.
The map runs as users run it: ``--jobs`` at its default, one worker process per usable core. The peak RSS is
then the largest single process (``RUSAGE_CHILDREN`` keeps the maximum of any one descendant), not the sum of
the command and its workers, which share the pages loaded before the fork.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from run import Row

from fhir_family.guide import examples_dir

TARGET_MS = 1.0
_MEASURE = """
import resource, subprocess, sys
done = subprocess.run([sys.argv[1], "map", sys.argv[2], "--out", sys.argv[3]], capture_output=True, text=True)
sys.stderr.write(done.stderr[-2000:])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(done.returncode)
"""
FHIR_FAMILY = Path(sys.executable).with_name("fhir-family")


def _write_csv(path: Path, n: int) -> None:
    with (examples_dir() / "ehr" / "csv" / "returns.csv").open(newline="", encoding="utf-8") as source:
        reader = csv.DictReader(source)
        fields = reader.fieldnames or []
        groups: dict[str, list[dict[str, str]]] = {}
        for row in reader:
            groups.setdefault(row["submissionId"], []).append(row)
    templates = list(groups.values())
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=fields)
        writer.writeheader()
        for number in range(n):
            for row in templates[number % len(templates)]:
                writer.writerow({**row, "submissionId": f"{row['submissionId']}-{number}"})


def _map(n: int, folder: Path) -> tuple[float, float]:
    """(ms per return, peak RSS MiB) of ``fhir-family map`` over ``n`` returns."""
    source = folder / f"returns-{n}.csv"
    _write_csv(source, n)
    out = folder / f"out-{n}"
    started = time.perf_counter()
    # A fresh Python parent whose only child is the map, so its RUSAGE_CHILDREN peak is the map's own.
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(FHIR_FAMILY), str(source), str(out)],
                          capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):  # 1: some returns refused, as the example's invalid rows are
        raise RuntimeError(f"fhir-family map exited {done.returncode}: {done.stderr[-2000:]}")
    return elapsed / n * 1000, int(done.stdout.split()[-1]) / 1024


def run() -> list[Row]:
    n = int(os.environ.get("BENCH_CSV_RETURNS", "10000"))
    small = max(n // 10, 1)
    with tempfile.TemporaryDirectory(prefix="ff-bench-csv-") as tmp:
        small_ms, small_rss = _map(small, Path(tmp))
        large_ms, large_rss = _map(n, Path(tmp))
    return [
        Row(f"batch map, {n} CSV returns", large_ms, "ms/return", "target", TARGET_MS),
        Row(f"batch map, {n} CSV returns, per return", large_ms, "ms/return", f"{small} returns", small_ms),
        Row(f"batch map, {n} CSV returns, peak RSS", large_rss, "MiB", f"{small} returns", small_rss),
    ]
