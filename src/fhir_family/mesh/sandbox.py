"""NHS England's ``mesh-sandbox`` as a child process on a free loopback port: the real MESH API for tests,
``fhir-family up`` and the bench (``AUTH_MODE=none STORE_MODE=memory``: messages live in the sandbox's memory
and vanish when it stops). Test mailboxes ``X26ABC1``, ``X26ABC2``, ``X26ABC3``, password ``password``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from .config import MeshConfigurationError

SANDBOX_MAILBOXES = ("X26ABC1", "X26ABC2", "X26ABC3")
SANDBOX_PASSWORD = "password"
SANDBOX_SHARED_KEY = "TestKey"
_READY = re.compile(rb"Uvicorn running on (http://127\.0\.0\.1:\d+)")


class MeshSandbox:
    """Start with ``start()`` (or ``with``); ``url`` is its base URL; ``stop()`` ends it."""

    def __init__(self, log_path: Path, startup_seconds: float = 60.0) -> None:
        self.log_path = log_path
        self.startup_seconds = startup_seconds
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> str:
        try:
            import mesh_sandbox  # noqa: F401 - only to say clearly that it is missing
        except ImportError as exc:
            raise MeshConfigurationError(
                "mesh-sandbox is not installed (pip install 'fhir-family[demo]', which make run installs)"
            ) from exc
        env = {
            **os.environ,
            "AUTH_MODE": "none",
            "STORE_MODE": "memory",
            "SHARED_KEY": SANDBOX_SHARED_KEY,
            "PYTHONWARNINGS": "ignore",
        }
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "mesh_sandbox.api:app", "--host", "127.0.0.1", "--port=0"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + self.startup_seconds
        while time.monotonic() < deadline:
            found = _READY.search(self.log_path.read_bytes())
            if found:
                self.url = found.group(1).decode()
                return self.url
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise MeshConfigurationError(f"mesh-sandbox did not start; see {self.log_path}")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> MeshSandbox:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
