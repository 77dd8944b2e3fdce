"""The facade's cost per return: map + validate per JSON payload and per HL7 v2 message, and requests/s.

Rows:

- ``facade: map+validate JSON payload``: text of examples/ehr/json/mother-two-children.json -> parse,
  schema check, build_bundle, full validation (what POST /ehr/json does besides HTTP), median of rounds;
- ``facade: map+validate HL7 v2 message``: the A04 example (PID, PV1, three NK1, ZFC, ZPS), same path;
- ``facade: POST /ehr/json`` and ``/ehr/hl7v2``, requests/s and p99: a real ``fhir-family serve`` (gunicorn,
  2 workers x 4 threads) on a loopback port (``BENCH_PORT_BASE`` + 100, else one the OS chooses), driven by
  ``wrk`` (Debian's; 2 threads, 8 connections, ``BENCH_LOAD_SECONDS`` each), or, without wrk, by 8 Python
  client threads (which share the cores with the server and so measure less); median of ``BENCH_REPEATS``
  runs with the endpoints interleaved; any non-2xx answer fails the row.

The first two are compared with ``fhir.resources`` R4B merely parsing and re-serialising the Bundle produced,
timed interleaved in the same run (the project's baseline for "validation is cheap").
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests
from run import Row

from fhir_family.conformance import default_validator
from fhir_family.guide import examples_dir
from fhir_family.mapping.factory import get_parser
from fhir_family.mapping.pipeline import MappingPipeline

ROUNDS = 200
TIME_BUDGET_S = 6.0
LOAD_SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "3"))
CONNECTIONS = 8
WORKERS = 2
THREADS = 4
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
BASELINE = "fhir.resources R4B parse + serialise"


def _median_us(work: Callable[[], object], baseline: Callable[[], object]) -> tuple[float, float]:
    """Median microseconds of ``work`` and ``baseline``, interleaved so machine noise hits both alike."""
    for _ in range(10):
        work(), baseline()
    ours, theirs = [], []
    deadline = time.perf_counter() + TIME_BUDGET_S
    for _ in range(ROUNDS):
        start = time.perf_counter()
        work()
        middle = time.perf_counter()
        baseline()
        ours.append(middle - start)
        theirs.append(time.perf_counter() - middle)
        if time.perf_counter() > deadline:
            break
    return statistics.median(ours) * 1e6, statistics.median(theirs) * 1e6


def _mapping_rows() -> list[Row]:
    from fhir.resources.R4B.bundle import Bundle

    pipeline = MappingPipeline(default_validator())
    rows = []
    for label, fmt, path in (
        ("JSON payload", "json", examples_dir() / "ehr" / "json" / "mother-two-children.json"),
        (
            "HL7 v2 message",
            "hl7v2",
            examples_dir() / "ehr" / "hl7v2" / "a04-register-mother-two-children.hl7",
        ),
    ):
        text, parser = path.read_text("utf-8"), get_parser(fmt)
        mapped = pipeline.map_text(parser, text)
        assert mapped.ok, mapped.outcome
        bundle_json = Bundle.model_validate(mapped.bundle).model_dump_json()
        ours, theirs = _median_us(
            lambda parser=parser, text=text: pipeline.map_text(parser, text),
            lambda bundle_json=bundle_json: Bundle.model_validate_json(bundle_json).model_dump_json(),
        )
        rows.append(Row(f"facade: map+validate {label}", ours, "us", BASELINE, theirs))
    return rows


def _port() -> int:
    """``BENCH_PORT_BASE`` + 100 when set (bench_month uses base, base+1, ...), else 0: the OS chooses."""
    base = os.environ.get("BENCH_PORT_BASE")
    return int(base) + 100 if base else 0


def _start_server() -> tuple[subprocess.Popen, int]:
    cli = Path(sys.executable).with_name("fhir-family")
    process = subprocess.Popen(
        [str(cli), "serve", "--port", str(_port()), "--workers", str(WORKERS), "--threads", str(THREADS),
         "--no-access-log"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        match = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", line)
        if match:
            # keep draining stderr so the server never blocks on a full pipe
            threading.Thread(target=process.stderr.read, daemon=True).start()
            return process, int(match.group(1))
        if not line and process.poll() is not None:
            break
    process.kill()
    raise RuntimeError("fhir-family serve did not start")


def _wrk(url: str, body: bytes, content_type: str) -> tuple[float, float]:
    """Requests/s and p99 latency (ms) from wrk; every answer must be 2xx."""
    with tempfile.TemporaryDirectory(prefix="ff-bench-wrk-") as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(
            'wrk.method = "POST"\n'
            f'wrk.headers["Content-Type"] = "{content_type}"\n'
            f"wrk.body = {json.dumps(body.decode('utf-8'))}\n",
            encoding="utf-8",
        )
        result = subprocess.run(
            ["wrk", "-t", "2", "-c", str(CONNECTIONS), "-d", f"{LOAD_SECONDS:.0f}s", "--latency", "-s",
             str(script), url],
            capture_output=True, text=True, check=True, timeout=LOAD_SECONDS + 60,
        )
    out = result.stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw failed requests:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    return rate, p99


def _python_client(url: str, body: bytes, content_type: str) -> tuple[float, float]:
    """The fallback load generator: CONNECTIONS Python threads, each with its own ``requests.Session``
    (measured at ~0.65x what wrk drives from the same server: the client shares the 2 cores)."""
    headers = {"Content-Type": content_type}
    lock = threading.Lock()
    latencies: list[float] = []
    failed = [0]
    deadline = time.perf_counter() + LOAD_SECONDS

    def client() -> None:
        with requests.Session() as session:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                response = session.post(url, data=body, headers=headers, timeout=30)
                with lock:
                    latencies.append(time.perf_counter() - start)
                    failed[0] += response.status_code != 200

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failed[0]:
        raise RuntimeError(f"{failed[0]} of {len(latencies)} requests were not 200")
    latencies.sort()
    return len(latencies) / elapsed, latencies[int(len(latencies) * 0.99) - 1] * 1000


def _load_rows() -> list[Row]:
    """Requests/s and p99 of POST /ehr/json and /ehr/hl7v2 against a real ``fhir-family serve``, the median
    of ``REPEATS`` runs, the two endpoints interleaved."""
    generator = _wrk if shutil.which("wrk") else _python_client
    if generator is _python_client:
        print("bench_facade: wrk not found (apt-get install wrk); using the Python client", file=sys.stderr)
    process, port = _start_server()
    ehr = examples_dir() / "ehr"
    targets = {
        "/ehr/json": ((ehr / "json" / "mother-two-children.json").read_bytes(), "application/json"),
        "/ehr/hl7v2": (
            (ehr / "hl7v2" / "a04-register-mother-two-children.hl7").read_bytes(),
            "application/hl7-v2",
        ),
    }
    figures: dict[str, list[tuple[float, float]]] = {path: [] for path in targets}
    try:
        with requests.Session() as warm:  # each worker's first-call paths before timing
            for path, (body, content_type) in targets.items():
                for _ in range(2 * WORKERS):
                    warm.post(f"http://127.0.0.1:{port}{path}", data=body,
                              headers={"Content-Type": content_type}, timeout=30).raise_for_status()
        for _ in range(REPEATS):
            for path, (body, content_type) in targets.items():
                figures[path].append(generator(f"http://127.0.0.1:{port}{path}", body, content_type))
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    client = "wrk" if generator is _wrk else "Python client"
    rows = []
    for path, target in (("/ehr/json", 1000.0), ("/ehr/hl7v2", 500.0)):
        rate = statistics.median(r for r, _ in figures[path])
        p99 = statistics.median(p for _, p in figures[path])
        rows.append(Row(f"facade: POST {path}, {CONNECTIONS} conn ({client})", rate, "req/s", "target",
                        target, lower_is_better=False))
        rows.append(Row(f"facade: POST {path} p99", p99, "ms"))
    return rows


def run() -> list[Row]:
    return [*_mapping_rows(), *_load_rows()]
