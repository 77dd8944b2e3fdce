"""``fhir-family collector`` under gunicorn with two worker processes: many concurrent HTTP senders lose
nothing and duplicate nothing across processes, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from sqlalchemy import func, select

from conftest import wait_until
from fhir_family.collector.database import make_engine, session_factory
from fhir_family.collector.schema import Submission
from fhir_family.collector.synthetic import synthetic_month
from fhir_family.collector.tokens import issue_token
from fhir_family.mapping.bundle import build_bundle


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_worker_processes_store_every_return_once(db_url, tmp_path):
    port = _free_port()
    env = {**os.environ, "FHIR_FAMILY_PSEUDONYM_KEY": "serve-test-key-0123456789abcdef-0123"}
    cli = str(Path(sys.executable).with_name("fhir-family"))
    subprocess.run([cli, "collector", "migrate", "--db", db_url], check=True, env=env, capture_output=True)
    sessions = session_factory(make_engine(db_url))
    tokens = {ods: issue_token(sessions, "provider", ods) for ods in ("RXA", "RXB", "RXC")}
    server = subprocess.Popen(
        [cli, "collector", "--port", str(port), "--db", db_url, "--workers", "2", "--threads", "4"],
        env=env,
        stdout=subprocess.PIPE,  # gunicorn's access log
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        def healthy() -> bool:
            try:
                return requests.get(f"{base}/health", timeout=1).status_code == 200
            except requests.RequestException:
                return False

        wait_until(healthy, timeout=60, interval=0.2)
        records = list(synthetic_month(patients_per_provider=10))
        work = [(r.ods_code, build_bundle(r)) for r in records] * 2  # every return sent twice, concurrently

        def send(item):
            ods, bundle = item
            return requests.post(
                f"{base}/", json=bundle, headers={"Authorization": f"Bearer {tokens[ods]}"}, timeout=60
            ).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(send, work))
        assert statuses == [200] * len(work)
        # A read by a submission id holding an NHS number: the access log masks it (issue 11).
        reader = {"Authorization": f"Bearer {tokens['RXA']}"}
        probe = requests.get(f"{base}/Bundle/sub-9990010019", headers=reader, timeout=10)
        assert probe.status_code == 404
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=30)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == len(records)
        assert session.scalar(select(func.count()).where(Submission.status == "current")) == len(records)
    assert b"Traceback" not in err
    assert b"9990010019" not in out + err and b"GET /Bundle/sub-[redacted]" in out + err
