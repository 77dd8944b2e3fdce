"""The one way this project runs a Flask app under gunicorn: from Python, no gunicorn command line or config
file, never Flask's development server.

``fhir-family serve`` (the facade) builds its app in the master and preloads the validator before forking, so
workers share the loaded definitions; ``fhir-family collector`` builds the app in each worker so every worker
opens its own database connections; ``fhir-family up`` runs both commands as child processes.

Layout on a 2-core machine (measured in ``bench/``; docs/performance.md): the work per request is Python CPU
(mapping, validation), so throughput comes from processes, one per core, not from threads, which share one
core under the GIL. The facade runs 2 workers x 4 threads: 2 processes keep both cores busy, the threads
overlap reading and writing sockets (2 x 1 was slowest with the worst p99, 2 x 2 like 2 x 4, 3 x 1 no better:
the figures are in the facade README, "Server layout"). The collector runs 1 worker x 8 threads by default;
for a month-end ``$import`` give it ``--workers 2``: each worker runs its own import jobs, so two providers'
files validate on both cores while the database serialises only the batched commits.

Every server uses ``fhir_family.slow_clients.BufferingThreadWorker``: gthread that reads each request in its
main loop before a thread sees it, so slow clients cannot hold the threads (slowloris).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from .slow_clients import WORKER_CLASS

BASE_OPTIONS: dict[str, Any] = {
    # gthread, not sync: a sync worker streaming a long /ehr/batch answer misses its heartbeat and is killed
    # after `timeout`; a gthread worker's main loop keeps beating while requests run in threads. Our subclass
    # reads each request in that main loop before a thread sees it, so slow clients cannot hold the threads.
    "worker_class": WORKER_CLASS,
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


def port_free(host: str, port: int) -> bool:
    """Whether ``host:port`` can be bound now (port 0 always can): checked before starting, so a busy port is
    one friendly line instead of gunicorn retrying for five seconds. ``SO_REUSEADDR`` as gunicorn sets it, so
    a port left in TIME_WAIT by a previous run counts as free, as it is for gunicorn."""
    if port == 0:
        return True
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True
