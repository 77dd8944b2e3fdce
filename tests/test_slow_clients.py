"""Slowloris against the real servers (issue 11): ``fhir-family serve`` and ``fhir-family collector`` run as
processes with fewer threads than slow connections; normal requests still answer at once while the slow ones
are held, and the slow ones get a 408 OperationOutcome and are closed at their deadline."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from fhir_family.slow_clients import PendingRequest, _chunked_complete

CLI = str(Path(sys.executable).with_name("fhir-family"))
SLOW = 24  # connections held open: more than the facade's 4 and the collector's 8 threads
DEADLINE = 3.0  # seconds, both the header and the body timeout of the servers under test


def _start(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen([CLI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env=env)
    assert process.stderr is not None
    seen = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        seen.append(line)
        match = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", line)
        if match:
            threading.Thread(target=process.stderr.read, daemon=True).start()  # keep the pipe drained
            return process, int(match.group(1))
    process.kill()
    raise AssertionError("server did not start:\n" + "".join(seen))


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "FHIR_FAMILY_HEADER_TIMEOUT": str(DEADLINE),
        "FHIR_FAMILY_BODY_TIMEOUT": str(DEADLINE),
        "FHIR_FAMILY_PSEUDONYM_KEY": "slow-clients-test-key-0123456789abcdef",
    }


@pytest.fixture(scope="module")
def facade() -> Iterator[int]:
    process, port = _start(["serve", "--host", "127.0.0.1", "--port", "0", "--workers", "1", "--threads", "4",
                            "--no-access-log"], _env())
    yield port
    _stop(process)


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    db = tmp_path_factory.mktemp("slow") / "collector.sqlite"
    process, port = _start(["collector", "--host", "127.0.0.1", "--port", "0", "--db", f"sqlite:///{db}",
                            "--threads", "8"], _env())
    yield port
    _stop(process)


def _slow_connections(port: int, path: str) -> list[socket.socket]:
    """Half of them stop in the middle of the head, half in the middle of a declared body."""
    connections = []
    for number in range(SLOW):
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        if number % 2:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nX-Slow: ".encode())
        else:
            sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\n"
                         f"Content-Length: 1000\r\n\r\n{{\"resourceType\": ".encode())
        connections.append(sock)
    return connections


def _trickle(connections: list[socket.socket], seconds: float) -> None:
    """One more byte on every slow connection now and then, as a slowloris client sends to stay alive."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for sock in connections:
            with contextlib.suppress(OSError):  # already closed by the server
                sock.send(b"a")
        time.sleep(0.3)


def _prompt(url: str) -> float:
    started = time.monotonic()
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, response.text
    return time.monotonic() - started


def _closed_with_408(sock: socket.socket) -> bool:
    sock.settimeout(DEADLINE + 10)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), received[:200]
    outcome = json.loads(body)
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "timeout"
    return True


@pytest.mark.parametrize("server, health", [("facade", "/metadata"), ("collector", "/health")])
def test_slow_clients_do_not_starve_the_server(server: str, health: str,
                                                request: pytest.FixtureRequest) -> None:
    port = request.getfixturevalue(server)
    url = f"http://127.0.0.1:{port}{health}"
    _prompt(url)  # warm
    connections = _slow_connections(port, health)
    try:
        trickler = threading.Thread(target=_trickle, args=(connections, DEADLINE - 0.5))
        trickler.start()
        time.sleep(0.5)
        timings = [_prompt(url) for _ in range(5)]
        trickler.join()
        assert max(timings) < 5.0, timings  # starved, they waited out the 10 s client timeout
        assert all(_closed_with_408(sock) for sock in connections)
        _prompt(url)
    finally:
        for sock in connections:
            sock.close()


def test_a_client_that_waits_for_100_continue_gets_it_once(facade: int) -> None:
    body = b'{"resourceType": "Patient"}'
    with socket.create_connection(("127.0.0.1", facade), timeout=10) as sock:
        sock.sendall(b"POST /$validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\n"
                     b"Expect: 100-continue\r\nConnection: close\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body))
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.split(b" ", 2)[1] in (b"200", b"422")  # the validator's answer to the body sent
    assert b"100 Continue" not in received


def test_a_request_is_complete_only_when_its_buffered_body_is_in() -> None:
    pending = PendingRequest(deadline=0)
    pending.data += b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab"
    assert pending.head_arrived() and not pending.complete()
    pending.data += b"cde"
    assert pending.complete()
    bad = PendingRequest(deadline=0)
    bad.data += b"POST / HTTP/1.1\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n"
    assert bad.head_arrived() and bad.complete()  # not a number we trust: gunicorn's parser refuses it


def test_chunked_bodies_are_complete_at_their_last_chunk() -> None:
    head = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    body = bytearray(head + b"3\r\nabc\r\n")
    assert not _chunked_complete(body, len(head))
    body += b"0\r\n"
    assert not _chunked_complete(body, len(head))
    body += b"\r\n"
    assert _chunked_complete(body, len(head))
