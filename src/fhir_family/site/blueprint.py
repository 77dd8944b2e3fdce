"""The guide's pages served by the facade under ``/ig/``, rendered by the same builder as the static folder.

The pages are built once per app, on the first request, and kept: building validates every example, which is
worth doing once per process, not per request. The app's ``GUIDE_DIR`` and ``VALIDATOR`` settings are
honoured, so the pages describe the guide the facade validates against. Links are relative, so the same files
work under any prefix.
"""

from __future__ import annotations

import mimetypes
import threading
from collections.abc import Callable
from pathlib import Path

from flask import Blueprint, Response, current_app, redirect, url_for

from .builder import SiteBuilder

URL_PREFIX = "/ig"
EXTENSION_KEY = "fhir_family.ig_site"


class SiteCache:
    """Builds the site once, thread-safely, and hands out its files."""

    def __init__(self, factory: Callable[[], SiteBuilder] = SiteBuilder) -> None:
        self._factory = factory
        self._files: dict[str, bytes] | None = None
        self._lock = threading.Lock()

    def files(self) -> dict[str, bytes]:
        if self._files is None:
            with self._lock:
                if self._files is None:
                    self._files = self._factory().build()
        return self._files


_create_lock = threading.Lock()


def _site_cache() -> SiteCache:
    """This app's cache, created on first use from its GUIDE_DIR and VALIDATOR settings."""
    app = current_app
    cache = app.extensions.get(EXTENSION_KEY)
    if cache is None:
        with _create_lock:
            cache = app.extensions.get(EXTENSION_KEY)
            if cache is None:
                guide_dir = Path(app.config["GUIDE_DIR"]) if app.config.get("GUIDE_DIR") else None
                validator = app.config.get("VALIDATOR")
                cache = SiteCache(lambda: SiteBuilder(guide_dir=guide_dir, validator=validator))
                app.extensions[EXTENSION_KEY] = cache
    return cache


blueprint = Blueprint("ig", __name__, url_prefix=URL_PREFIX)


@blueprint.get("")
def root() -> Response:
    # Relative links need the trailing slash to resolve inside /ig/.
    return redirect(url_for("ig.page"), code=308)


@blueprint.get("/", defaults={"name": "index.html"})
@blueprint.get("/<path:name>")
def page(name: str) -> Response:
    files = _site_cache().files()
    if name not in files:
        # A person mistyping a guide address gets the guide's own page, with search and the artifacts index.
        missing = Response(files.get("404.html", b"Not found"), 404, mimetype="text/html")
        missing.charset = "utf-8"
        return missing
    mimetype = "application/gzip" if name.endswith(".tgz") else mimetypes.guess_type(name)[0]
    response = Response(files[name], mimetype=mimetype or "application/octet-stream")
    if response.mimetype.startswith("text/"):
        response.charset = "utf-8"
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
