"""The one way this project runs a Flask app under gunicorn: from Python, no gunicorn command line or config
file, never Flask's development server.

``fhir-family serve`` (the facade) builds its app in the master and preloads the validator before forking, so
workers share the loaded definitions; ``fhir-family collector`` builds the app in each worker so every worker
opens its own database connections; ``fhir-family up`` runs both commands as child processes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

BASE_OPTIONS: dict[str, Any] = {
    # gthread, not sync: a sync worker streaming a long /ehr/batch answer misses its heartbeat and is killed
    # after `timeout`; a gthread worker's main loop keeps beating while requests run in threads.
    "worker_class": "gthread",
    "timeout": 120,
    "graceful_timeout": 10,
    "errorlog": "-",
    "loglevel": "info",
}
"""gunicorn settings every server of the project shares; callers add bind, workers, threads and logs."""


class GunicornServer(BaseApplication):
    """gunicorn serving the app ``load()`` returns; ``options`` are gunicorn settings (None: skipped)."""

    def __init__(self, load: Callable[[], Flask], options: dict[str, Any]) -> None:
        self._load = load
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self) -> Flask:
        return self._load()


def gunicorn_server(load: Callable[[], Flask], host: str, port: int, workers: int, threads: int,
                    **options: Any) -> GunicornServer:
    """A server for ``load()`` on ``host:port`` (0: any free port): the shared settings plus ``options``."""
    settings = {**BASE_OPTIONS, "bind": f"{host}:{port}", "workers": workers, "threads": threads, **options}
    return GunicornServer(load, settings)
