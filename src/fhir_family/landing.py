"""The root page of each server (facade and collector): what is there, for a person and for a program.

A browser opening the URL that ``make run`` prints gets a small HTML page linking the guide, the API
description, the report and health; a client sending ``Accept: application/json`` (or a FHIR JSON type) gets
the same facts as JSON. Links are relative, so the page works behind any prefix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape

from flask import Response, request

from . import __version__


@dataclass(frozen=True)
class Link:
    """One thing the server offers: a relative ``href``, what it is, and whether a browser can open it."""

    key: str
    href: str
    text: str
    method: str = "GET"


def _wants_html() -> bool:
    # JSON first: ``*/*`` (curl, requests) gets JSON; a browser names text/html with a higher quality.
    best = request.accept_mimetypes.best_match(["application/json", "application/fhir+json", "text/html"])
    return best == "text/html"


def landing(title: str, summary: str, links: list[Link], notes: tuple[str, ...] = ()) -> Response:
    """HTML for browsers, JSON otherwise; ``Vary: Accept`` so caches keep the two apart."""
    if _wants_html():
        items = "\n".join(
            f'<li><a href="{escape(link.href)}">{escape(link.href)}</a>: {escape(link.text)}</li>'
            if link.method == "GET"
            else f"<li><code>{escape(link.method)} {escape(link.href)}</code>: {escape(link.text)}</li>"
            for link in links
        )
        extra = "".join(f"<p>{escape(note)}</p>" for note in notes)
        page = (
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title>"
            "<style>body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}"
            "li{margin:.3rem 0}</style></head>\n"
            f"<body><h1>{escape(title)}</h1><p>{escape(summary)}</p>\n<ul>\n{items}\n</ul>{extra}"
            f"<p><small>fhir-family {escape(__version__)}</small></p></body></html>\n"
        )
        response = Response(page, 200, mimetype="text/html")
    else:
        described = {
            link.key: {"href": link.href, "method": link.method, "description": link.text} for link in links
        }
        body = {"service": title, "version": __version__, "summary": summary, **described}
        response = Response(json.dumps(body, indent=2) + "\n", 200, mimetype="application/json")
    response.headers["Vary"] = "Accept"
    return response
