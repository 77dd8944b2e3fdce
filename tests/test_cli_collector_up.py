"""``fhir-family up`` end to end: both servers under gunicorn on loopback, examples and a synthetic month
loaded over HTTP, the report reachable, and a clean stop on Ctrl-C (SIGINT)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from fhir_family.guide import examples_dir
from fhir_family.mesh.demo import ehr_examples


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_up_starts_loads_reports_and_stops_cleanly(tmp_path):
    facade_port, collector_port = _free_port(), _free_port()
    var = tmp_path / "var"
    cli = Path(sys.executable).with_name("fhir-family")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FHIR_FAMILY_PSEUDONYM_KEY")}
    proc = subprocess.Popen(
        [
            str(cli),
            "up",
            "--facade-port",
            str(facade_port),
            "--collector-port",
            str(collector_port),
            "--var",
            str(var),
            "--patients-per-provider",
            "12",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        # as a shell's background job starts it: SIGINT ignored; Ctrl-C must still stop the demo
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    output: list[str] = []
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            output.append(line)
            if "Press Ctrl-C" in line:
                break
        text = "".join(output)
        assert "Press Ctrl-C" in text, text
        # every example bundle is accepted (the guide's count: 12 in 0.1, more as the guide grows)
        examples = len(list((examples_dir() / "bundles").glob("*.json")))
        assert examples >= 12 and f"{examples} example bundles accepted" in text
        assert f"http://127.0.0.1:{facade_port}/ig/" in text and "PS11 = PRNTSTAT 11" in text
        assert "RXA: 12 accepted, 0 rejected" in text
        # The MESH leg: the facade forwards the EHR examples by MESH, mesh-poll ingests, outcomes come back.
        sent = len(ehr_examples(examples_dir()))  # 6 in 0.1; guide 0.2 adds a not-asked payload
        assert sent >= 6, sent
        assert f"{sent} EHR examples sent by MESH through the facade's POST /submit" in text, text
        assert f"outcome message(s) back in X26ABC1: {sent} accepted, 0 refused" in text, text
        assert (var / "pseudonym.key").stat().st_mode & 0o777 == 0o600
        tokens = json.loads((var / "demo-tokens.json").read_text())
        base = f"http://127.0.0.1:{collector_port}"
        page = requests.get(
            f"{base}/reports/monthly", params={"format": "html", "token": tokens["analyst"]}, timeout=30
        )
        assert page.status_code == 200 and "<table>" in page.text
        found = requests.get(
            f"{base}/Bundle", headers={"Authorization": f"Bearer {tokens['XFF01']}"}, timeout=30
        )
        assert found.json()["total"] == examples  # every example return is XFF01's
        by_mesh = requests.get(
            f"{base}/Bundle", headers={"Authorization": f"Bearer {tokens['RX4']}"}, timeout=30
        )
        assert by_mesh.json()["total"] == sent  # stored from MESH, readable by the provider's token
        assert requests.get(f"http://127.0.0.1:{facade_port}/metadata", timeout=30).status_code == 200
        assert (var / "report.html").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, "".join(output) + rest
    assert "stopped" in rest
    for port in (facade_port, collector_port):
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # ignore TIME_WAIT, not listeners
            sock.bind(("127.0.0.1", port))  # both servers are gone and have released their ports
            sock.listen()
