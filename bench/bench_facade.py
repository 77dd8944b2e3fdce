"""The facade's cost per return: map + validate per JSON payload and per HL7 v2 message, and requests/s.

Rows:

- ``facade: map+validate JSON payload``: text of examples/ehr/json/mother-two-children.json -> parse,
  schema check, build_bundle, full validation (what POST /ehr/json does besides HTTP), median of rounds;
- ``facade: map+validate HL7 v2 message``: the A04 example (PID, PV1, three NK1, ZFC, ZPS), same path;
- ``facade: POST /ehr/json requests/s``: a real ``fhir-family serve`` (gunicorn, 2 workers) on an ephemeral
  loopback port, driven by 4 client threads each with its own ``requests.Session``, bounded to 2 s or 500
  requests, whichever comes first; every answer must be a 200 Bundle or the row is not reported.

The first two are compared with ``fhir.resources`` R4B merely parsing and re-serialising the Bundle produced,
timed interleaved in the same run (the project's baseline for "validation is cheap").
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
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
LOAD_SECONDS = 2.0
LOAD_MAX_REQUESTS = 500
CLIENT_THREADS = 4
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


def _start_server() -> tuple[subprocess.Popen, int]:
    cli = Path(sys.executable).with_name("fhir-family")
    process = subprocess.Popen(
        [str(cli), "serve", "--port", "0", "--workers", "2", "--no-access-log"],
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


def _load_row() -> Row:
    process, port = _start_server()
    url = f"http://127.0.0.1:{port}/ehr/json"
    body = (examples_dir() / "ehr" / "json" / "mother-two-children.json").read_bytes()
    headers = {"Content-Type": "application/json"}
    lock = threading.Lock()
    counts = {"sent": 0, "ok": 0}
    try:
        with (
            requests.Session() as warm
        ):  # one request per worker before timing: connections, first-call paths
            for _ in range(4):
                warm.post(url, data=body, headers=headers, timeout=30).raise_for_status()
        deadline = time.perf_counter() + LOAD_SECONDS

        def client() -> None:
            with requests.Session() as session:
                while time.perf_counter() < deadline:
                    with lock:
                        if counts["sent"] >= LOAD_MAX_REQUESTS:
                            return
                        counts["sent"] += 1
                    response = session.post(url, data=body, headers=headers, timeout=30)
                    if response.status_code == 200:
                        with lock:
                            counts["ok"] += 1

        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(CLIENT_THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    if counts["ok"] != counts["sent"]:
        raise RuntimeError(f"{counts['sent'] - counts['ok']} of {counts['sent']} requests were not 200")
    return Row("facade: POST /ehr/json requests/s", counts["ok"] / elapsed, "req/s", lower_is_better=False)


def run() -> list[Row]:
    return [*_mapping_rows(), _load_row()]
