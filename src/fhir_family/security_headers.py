"""Security headers on every response of both servers (facade and collector), errors included.

- ``X-Content-Type-Options: nosniff``: a browser never reinterprets FHIR JSON or NDJSON as HTML or script.
- ``Cache-Control: no-store`` unless a view set its own (only the public guide pages under ``/ig/`` do): no
  answer carrying data is kept by a browser or a shared cache.
- ``Content-Security-Policy``: on HTML pages the page's own files only (inline style attributes are allowed,
  inline script is not); on everything else ``default-src 'none'``. Both with ``frame-ancestors 'none'``, and
  ``X-Frame-Options: DENY`` for older browsers, so no other site can frame a page. A view that sets a
  stricter policy of its own (the analyst dashboard: no script at all) keeps it.
- ``Referrer-Policy: no-referrer``: a URL is never passed on to another site.
"""

from __future__ import annotations

from flask import Flask, Response, request

HTML_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'"


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    headers.setdefault("Cache-Control", "no-store")
    page = response.mimetype == "text/html" and request.method != "OPTIONS"  # Flask's OPTIONS: empty "HTML"
    headers.setdefault("Content-Security-Policy", HTML_POLICY if page else DATA_POLICY)
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "no-referrer"
    return response


def install(app: Flask) -> None:
    """Stamp every response of ``app`` (``after_request`` also runs for the error handlers' answers)."""
    app.after_request(add_security_headers)
