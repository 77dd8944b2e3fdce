"""What gunicorn answers itself, before either app sees a request, is a FHIR OperationOutcome with the
security headers, not gunicorn's HTML page (issue 11): against the real ``fhir-family serve`` and
``fhir-family collector`` processes."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from fhir_family.outcome import message_id
from test_slow_clients import _env, _start, _stop


@pytest.fixture(scope="module", params=["facade", "collector"])
def port(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    if request.param == "facade":
        args = ["serve", "--host", "127.0.0.1", "--port", "0", "--workers", "1", "--no-access-log"]
    else:
        db = tmp_path_factory.mktemp("errors") / "collector.sqlite"
        args = ["collector", "--host", "127.0.0.1", "--port", "0", "--db", f"sqlite:///{db}"]
    process, bound = _start(args, _env())
    yield bound
    _stop(process)


def _exchange(port: int, raw: bytes) -> tuple[int, dict[str, str], dict]:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(raw)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (h.partition(":") for h in header_lines)}
    return int(status_line.split()[1]), headers, json.loads(body)


CASES = {
    "request line too long": (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    "header too large": (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431),
    "too many headers": (b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % n for n in range(120)) + b"\r\n",
                         431),
    "not HTTP at all": (b"HELLO THERE\r\n\r\n", 400),
    "bad method": (b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "bad version": (b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", 400),
}


@pytest.mark.parametrize("case", CASES)
def test_gunicorn_refusals_are_operation_outcomes(port: int, case: str) -> None:
    raw, expected = CASES[case]
    status, headers, body = _exchange(port, raw)
    assert status == expected
    assert headers["content-type"].startswith("application/fhir+json")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert body["resourceType"] == "OperationOutcome"
    assert [message_id(issue) for issue in body["issue"]] == [f"FF-HTTP-{expected}"]
    assert body["issue"][0]["diagnostics"]
