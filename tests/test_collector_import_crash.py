"""A collector killed mid-``$import`` leaves no raw NHS number on disk, and its restart cleans up: the spool
is encrypted under a key that dies with the process (``collector/spool.py``), the restart deletes the dead
process's spool and reports the job failed (resend the file) instead of leaving it in progress for ever."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from conftest import wait_until
from fhir_family.collector import spool as spool_module
from fhir_family.collector.spool import EncryptedSpool, spool_stream, sweep_spools
from fhir_family.collector.synthetic import synthetic_month
from fhir_family.mapping.bundle import build_bundle

KEY = "crash-test-key-0123456789abcdef-0123456"
CLI = str(Path(sys.executable).with_name("fhir-family"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _numbers(records) -> set[bytes]:
    found = set()
    for record in records:
        found.add(record.nhs_number.encode())
        found.update(child.nhs_number.encode() for child in record.children if child.nhs_number)
    return found


def _files_holding(folders: list[Path], numbers: set[bytes]) -> dict[str, list[bytes]]:
    hits = {}
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                found = [number for number in numbers if number in data]
                if found:
                    hits[str(path)] = found[:3]
    return hits


def _start(env: dict[str, str], db_url: str, port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [CLI, "collector", "--port", str(port), "--db", db_url, "--workers", "1", "--threads", "4"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: kill -9 reaches the master and its worker at once
    )

    def healthy() -> bool:
        if server.poll() is not None:
            raise AssertionError(f"the collector exited with {server.returncode}")
        try:
            return requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    wait_until(healthy, timeout=90, interval=0.2)
    return server


def test_kill_9_mid_import_leaves_no_raw_nhs_number_and_the_restart_fails_the_job(tmp_path):
    temp, data = tmp_path / "tmp", tmp_path / "data"
    temp.mkdir()
    data.mkdir()
    env = {**os.environ, "FHIR_FAMILY_PSEUDONYM_KEY": KEY, "TMPDIR": str(temp)}
    db_url = f"sqlite:///{data / 'collector.sqlite'}"
    token = subprocess.run(
        [CLI, "collector", "add-token", "--ods", "RXA", "--db", db_url],
        env=env, check=True, capture_output=True, text=True,
    ).stdout.strip()
    records = [r for r in synthetic_month(patients_per_provider=700) if r.ods_code == "RXA"]
    numbers = _numbers(records)
    body = "\n".join(json.dumps(build_bundle(r)) for r in records).encode()
    assert all(number in body for number in numbers)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+ndjson"}
    port = _free_port()
    server = _start(env, db_url, port)
    try:
        started = requests.post(f"http://127.0.0.1:{port}/$import", data=body, headers=headers, timeout=120)
        assert started.status_code == 202
        path = started.headers["Content-Location"].split(f":{port}", 1)[1]

        def mid_job() -> bool:
            answer = requests.get(f"http://127.0.0.1:{port}{path}", headers=headers, timeout=10)
            assert answer.status_code == 202, "the job finished before it could be killed: make it larger"
            done, total = (int(n) for n in answer.headers["X-Progress"].split(" lines")[0].split(" of "))
            return 0 < done < total

        wait_until(mid_job, timeout=120, interval=0.05)
        assert list(temp.glob("ff-import-*")), "the job's spool is on disk while it runs"
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(30)
    # What a crash leaves: the spool (encrypted) and the database (pseudonymised): no raw NHS number.
    assert list(temp.glob("ff-import-*"))
    assert _files_holding([temp, data], numbers) == {}

    port = _free_port()
    server = _start(env, db_url, port)
    try:
        assert list(temp.glob("ff-import-*")) == []  # the restart swept the dead process's spool
        answer = requests.get(f"http://127.0.0.1:{port}{path}", headers=headers, timeout=10)
        assert answer.status_code == 200
        result = answer.json()
        assert result["status"] == "failed"
        assert "resend" in result["note"]
        assert 0 < result["summary"]["lines"] < len(records)
        assert result["summary"]["accepted"] == result["summary"]["lines"]
        # Resending the file resumes it: the lines already stored are resends (200), the rest are stored.
        again = requests.post(f"http://127.0.0.1:{port}/$import", data=body, headers=headers, timeout=120)
        again_path = again.headers["Content-Location"].split(f":{port}", 1)[1]

        def finished() -> dict | None:
            answer = requests.get(f"http://127.0.0.1:{port}{again_path}", headers=headers, timeout=60)
            return answer.json() if answer.status_code == 200 else None

        resumed = wait_until(finished, timeout=300, interval=0.5)
        statuses = [outcome["status"] for outcome in resumed["outcomes"]]
        assert resumed["status"] == "completed"
        assert statuses.count(200) == result["summary"]["accepted"]
        assert statuses.count(201) == len(records) - result["summary"]["accepted"]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    assert _files_holding([temp, data], numbers) == {}


def test_the_spool_gives_back_every_line_and_holds_no_plain_text(tmp_path):
    lines = [b'{"nhs": "9990000042"}\n', b"\n", b"  \n", b"\xff\xfe not text\n", b'{"last": "no newline"}']
    body = b"".join(lines)
    chunks = [body[i : i + 7] for i in range(0, len(body), 7)]
    spool = spool_stream(chunks, tmp_path)
    try:
        assert list(spool.lines()) == lines
        assert spool.non_blank_lines == 3
        on_disk = spool.path.read_bytes()
        assert b"9990000042" not in on_disk and b"nhs" not in on_disk
        assert oct(spool.path.stat().st_mode & 0o777) == oct(0o600)
    finally:
        spool.delete()
    assert not spool.path.exists()


def test_many_frames_keep_line_order(tmp_path, monkeypatch):
    monkeypatch.setattr(spool_module, "FRAME_BYTES", 64)
    lines = [f'{{"n": {n}, "pad": "{"x" * (n % 50)}"}}\n'.encode() for n in range(500)]
    spool = spool_stream(lines, tmp_path)
    try:
        assert list(spool.lines()) == lines
        assert spool.non_blank_lines == 500
    finally:
        spool.delete()


def test_the_sweep_deletes_only_spools_of_dead_processes(tmp_path):
    mine = EncryptedSpool(tmp_path)
    mine.close_writing()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = tmp_path / f"ff-import-{dead.pid}-abc123.spool"
    orphan.write_bytes(b"noise")
    unrelated = tmp_path / "ff-import-notmine.ndjson"
    unrelated.write_bytes(b"{}")
    assert sweep_spools(tmp_path) == [orphan]
    assert mine.path.exists() and unrelated.exists() and not orphan.exists()
    mine.delete()


@pytest.mark.parametrize("tamper", [b"\x00", b"\xff"])
def test_a_spool_altered_on_disk_is_refused_not_misread(tmp_path, tamper):
    from cryptography.exceptions import InvalidTag

    spool = spool_stream([b'{"a": 1}\n'], tmp_path)
    data = bytearray(spool.path.read_bytes())
    data[-1] = tamper[0] if data[-1] != tamper[0] else tamper[0] ^ 1
    spool.path.write_bytes(bytes(data))
    with pytest.raises(InvalidTag):
        list(spool.lines())
    spool.delete()
