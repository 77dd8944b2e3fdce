"""FHIR-flavoured HTTP helpers shared by the facade's blueprints: responses, content negotiation, bodies.

Every response body is a FHIR resource (or NDJSON of them) sent as ``application/fhir+json`` unless the client
asked only for ``application/json``; a client that accepts neither gets 406 rather than a format it did not
ask for (http://hl7.org/fhir/R4/http.html#mime-type).
"""

from __future__ import annotations

from typing import Any

from flask import Response, request
from werkzeug.exceptions import NotAcceptable, UnsupportedMediaType

from fhir_family import messages as msg
from fhir_family.errors import InputError
from fhir_family.jsontext import dumps_compact, parse_json

FHIR_JSON = "application/fhir+json"
NDJSON = "application/x-ndjson"
FHIR_JSON_TYPES = (FHIR_JSON, "application/json")
"""The media types of a FHIR resource in JSON, preferred first."""
_FORMAT_PARAM = {"json": FHIR_JSON, FHIR_JSON: FHIR_JSON, "application/json": "application/json"}


def response_media_type() -> str:
    """The JSON media type to answer with, from ``_format`` or the Accept header (406 if none fits)."""
    requested = request.args.get("_format")
    if requested:
        chosen = _FORMAT_PARAM.get(requested)
        if chosen is None:
            raise NotAcceptable(f"_format={requested!r} is not supported: this server speaks JSON only")
        return chosen
    if not request.accept_mimetypes:
        return FHIR_JSON
    best = request.accept_mimetypes.best_match(FHIR_JSON_TYPES)
    if best is None:
        raise NotAcceptable("This server answers in application/fhir+json (or application/json) only")
    return best


def dumps(resource: dict[str, Any]) -> str:
    """Compact JSON with non-ASCII kept as is; key order as built (resourceType first)."""
    return dumps_compact(resource)


def fhir_response(resource: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None,
                  negotiate: bool = True, media_type: str | None = None) -> Response:
    """``resource`` as the answer; ``media_type`` when the view negotiated it already (once per request)."""
    if media_type is None:
        media_type = response_media_type() if negotiate else FHIR_JSON
    response = Response(dumps(resource), status=status, mimetype=media_type, headers=headers)
    response.charset = "utf-8"
    return response


def require_media_type(allowed: tuple[str, ...]) -> str:
    """The request's bare Content-Type if it is one of ``allowed``; 415 naming the allowed types otherwise."""
    media_type = (request.mimetype or "").lower()
    if media_type not in allowed:
        sent = media_type or "no Content-Type"
        accepted = ", ".join(allowed)
        raise UnsupportedMediaType(f"Content-Type {sent} is not accepted here; send one of: {accepted}")
    return media_type


def body_text(fallback_encoding: str | None = None) -> str:
    """The whole request body as text (UTF-8, BOM allowed); undecodable bytes are a 400 InputError.

    ``fallback_encoding`` (HL7 v2 feeds are often ISO-8859-1) is tried before giving up.
    """
    data = request.get_data(cache=False)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if fallback_encoding:
            return data.decode(fallback_encoding)
        raise InputError(
            f"Request body is not UTF-8 (byte {exc.start})",
        ) from None


def parse_json_body(text: str | None = None) -> Any:
    """The request body (or its ``text``, already read: the body can be read once) as JSON; a decode error
    is a 400 naming line and column."""
    return parse_json(body_text() if text is None else text, msg.MAP_JSON)
