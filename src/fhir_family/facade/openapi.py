"""``GET /openapi.json``: an OpenAPI 3.1 document of the facade, precise enough for schemathesis to drive.

The JSON payload's request schema is the published contract itself (OpenAPI 3.1 schemas are JSON Schema
2020-12), with its ``$defs`` moved under ``components/schemas`` so every ``$ref`` resolves from the
document root. A blueprint that wants its routes listed sets an ``openapi_paths`` dict attribute; the
document merges those of every registered blueprint.
"""

from __future__ import annotations

import copy
from typing import Any

from flask import Blueprint, Response, current_app, request

from fhir_family.conformance.packages import CONFORMANCE_TYPES
from fhir_family.mapping.csv_batch import CsvParser
from fhir_family.mapping.hl7v2 import Hl7v2Parser
from fhir_family.mapping.ndjson import NdjsonParser
from fhir_family.mapping.payload import JsonPayloadParser, payload_schema
from fhir_family.openapi_common import document, fhir, fhir_schemas, query, ref

from .http import FHIR_JSON_TYPES, fhir_response
from .submit import HL7_TYPES as SUBMIT_HL7_TYPES

blueprint = Blueprint("openapi", __name__)

PAYLOAD = "EhrPayloadV2"
SITE_MEDIA_TYPES = ("text/html", "text/css", "image/svg+xml", "application/json", "application/gzip",
                    "application/xml", "text/xml", "text/javascript", "application/javascript",
                    "application/octet-stream")
"""What the guide's pages under /ig/ are served as (by file name, see site/blueprint.py)."""


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                out[key] = f"#/components/schemas/{PAYLOAD}_{value[len('#/$defs/'):]}"
            else:
                out[key] = _rewrite_refs(value)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item) for item in node]
    return node


def _payload_schemas() -> dict[str, Any]:
    schema = copy.deepcopy(payload_schema())
    definitions = schema.pop("$defs", {})
    schema.pop("$schema", None)
    schema.pop("$id", None)
    schemas = {PAYLOAD: _rewrite_refs(schema)}
    for name, definition in definitions.items():
        schemas[f"{PAYLOAD}_{name}"] = _rewrite_refs(definition)
    return schemas


def _errors(*statuses: int) -> dict[str, Any]:
    meaning = {
        400: "Unreadable input (not JSON / not HL7 v2 / not UTF-8)",
        404: "Unknown resource",
        405: "Method not allowed",
        406: "Accept asks for a format other than FHIR JSON",
        413: "Request body over the size limit",
        415: "Wrong Content-Type",
        422: "Readable but unmappable or non-conformant",
        502: "The collector could not be reached, or refused this facade's own token",
        503: "No collector is configured (COLLECTOR_URL), or it is unavailable",
        504: "The collector did not answer in time",
        429: "Too many writes from this address or token: retry after Retry-After seconds",
    }
    return {str(status): fhir("OperationOutcome", meaning[status]) for status in statuses}


def _text_body(*media_types: str) -> dict[str, Any]:
    text = {"schema": {"type": "string", "minLength": 1}}
    return {"required": True, "content": {media_type: text for media_type in media_types}}


def _paths() -> dict[str, Any]:
    single_errors = _errors(400, 406, 413, 415, 422)
    resource_type = {"name": "resourceType", "in": "path", "required": True,
                     "schema": {"type": "string", "enum": list(CONFORMANCE_TYPES)}}
    validate = {
        "requestBody": {"required": True, "content": {
            t: {"schema": ref("Resource")} for t in FHIR_JSON_TYPES
        }},
        "parameters": [query("profile")],
        "responses": {"200": fhir("OperationOutcome", "The resource conforms (warnings may be listed)"),
                      **_errors(400, 406, 413, 415, 422)},
    }
    return {
        "/ehr/json": {"post": {
            "summary": "Map one JSON payload (contract v2) to a validated NationalReturnBundle",
            "operationId": "mapJson",
            "requestBody": {"required": True, "content": {
                t: {"schema": ref(PAYLOAD)} for t in JsonPayloadParser.media_types
            }},
            "responses": {"200": fhir("Bundle", "The NationalReturnBundle"), **single_errors},
        }},
        "/ehr/hl7v2": {"post": {
            "summary": "Map one HL7 v2 ADT A04/A08/A28/A31 message (ER7) to a validated NationalReturnBundle",
            "operationId": "mapHl7v2",
            "requestBody": _text_body(*Hl7v2Parser.media_types),
            "responses": {"200": fhir("Bundle", "The NationalReturnBundle"), **single_errors},
        }},
        "/ehr/batch": {"post": {
            "summary": "Map a CSV or NDJSON batch; streamed NDJSON of Bundles and OperationOutcomes",
            "operationId": "mapBatch",
            "requestBody": _text_body(*CsvParser.media_types, *NdjsonParser.media_types),
            "responses": {
                "200": {"description": "One line per input item plus a summary OperationOutcome",
                        "content": {"application/x-ndjson": {"schema": {"type": "string"}}}},
                **_errors(413, 415),
            },
        }},
        "/submit": {"post": {
            "summary": "Map and validate (a JSON payload, an HL7 v2 message or a NationalReturnBundle), then "
                       "forward the return to the collector; the answer is the collector's",
            "operationId": "submit",
            "requestBody": {"required": True, "content": {
                **{t: {"schema": {"anyOf": [ref(PAYLOAD), ref("Bundle")]}}
                   for t in JsonPayloadParser.media_types},
                **_text_body(*SUBMIT_HL7_TYPES)["content"],
            }},
            "security": [{"feedToken": []}],
            "responses": {
                "200": fhir("Resource", "The collector's transaction-response"),
                "401": fhir("OperationOutcome", "No bearer token, or not a known feed's"),
                "403": fhir("OperationOutcome", "The return's provider is not one of the feed's ODS codes"),
                "409": fhir("OperationOutcome", "The collector's own refusal, relayed"),
                **_errors(400, 406, 413, 415, 422, 429, 502, 503, 504),
            },
        }},
        "/ig": {"get": {"summary": "The guide's pages (redirects to /ig/)", "operationId": "guideRoot",
                        "responses": {"308": {"description": "Redirect to /ig/"}}}},
        "/ig/": {"get": {"summary": "The guide's home page", "operationId": "guideIndex",
                         "responses": {"200": {"description": "HTML", "content": {"text/html": {}}}}}},
        "/ig/{name}": {"get": {
            "summary": "A page or file of the guide (HTML, its JSON resources, the NPM package)",
            "operationId": "guidePage",
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "The file", "content": {t: {} for t in SITE_MEDIA_TYPES}},
                          "404": {"description": "No such page: the guide's own not-found page",
                                  "content": {"text/html": {}}}},
        }},
        "/$validate": {"post": {"summary": "Validate any resource", "operationId": "validate", **validate}},
        "/Bundle/$validate": {"post": {"summary": "Validate a Bundle (as a NationalReturnBundle by default)",
                                       "operationId": "validateBundle", **validate}},
        "/metadata": {"get": {"summary": "CapabilityStatement", "operationId": "capabilities",
                              "responses": {"200": fhir("Resource", "The CapabilityStatement")}}},
        "/{resourceType}/{id}": {"get": {
            "summary": "Read a conformance resource of the guide or of FHIR R4 core",
            "operationId": "readConformance",
            "parameters": [resource_type, {"name": "id", "in": "path", "required": True,
                                           "schema": {"type": "string", "pattern": "^[A-Za-z0-9.-]{1,64}$"}}],
            "responses": {"200": fhir("Resource", "The resource"), **_errors(404)},
        }},
        "/{resourceType}": {"get": {
            "summary": "Search conformance resources by canonical url",
            "operationId": "searchConformance",
            "parameters": [resource_type, query("url"), query("version")],
            "responses": {"200": fhir("Bundle", "A searchset Bundle")},
        }},
        "/openapi.json": {"get": {"summary": "This document", "operationId": "openapi",
                                  "responses": {"200": {"description": "OpenAPI 3.1",
                                                        "content": {"application/json": {"schema": {}}}}}}},
    }


def _schemas() -> dict[str, Any]:
    return {**fhir_schemas(), **_payload_schemas()}


def openapi_document(base_url: str = "") -> dict[str, Any]:
    """The OpenAPI 3.1 document, including paths contributed by other blueprints of the running app."""
    return document(
        title="fhir-family facade",
        description="EHR input (JSON payload, HL7 v2, CSV/NDJSON) -> validated FHIR R4 "
                    "NationalReturnBundles; $validate; the guide's conformance resources.",
        paths=_paths(),
        blueprints=current_app.blueprints.values(),
        schemas=_schemas(),
        security={"feedToken": {
            "type": "http", "scheme": "bearer",
            "description": "An EHR feed's token (fhir-family serve-token issue), bound to its ODS codes",
        }},
        base_url=base_url,
    )


@blueprint.get("/openapi.json")
def openapi_json() -> Response:
    response = fhir_response(openapi_document(request.url_root.rstrip("/")), negotiate=False)
    response.mimetype = "application/json"
    return response
