"""The collector's FHIR R4 API under ``/fhir``: a FHIR server base for national-return transactions.

``POST /fhir`` takes a national return (a transaction Bundle) through the one submit path (authorise,
validate, facts, pseudonymise, store) and answers the transaction-response of the FHIR resource store
(``fhir_transaction.py``): each entry's ``status``, ``location`` (``Type/id/_history/version``, relative to
``/fhir``), ``etag`` and ``lastModified``. Reads and searches are a provider's own resources only:
``GET /fhir/{type}/{id}``, ``GET /fhir/{type}/{id}/_history/{version}``, ``GET /fhir/{type}?identifier=``
(a searchset; an NHS number is matched through its pseudonym), ``GET /fhir/metadata``. Every error is an
OperationOutcome; refusals are audited.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, current_app, request

from ..errors import InputError
from ..guide import CANONICAL
from ..model import NATIONAL_RETURN_BUNDLE
from ..openapi_common import fhir, query, ref
from . import fhir_store
from .database import READ_ONLY
from .fhir_store import SEARCH_TYPES, StoredResource
from .fhir_transaction import instant
from .http import FHIR_JSON, collector, fhir_response, not_found, read_json_body, require
from .service import forbidden
from .tokens import ANALYST, PROVIDER, Principal

fhir_api = Blueprint("collector_fhir", __name__, url_prefix="/fhir")
_TYPES = f"any({', '.join(SEARCH_TYPES)})"
MAX_COUNT = 500
MAX_OFFSET = 2**31 - 1


def _openapi_paths() -> dict[str, Any]:
    """This blueprint's routes in the collector's OpenAPI document (``openapi_document.py`` merges them)."""
    outcome = fhir("OperationOutcome", "What was wrong")
    errors = {str(status): outcome for status in (400, 401, 403, 404)}
    resource_type = {"name": "resourceType", "in": "path", "required": True,
                     "schema": {"type": "string", "enum": list(SEARCH_TYPES)}}
    resource_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    version = {"name": "version", "in": "path", "required": True, "schema": {"type": "string"}}
    transaction = {
        "summary": "A NationalReturnBundle as a FHIR transaction (conditional create/update, http.html)",
        "security": [{"bearer": []}],
        "requestBody": {"required": True, "content": {
            t: {"schema": ref("Bundle")} for t in ("application/fhir+json", "application/json")
        }},
        "responses": {"200": fhir("Bundle", "The transaction-response"),
                      **{str(s): outcome for s in (400, 401, 403, 409, 412, 413, 422, 429, 503)}},
    }

    def read(summary: str, operation: str, *parameters: dict[str, Any]) -> dict[str, Any]:
        return {"get": {"summary": summary, "operationId": operation, "security": [{"bearer": []}],
                        "parameters": list(parameters),
                        "responses": {"200": fhir("Resource", "The resource"), **errors}}}

    return {
        "/fhir": {"post": {**transaction, "operationId": "fhirTransaction"}},
        "/fhir/": {"post": {**transaction, "operationId": "fhirTransactionSlash"}},
        "/fhir/{resourceType}/{id}": read("Read a resource of the FHIR store", "fhirRead", resource_type,
                                          resource_id),
        "/fhir/{resourceType}/{id}/_history/{version}": read(
            "Read one version of a resource", "fhirVread", resource_type, resource_id, version
        ),
        "/fhir/{resourceType}": {"get": {
            "summary": "Search the caller's own resources by identifier (a searchset Bundle)",
            "operationId": "fhirSearch", "security": [{"bearer": []}],
            "parameters": [resource_type, query("identifier"), query("_count"), query("_offset")],
            "responses": {"200": fhir("Bundle", "A searchset Bundle"), **errors},
        }},
        "/fhir/metadata": {"get": {
            "summary": "The FHIR API's CapabilityStatement", "operationId": "fhirMetadata",
            "responses": {"200": fhir("Resource", "The CapabilityStatement")},
        }},
    }


fhir_api.openapi_paths = _openapi_paths()  # type: ignore[attr-defined] - read by openapi_document.py


@fhir_api.post("")
@fhir_api.post("/")
def transaction() -> Response:
    """A transaction Bundle (http.html#transaction), answered with its transaction-response."""
    principal = require(PROVIDER, ANALYST, action="fhir-transaction")
    request.max_content_length = current_app.config["BUNDLE_MAX_CONTENT_LENGTH"]
    result = collector().submit(read_json_body(), principal)
    return fhir_response(result.fhir_response, 200)


@fhir_api.get(f"/<{_TYPES}:resource_type>/<resource_id>")
def read(resource_type: str, resource_id: str) -> Response:
    principal = require(PROVIDER, action="fhir-read")
    with collector().engine.connect().execution_options(**READ_ONLY) as connection:
        found = fhir_store.read(connection, resource_type, resource_id)
    return _answer(principal, "fhir-read", f"{resource_type}/{resource_id}", found)


@fhir_api.get(f"/<{_TYPES}:resource_type>/<resource_id>/_history/<version>")
def vread(resource_type: str, resource_id: str, version: str) -> Response:
    principal = require(PROVIDER, action="fhir-read")
    target = f"{resource_type}/{resource_id}/_history/{version}"
    found = None
    if version.isdigit() and len(version) < 10:
        with collector().engine.connect().execution_options(**READ_ONLY) as connection:
            found = fhir_store.read_version(connection, resource_type, resource_id, int(version))
    return _answer(principal, "fhir-read", target, found)


def _answer(principal: Principal, action: str, target: str, found: StoredResource | None) -> Response:
    if found is None:
        return not_found(principal, action, target, f"No {target}")
    if found.ods_code != principal.ods_code:
        collector().audit(principal, action, target, 403, "resource of another provider")
        raise forbidden("A provider may read only its own resources")
    collector().audit(principal, action, target, 200)
    headers = {"ETag": f'W/"{found.version_id}"', "Last-Modified": instant(found.last_updated)}
    return Response(found.body, 200, headers=headers, content_type=FHIR_JSON)


@fhir_api.get(f"/<{_TYPES}:resource_type>")
def search(resource_type: str) -> Response:
    """``identifier`` search (search.html#token), a provider's own resources only (all of them without an
    ``identifier``); ``_count``/``_offset`` page it."""
    principal = require(PROVIDER, action="fhir-search")
    assert principal.ods_code is not None
    conditions = fhir_store.parse_identifier_query(
        request.query_string.decode("utf-8", "replace"), ignore=("_count", "_offset"), required=False
    )
    conditions = fhir_store.pseudonymised(conditions, collector().pseudonymiser)
    count, offset = _paging()
    ods = principal.ods_code
    with collector().engine.connect().execution_options(**READ_ONLY) as connection:
        rows, total = fhir_store.search(connection, resource_type, conditions, ods, count, offset)
    # The query may carry an NHS number: the audit row keeps the type and the count only.
    collector().audit(principal, "fhir-search", resource_type, 200, f"{len(rows)} of {total}")
    base = request.url_root.rstrip("/") + "/fhir"
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "entry": [
            {
                "fullUrl": f"{base}/{row.resource_type}/{quote(row.resource_id, safe='')}",
                "resource": row.resource(),
                "search": {"mode": "match"},
            }
            for row in rows
        ],
    }
    if offset + count < total:
        query = [(name, value) for name, value in request.args.items(multi=True) if name == "identifier"]
        query += [("_count", str(count)), ("_offset", str(offset + count))]
        bundle["link"] = [{"relation": "next", "url": f"{base}/{resource_type}?{urlencode(query)}"}]
    return fhir_response(bundle)


def _paging() -> tuple[int, int]:
    try:
        count = max(1, min(int(request.args.get("_count", 50)), MAX_COUNT))
        offset = max(0, int(request.args.get("_offset", 0)))
    except ValueError as exc:
        raise InputError("_count and _offset must be whole numbers") from exc
    if offset > MAX_OFFSET:
        raise InputError(f"_offset must be at most {MAX_OFFSET}")
    return count, offset


@fhir_api.get("/metadata")
def metadata() -> Response:
    """The CapabilityStatement of the FHIR API: transactions, conditional create/update, read, vread and
    ``identifier`` search on the national return's resource types."""
    resource = [
        {
            "type": resource_type,
            "versioning": "versioned",
            "readHistory": True,
            "updateCreate": True,
            "conditionalCreate": True,
            "conditionalUpdate": True,
            "interaction": [{"code": "read"}, {"code": "vread"}, {"code": "search-type"}],
            "searchParam": [
                {
                    "name": "identifier",
                    "definition": f"http://hl7.org/fhir/SearchParameter/{_identifier_param(resource_type)}",
                    "type": "token",
                }
            ],
        }
        for resource_type in SEARCH_TYPES
    ]
    return fhir_response(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2026-11-30",
            "kind": "instance",
            "software": {"name": "fhir-family collector FHIR API"},
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "implementationGuide": [f"{CANONICAL}/ImplementationGuide/uk.fhir-family.r4"],
            "rest": [
                {
                    "mode": "server",
                    "documentation": (
                        f"Transactions must be NationalReturnBundles ({NATIONAL_RETURN_BUNDLE}); a provider "
                        "reads and searches its own resources only"
                    ),
                    "security": {"description": "Bearer token per submitting organisation (provider)"},
                    "resource": resource,
                    "interaction": [{"code": "transaction"}],
                }
            ],
        }
    )


def _identifier_param(resource_type: str) -> str:
    # R4's identifier parameters: EpisodeOfCare shares "clinical-identifier", the others have their own.
    return "clinical-identifier" if resource_type == "EpisodeOfCare" else f"{resource_type}-identifier"
