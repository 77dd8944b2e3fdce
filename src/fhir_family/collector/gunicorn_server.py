"""The collector's gunicorn settings: the app is built in each worker (``load``), never in the master before
the fork, so every worker opens its own database connections. Serving itself is ``fhir_family.wsgi_server``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

from ..wsgi_server import gunicorn_server


def serve(
    factory: Callable[[], Flask], host: str, port: int, workers: int = 1, threads: int = 8, **options: Any
) -> None:
    """Run until stopped (SIGINT/SIGTERM shut down gracefully)."""
    gunicorn_server(
        factory,
        host,
        port,
        workers,
        threads,
        accesslog="-",
        # Path without the query string: a ?token= (loopback demo) or a search never lands in a log file.
        access_log_format='%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(D)sus',
        # ... and an NHS number in the path (a submission id holding one) is masked (access_log.py).
        logger_class="fhir_family.collector.access_log.RedactingAccessLogger",
        proc_name="fhir-family",
        **options,
    ).run()
