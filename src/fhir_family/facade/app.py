"""The facade's Flask application factory: ``create_app(config) -> Flask``.

Configuration is explicit (a dict merged over ``DEFAULT_CONFIG``); nothing is read from globals, so tests
and gunicorn build independent apps. Features arrive as blueprints listed in ``BLUEPRINTS`` as
``"module:attribute"`` strings: adding one is one line here.
"""

from __future__ import annotations

import importlib
from typing import Any, Final

from flask import Flask, request

from fhir_family import rate_limit, security_headers
from fhir_family.limits import SINGLE_BODY_BYTES
from fhir_family.mapping.pipeline import MappingPipeline

from . import auth, cors, error_handlers

BLUEPRINTS: Final[list[str]] = [
    "fhir_family.facade.root:blueprint",
    "fhir_family.facade.ehr:blueprint",
    "fhir_family.facade.fhir_api:blueprint",
    "fhir_family.facade.openapi:blueprint",
    "fhir_family.site.blueprint:blueprint",
    "fhir_family.facade.submit:blueprint",
]
"""Every blueprint the facade serves, registered in this order."""

DEFAULT_CONFIG: Final[dict[str, Any]] = {
    "MAX_CONTENT_LENGTH": SINGLE_BODY_BYTES,
    "BATCH_MAX_CONTENT_LENGTH": 2 * 1024 * 1024 * 1024,
    "VALIDATE": True,
    "VALIDATOR": None,
    "GUIDE_DIR": None,
    "FEED_TOKENS_FILE": None,
    "CORS_ORIGINS": (),
}
"""MAX_CONTENT_LENGTH: limit for single documents and $validate (413 above it);
BATCH_MAX_CONTENT_LENGTH: limit for /ehr/batch, which streams;
VALIDATE: validate every bundle before answering (turn off only to measure mapping alone);
VALIDATOR: a ``fhir_family.validation.Validator`` (``issues(resource, profile=None)``) or a function making
one (default: the process-wide ``fhir_family.conformance.default_validator()``, loaded on first use);
GUIDE_DIR: folder of the guide's conformance resources to serve (default: ``fhir_family.guide``'s);
FEED_TOKENS_FILE: the EHR feeds' bearer tokens for write endpoints (default ``$FHIR_FAMILY_FEED_TOKENS``;
none: every write is refused; ``auth.py``);
CORS_ORIGINS: exact browser origins answered with CORS headers (default none; ``cors.py``);
WRITE_RATE, WRITE_BURST: rate limit of ``POST /submit`` per address and per token (``rate_limit.py``)."""


def _load(spec: str) -> Any:
    module_name, _, attribute = spec.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """A new facade app; ``config`` overrides ``DEFAULT_CONFIG`` and any Flask setting."""
    app = Flask("fhir_family.facade")
    app.config.update(DEFAULT_CONFIG)
    app.config.update(config or {})
    app.json.sort_keys = False  # FHIR readers expect resourceType first, as built
    app.extensions["fhir_family.pipeline"] = MappingPipeline(app.config["VALIDATOR"], app.config["VALIDATE"])
    error_handlers.install(app)
    auth.install(app)
    cors.install(app)
    security_headers.install(app)
    rate_limit.install(app, lambda: request.method == "POST" and request.path == "/submit")
    for spec in BLUEPRINTS:
        app.register_blueprint(_load(spec))
    return app
