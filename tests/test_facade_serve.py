"""``fhir-family serve`` as a real process: gunicorn on an ephemeral loopback port answers a real request."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import requests

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ehr" / "json" / "mother-two-children.json"
CLI = Path(sys.executable).with_name("fhir-family")


def _wait_for_port(process: subprocess.Popen, deadline: float) -> int:
    assert process.stderr is not None
    seen = []
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        seen.append(line)
        match = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", line)
        if match:
            return int(match.group(1))
    raise AssertionError("gunicorn did not start:\n" + "".join(seen))


def test_serve_runs_gunicorn_and_answers() -> None:
    process = subprocess.Popen(
        [str(CLI), "serve", "--host", "127.0.0.1", "--port", "0", "--workers", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = _wait_for_port(process, time.monotonic() + 60)
        response = requests.post(
            f"http://127.0.0.1:{port}/ehr/json",
            data=EXAMPLE.read_bytes(),
            headers={"Content-Type": "application/json", "X-Request-ID": "serve-test-1"},
            timeout=30,
        )
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("application/fhir+json")
        assert response.headers["X-Request-ID"] == "serve-test-1"
        assert json.loads(response.text)["resourceType"] == "Bundle"
        assert "gunicorn" in response.headers.get("Server", "")  # never Werkzeug's development server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
