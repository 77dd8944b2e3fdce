"""Serving a Flask app factory under gunicorn from Python (no gunicorn command line, no config file).

The app is built in each worker (``load``), never in the master before the fork, so every worker opens its
own database connections.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication


class FactoryServer(BaseApplication):
    """gunicorn running ``factory()``; ``options`` are gunicorn settings (bind, workers, threads, ...)."""

    def __init__(self, factory: Callable[[], Flask], options: dict[str, Any]) -> None:
        self.factory = factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.factory()


def serve(
    factory: Callable[[], Flask], host: str, port: int, workers: int = 1, threads: int = 8, **options: Any
) -> None:
    """Run until stopped (SIGINT/SIGTERM shut down gracefully)."""
    settings = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": 120,
        "graceful_timeout": 10,
        "accesslog": "-",
        # Path without the query string: a ?token= (loopback demo) or a search never lands in a log file.
        "access_log_format": '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(D)sus',
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "fhir-family",
        **options,
    }
    FactoryServer(factory, settings).run()
