"""``GET /openapi.json``: an OpenAPI 3.1 document of the collector, precise enough for schemathesis to drive
(tests/test_collector_openapi.py), following the facade's (``facade/openapi.py``).

A blueprint that wants its routes listed sets an ``openapi_paths`` dict attribute; the document merges those
of every registered blueprint, so a new route is documented beside its code.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app, request

from ..openapi_common import FHIR_JSON, document, fhir, fhir_schemas, query, ref

openapi_api = Blueprint("collector_openapi", __name__)

RESOURCE_TYPES = ("Patient", "RelatedPerson", "Organization", "EpisodeOfCare")
NDJSON_TYPES = ("application/x-ndjson", "application/fhir+ndjson", "application/ndjson")
_MEANING = {
    400: "Unreadable request (not JSON, not UTF-8, a bad parameter)",
    401: "No bearer token, or an unknown or revoked one",
    403: "The token's role or provider may not do this",
    404: "No such return, resource or job (for this provider)",
    405: "Method not allowed",
    409: "The same submission id with different content",
    413: "Request body over the size limit",
    415: "Wrong Content-Type",
    422: "Not a conformant national return (the issues say why)",
    429: "Too many writes from this address or token: retry after Retry-After seconds",
    501: "The charts library (matplotlib, in the collector extra) is not installed",
    503: "The database is busy: nothing was stored, resend after Retry-After",
}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): fhir("OperationOutcome", _MEANING[status]) for status in statuses}


def _path_param(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema or {"type": "string"}}


def _read(summary: str, operation_id: str, *parameters: dict[str, Any]) -> dict[str, Any]:
    return {"get": {
        "summary": summary, "operationId": operation_id, "security": [{"bearer": []}],
        "parameters": list(parameters),
        "responses": {"200": fhir("Resource", "The stored resource"), **_errors(400, 401, 403, 404)},
    }}


def _paths() -> dict[str, Any]:
    resource_type = _path_param("resourceType", {"type": "string", "enum": list(RESOURCE_TYPES)})
    submit = {
        "summary": "Submit one NationalReturnBundle; a resend of the same submission id is a no-op",
        "security": [{"bearer": []}],
        "requestBody": {"required": True, "content": {
            t: {"schema": ref("Bundle")} for t in (FHIR_JSON, "application/json")
        }},
        "responses": {"200": fhir("Resource", "The transaction-response Bundle"),
                      **_errors(400, 401, 403, 409, 413, 422, 429, 503)},
    }
    text = {"description": "Text", "content": {"text/csv": {"schema": {"type": "string"}}}}
    html = {"description": "An HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}
    month = query("month", {"type": "string"})
    return {
        "/": {
            "get": {"summary": "What is where (HTML for a browser, JSON otherwise)", "operationId": "index",
                    "responses": {"200": {"description": "Links", "content": {
                        "text/html": {"schema": {"type": "string"}},
                        "application/json": {"schema": {"type": "object"}}}}}},
            "post": {**submit, "operationId": "submitRoot"},
        },
        "/Bundle": {
            "post": {**submit, "operationId": "submitBundle"},
            "get": {
                "summary": "Search the caller's own returns (a searchset Bundle)",
                "operationId": "searchBundles", "security": [{"bearer": []}],
                "parameters": [query("identifier"), query("reporting-month"), query("status"),
                               query("_count"), query("_offset")],
                "responses": {"200": fhir("Bundle", "A searchset Bundle"), **_errors(400, 401, 403)},
            },
        },
        "/Bundle/{submission_id}": _read("Read one of the caller's returns by submission id", "readBundle",
                                         _path_param("submission_id")),
        "/{resourceType}/{id}": _read("Read a stored resource of one of the caller's returns", "readResource",
                                      resource_type, _path_param("id")),
        "/{resourceType}/{id}/_history/1": _read("The same resource, as version 1", "readResourceVersion",
                                                 resource_type, _path_param("id")),
        "/metadata": {"get": {"summary": "CapabilityStatement", "operationId": "capabilities",
                              "responses": {"200": fhir("Resource", "The CapabilityStatement")}}},
        "/health": {"get": {"summary": "Health check", "operationId": "health", "responses": {"200": {
            "description": "Up", "content": {"application/json": {"schema": {
                "type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}}}}}}}},
        "/$import": {"post": {
            "summary": "Bulk import: NDJSON, one NationalReturnBundle per line; poll the Content-Location",
            "operationId": "bulkImport", "security": [{"bearer": []}],
            "requestBody": {"required": True, "content": {
                t: {"schema": {"type": "string"}} for t in NDJSON_TYPES
            }},
            "responses": {"202": fhir("OperationOutcome", "Accepted; status URL in Content-Location"),
                          **_errors(400, 401, 403, 413, 429, 503)},
        }},
        "/$import-status/{job_id}": {"get": {
            "summary": "An import job: 202 while it runs, then its outcomes (one per line)",
            "operationId": "bulkImportStatus", "security": [{"bearer": []}],
            "parameters": [_path_param("job_id")],
            "responses": {
                "200": {"description": "The finished job's outcomes",
                        "content": {"application/json": {"schema": {"type": "object"}}}},
                "202": {"description": "Still running (X-Progress, Retry-After)"},
                **_errors(401, 403, 404),
            },
        }},
        "/reports/monthly": {"get": {
            "summary": "The monthly report, disclosure-controlled (analyst: all providers; provider: own)",
            "operationId": "monthlyReport", "security": [{"bearer": []}],
            "parameters": [query("format", {"type": "string", "enum": ["json", "csv", "html"]}), month],
            "responses": {"200": {"description": "The report", "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/csv": {"schema": {"type": "string"}},
                "text/html": {"schema": {"type": "string"}}}},
                **_errors(400, 401, 403)},
        }},
        "/dashboard": {"get": {
            "summary": "The analyst dashboard: charts drawn on the server", "operationId": "dashboard",
            "security": [{"bearer": []}], "parameters": [month, query("ods")],
            "responses": {"200": html, **_errors(400, 401, 403, 501)},
        }},
        "/dashboard/{name}.csv": {"get": {
            "summary": "One chart's figures as CSV", "operationId": "dashboardCsv",
            "security": [{"bearer": []}], "parameters": [_path_param("name"), month, query("ods")],
            "responses": {"200": text, **_errors(400, 401, 403)},
        }},
        "/dashboard/quality": {"get": {
            "summary": "The data-quality page", "operationId": "dashboardQuality",
            "security": [{"bearer": []}], "parameters": [month, query("ods")],
            "responses": {"200": html, **_errors(400, 401, 403)},
        }},
        "/openapi.json": {"get": {"summary": "This document", "operationId": "openapi",
                                  "responses": {"200": {"description": "OpenAPI 3.1",
                                                        "content": {"application/json": {"schema": {}}}}}}},
    }


def openapi_document(base_url: str = "") -> dict[str, Any]:
    """The OpenAPI 3.1 document, including paths contributed by other blueprints of the running app."""
    return document(
        title="fhir-family collector",
        description="The national collector: takes NationalReturnBundles (one, or NDJSON in bulk), "
                    "pseudonymises and stores them, and reports with disclosure control.",
        paths=_paths(),
        blueprints=current_app.blueprints.values(),
        schemas=fhir_schemas(),
        security={"bearer": {
            "type": "http", "scheme": "bearer",
            "description": "A provider's or analyst's token (fhir-family collector add-token)",
        }},
        base_url=base_url,
    )


@openapi_api.get("/openapi.json")
def openapi_json() -> Response:
    document = openapi_document(request.url_root.rstrip("/"))
    return Response(json.dumps(document, ensure_ascii=False), 200, content_type="application/json")
