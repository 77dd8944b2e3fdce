"""CORS only as configured: by default the facade sends no CORS headers, so no other site's script can read
its answers. ``CORS_ORIGINS`` lists exact origins (``https://ehr.example.nhs.uk``) that may call it from a
browser; preflights from them are answered, anything else gets no Access-Control-* header at all."""

from __future__ import annotations

from flask import Flask, Response, current_app, request

_METHODS = "GET, POST, OPTIONS"
_HEADERS = "Authorization, Content-Type, Accept, X-Request-ID"
_EXPOSED = "X-Request-ID, X-Submission-Id, X-Collector-Status"


def _add_cors(response: Response) -> Response:
    origin = request.headers.get("Origin")
    if origin and origin in current_app.config.get("CORS_ORIGINS", ()):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = _EXPOSED
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = _METHODS
            response.headers["Access-Control-Allow-Headers"] = _HEADERS
            response.headers["Access-Control-Max-Age"] = "600"
    if current_app.config.get("CORS_ORIGINS"):
        response.vary.add("Origin")
    return response


def install(app: Flask) -> None:
    app.after_request(_add_cors)
