"""``fhir-family serve``: the facade under gunicorn (never Flask's development server).

The app is built with ``create_app`` in the master and the validator loaded there before forking
(``preload_app``, through ``fhir_family.wsgi_server``), so every worker shares the loaded definitions and the
first request is as fast as the rest. ``--port 0`` binds a free port; gunicorn logs the one it got.
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path
from typing import Any

import click

from ..errors import FhirFamilyError
from ..facade.app import create_app
from ..wsgi_server import GunicornServer, gunicorn_server, port_free
from .exits import fail


def build_server(host: str, port: int, workers: int, config: dict[str, Any] | None = None,
                 access_log: bool = True, threads: int = 4) -> GunicornServer:
    # Unexpected errors are logged by the facade with their request id; send them to stderr beside gunicorn's.
    log_format = "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"
    logging.basicConfig(level=logging.WARNING, format=log_format)
    app = create_app(config)
    if app.config["VALIDATE"]:
        app.extensions["fhir_family.pipeline"].validator  # noqa: B018 - load definitions before forking
    warm_up(app)
    # Everything loaded so far (the validator's definitions: most of the heap) lives as long as the server:
    # frozen, a worker's full garbage collection no longer walks it (pauses of hundreds of ms showed as the
    # JSON endpoint's p99) nor writes to its pages (which copies them from the master into every worker).
    gc.freeze()
    options: dict[str, Any] = {"preload_app": True}
    if access_log:
        options["accesslog"] = "-"
        options["access_log_format"] = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'
    return gunicorn_server(lambda: app, host, port, workers, threads, **options)


WARM_UP = (
    ("json", "ehr/json/mother-two-children.json"),
    ("hl7v2", "ehr/hl7v2/a04-register-mother-two-children.hl7"),
)
"""One shipped example per single-document format, mapped once in the master before forking."""


def warm_up(app: Any) -> None:
    """Map one example of each format in the master, before forking: what is compiled or read on first use
    (the payload schema check, each profile's structures, parser tables) is then done once and shared by every
    worker, not paid again in each worker's first requests (it showed as a p99 of ~300 ms in bench_facade)."""
    from ..guide import examples_dir
    from ..mapping.factory import get_parser

    pipeline = app.extensions["fhir_family.pipeline"]
    for parser_name, relative in WARM_UP:
        path = examples_dir() / relative
        if path.is_file():
            pipeline.map_text(get_parser(parser_name), path.read_text(encoding="utf-8"))


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="0: any free.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="gunicorn workers.")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64), help="Per worker.")
@click.option("--no-access-log", is_flag=True, help="Do not log every request.")
@click.option("--collector-url", envvar="FHIR_FAMILY_COLLECTOR_URL", default=None,
              help="Collector FHIR base that POST /submit forwards to (default $FHIR_FAMILY_COLLECTOR_URL).")
@click.option("--feed-tokens", envvar="FHIR_FAMILY_FEED_TOKENS", default=None,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Feed-token file for POST /submit (fhir-family serve-token issue); none: writes refused.")
def command(host: str, port: int, workers: int, threads: int, no_access_log: bool,
            collector_url: str | None, feed_tokens: Path | None) -> None:
    """Run the facade HTTP API under gunicorn."""
    if not port_free(host, port):
        fail("serve", f"port {port} on {host} is in use; choose another with --port (0: any free port)")
    config: dict[str, Any] = {}
    if collector_url:
        config["COLLECTOR_URL"] = collector_url
    if feed_tokens:
        config["FEED_TOKENS_FILE"] = str(feed_tokens)
    try:
        server = build_server(host, port, workers, config, access_log=not no_access_log, threads=threads)
    except FhirFamilyError as exc:
        fail("serve", str(exc))
    server.run()
