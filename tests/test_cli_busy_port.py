"""``serve`` and ``collector`` on a port another process holds: one friendly line and exit 2 at once, not
gunicorn retrying for five seconds with its own noise (``up`` already checks before starting)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).with_name("fhir-family"))


@pytest.mark.parametrize(
    "command",
    [["serve"], ["collector", "--db", "sqlite:///{tmp}/c.sqlite", "--key-file", "{tmp}/k"]],
    ids=["serve", "collector"],
)
def test_a_busy_port_is_one_line_and_exit_2(command, tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        args = [part.format(tmp=tmp_path) for part in command]
        started = time.monotonic()
        done = subprocess.run([CLI, *args, "--port", str(port)], capture_output=True, text=True, timeout=60)
        elapsed = time.monotonic() - started
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [f"fhir-family {args[0]}: port {port} on 127.0.0.1 is in use; choose another with --port "
                     "(0: any free port)"]
    assert "Retrying" not in done.stderr and elapsed < 5  # gunicorn alone retries for 5 s
