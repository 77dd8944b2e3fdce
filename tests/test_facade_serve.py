"""``fhir-family serve`` as a real process: gunicorn on an ephemeral loopback port answers a real request."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


def _start(*extra: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [str(CLI), "serve", "--host", "127.0.0.1", "--port", "0", "--workers", "1", *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_serve_runs_gunicorn_and_answers() -> None:
    process = _start()
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
        _stop(process)


class _RecordingCollector(BaseHTTPRequestHandler):
    """A stand-in collector that keeps what it receives and answers a transaction-response."""

    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append({"auth": self.headers.get("Authorization"), "bundle": json.loads(body)})
        answer = json.dumps({"resourceType": "Bundle", "type": "transaction-response", "entry": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


def test_serve_forwards_submit_to_the_collector_url_it_was_given(feed_tokens) -> None:
    collector = ThreadingHTTPServer(("127.0.0.1", 0), _RecordingCollector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    collector_url = f"http://127.0.0.1:{collector.server_address[1]}"
    env = {**os.environ, "FHIR_FAMILY_TOKEN": "provider-token"}
    process = _start("--collector-url", collector_url, "--feed-tokens", feed_tokens[0], env=env)
    try:
        port = _wait_for_port(process, time.monotonic() + 60)
        response = requests.post(
            f"http://127.0.0.1:{port}/submit",
            data=EXAMPLE.read_bytes(),
            headers={"Content-Type": "application/json", **feed_tokens[1]},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        [received] = _RecordingCollector.received
        assert received["auth"] == "Bearer provider-token"
        assert received["bundle"]["identifier"]["value"] == json.loads(EXAMPLE.read_text())["submissionId"]
    finally:
        _stop(process)
        collector.shutdown()


def test_the_master_maps_one_example_of_each_format_before_forking(monkeypatch) -> None:
    """``serve`` warms up in the master (issue 12): both shipped examples exist and map cleanly, so the
    compiled schema check and the profiles' structures are shared by the workers, not built per worker; then
    it freezes the heap (``gc.freeze``)."""
    from fhir_family.commands import serve
    from fhir_family.guide import examples_dir

    assert all((examples_dir() / relative).is_file() for _name, relative in serve.WARM_UP)
    import gc

    mapped = []
    server = serve.build_server("127.0.0.1", 0, 1, access_log=False)
    assert gc.get_freeze_count() > 0  # what the master loaded is frozen: workers' collections skip it
    pipeline = server.load().extensions["fhir_family.pipeline"]
    original = pipeline.map_text
    monkeypatch.setattr(pipeline, "map_text", lambda parser, text: mapped.append(original(parser, text)))
    serve.warm_up(server.load())
    assert [result.status for result in mapped] == [200, 200]
