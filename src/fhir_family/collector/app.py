"""The national collector's HTTP API (Flask): a FHIR base that takes national-return transaction bundles.

Routes: ``POST /`` and ``POST /Bundle`` (ingest), ``GET /Bundle/{submission id}``, ``GET /Bundle?...`` and
``GET /{type}/{id}`` (a provider's own returns), ``POST /$import`` + ``GET /$import-status/{job}``
(bulk NDJSON),
``GET /reports/monthly`` (aggregates with disclosure control), ``GET /metadata``, and the FHIR API under
``/fhir`` (``fhir_endpoints.py``). Every error is an OperationOutcome; every refusal is audited.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Flask, Response, current_app, request

from .. import rate_limit, security_headers
from ..errors import InputError
from ..guide import CANONICAL
from ..landing import Link, landing
from ..limits import SINGLE_BODY_BYTES
from ..model import NATIONAL_RETURN_BUNDLE
from . import http, request_audit
from .bulk import bulk_api, recover_interrupted
from .dashboard_api import dashboard_api
from .fhir_endpoints import fhir_api
from .http import EXTENSION_KEY, FHIR_JSON, collector, fhir_response, not_found, read_json_body, require
from .openapi_document import openapi_api
from .reports_api import reports_api
from .service import Collector
from .settings import CollectorSettings
from .tokens import ANALYST, PROVIDER

api = Blueprint("collector", __name__)
MAX_OFFSET = 2**31 - 1
"""The largest ``_offset`` a search accepts (far beyond any provider's returns; 2^63 overflows the
database)."""


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The collector app. Config keys: DATABASE_URL, PSEUDONYM_KEY (or PSEUDONYM_KEY_FILE, or the
    FHIR_FAMILY_PSEUDONYM_KEY environment variable), VALIDATOR (a ``fhir_family.validation.Validator``,
    default the shared validator), MIGRATE (default True), ALLOW_QUERY_TOKEN (default False), IMPORT_WORKERS,
    IMPORT_PROCESSES (processes checking one large $import job's lines; default one per core, 0: none),
    MAX_CONTENT_LENGTH ($import bodies) and BUNDLE_MAX_CONTENT_LENGTH (one bundle), in bytes; WRITE_RATE and
    WRITE_BURST (``rate_limit.py``)."""
    config = dict(config or {})
    settings = CollectorSettings.from_config(config)
    app = Flask(__name__)
    # One return is small; a month-end $import file is not (1M returns ~4.7 GB): it is spooled to disk in
    # chunks, never held in memory, so the limit is about disk, not RAM.
    app.config["MAX_CONTENT_LENGTH"] = int(config.get("MAX_CONTENT_LENGTH", 8 * 1024 * 1024 * 1024))
    app.config["BUNDLE_MAX_CONTENT_LENGTH"] = int(config.get("BUNDLE_MAX_CONTENT_LENGTH", SINGLE_BODY_BYTES))
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.config["WRITE_RATE"], app.config["WRITE_BURST"] = config.get("WRITE_RATE"), config.get("WRITE_BURST")
    collector = Collector(settings, validator=config.get("VALIDATOR"), engine=config.get("ENGINE"))
    app.extensions[EXTENSION_KEY] = collector
    recover_interrupted(collector)  # a crash's leftovers: spools deleted, its jobs marked failed
    app.register_blueprint(api)
    app.register_blueprint(bulk_api)
    app.register_blueprint(reports_api)
    app.register_blueprint(dashboard_api)
    app.register_blueprint(fhir_api)
    app.register_blueprint(openapi_api)
    http.install(app)
    request_audit.install(app)  # first among the before_request hooks: every request gets its audit row
    security_headers.install(app)
    rate_limit.install(app, lambda: request.method not in ("GET", "HEAD", "OPTIONS"))
    return app


# -- ingest --------------------------------------------------------------------------------------------------


@api.post("/")
@api.post("/Bundle")
def ingest() -> Response:
    principal = require(PROVIDER, ANALYST, action="submit")
    request.max_content_length = current_app.config["BUNDLE_MAX_CONTENT_LENGTH"]
    result = collector().submit(read_json_body(), principal)
    location = f"Bundle/{quote(result.submission_id, safe='')}"
    return fhir_response(result.response, 200, {"Content-Location": location})


# -- reads of a provider's own returns -----------------------------------------------------------------------


@api.get("/Bundle/<path:submission_id>")
def read_bundle(submission_id: str) -> Response:
    principal = require(PROVIDER, action="read-submission")
    assert principal.ods_code is not None
    # Ids are each provider's own: another provider's id answers exactly as a never-used one.
    submission = None
    for form in _id_forms(submission_id):
        submission = submission or collector().store.submission(principal.ods_code, form)
    if submission is None:
        missing = f"No submission with id {submission_id!r}"
        return not_found(principal, "read-submission", submission_id, missing)
    collector().audit(principal, "read-submission", submission_id, 200)
    headers = {"X-Submission-Status": submission.status}
    if submission.superseded_by:
        headers["X-Superseded-By"] = submission.superseded_by
    return Response(submission.bundle_json, 200, headers=headers, content_type=FHIR_JSON)


def _id_forms(submission_id: str) -> list[str]:
    """The forms a provider may give its submission id in: as it sent it (looked up as stored, a valid NHS
    number in it pseudonymised: ``prepare_return``), then as given (the stored form itself, from a
    ``Content-Location``, whose hex may happen to hold ten digits that pass modulus 11)."""
    stored = collector().pseudonymiser.pseudonymise_text(submission_id)
    return [stored] if stored == submission_id else [stored, submission_id]


@api.get("/Bundle")
def search_bundles() -> Response:
    principal = require(PROVIDER, action="search-submissions")
    assert principal.ods_code is not None
    identifier = request.args.get("identifier")
    if identifier and "|" in identifier:
        identifier = identifier.split("|", 1)[1]
    try:
        count = max(1, min(int(request.args.get("_count", 50)), 500))
        offset = max(0, int(request.args.get("_offset", 0)))
    except ValueError as exc:
        raise InputError("_count and _offset must be whole numbers") from exc
    if offset > MAX_OFFSET:  # a database integer is 64-bit: 2^63 would be a 500 from the driver
        raise InputError(f"_offset must be at most {MAX_OFFSET}")
    rows, total = [], 0
    for form in _id_forms(identifier) if identifier else [None]:
        rows, total = collector().store.submissions_of(
            principal.ods_code,
            submission_id=form,
            month=request.args.get("reporting-month"),
            status=request.args.get("status"),
            limit=count,
            offset=offset,
        )
        if total:
            break
    collector().audit(
        principal,
        "search-submissions",
        request.query_string.decode()[:300] or None,
        200,
        f"{len(rows)} of {total}",
    )
    base = request.url_root.rstrip("/")
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "entry": [
            {
                "fullUrl": f"{base}/Bundle/{quote(row.submission_id, safe='')}",
                "resource": json.loads(row.bundle_json),
                "search": {"mode": "match"},
            }
            for row in rows
        ],
    }
    if offset + count < total:
        bundle["link"] = [
            {"relation": "next", "url": f"{base}/Bundle?_count={count}&_offset={offset + count}"}
        ]
    return fhir_response(bundle)


@api.get("/<any(Patient, RelatedPerson, Organization, EpisodeOfCare):resource_type>/<resource_id>")
@api.get("/<any(Patient, RelatedPerson, Organization, EpisodeOfCare):resource_type>/<resource_id>/_history/1")
def read_resource(resource_type: str, resource_id: str) -> Response:
    principal = require(PROVIDER, action="read-resource")
    target = f"{resource_type}/{resource_id}"
    found = collector().store.resource(resource_type, resource_id)
    # Another provider's resource answers exactly as a missing one (resource ids derive from submission ids,
    # so a 403 would confirm a guessed id exists).
    if found is None or found[1] != principal.ods_code:
        return not_found(principal, "read-resource", target, f"No {target}")
    row, _ods = found
    collector().audit(principal, "read-resource", target, 200)
    return Response(row.body, 200, content_type=FHIR_JSON)


@api.get("/metadata")
def metadata() -> Response:
    """A CapabilityStatement: what this FHIR base accepts, so generic FHIR clients can discover it."""
    return fhir_response(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2026-11-01",
            "kind": "instance",
            "software": {"name": "fhir-family collector"},
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "implementationGuide": [f"{CANONICAL}/ImplementationGuide/uk.fhir-family.r4"],
            "rest": [
                {
                    "mode": "server",
                    "security": {
                        "description": "Bearer token per submitting organisation (provider) or analyst"
                    },
                    "resource": [
                        {
                            "type": "Bundle",
                            "supportedProfile": [NATIONAL_RETURN_BUNDLE],
                            "interaction": [{"code": "read"}, {"code": "search-type"}],
                        }
                    ],
                    "interaction": [{"code": "transaction"}],
                    "operation": [
                        {
                            "name": "import",
                            "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/bulk-import",
                        }
                    ],
                }
            ],
        }
    )


@api.get("/")
def index() -> Response:
    """Where things are, for a person opening the base URL in a browser (FHIR clients use /metadata)."""
    return landing(
        "fhir-family national collector",
        f"FHIR base {request.url_root}: takes national-return Bundles, pseudonymises, stores, reports.",
        [
            Link("report", "reports/monthly?format=html",
                 "the monthly report with disclosure control (analyst token; HTML, csv or json)"),
            Link("capabilityStatement", "metadata", "the FHIR CapabilityStatement"),
            Link("health", "health", "health check"),
            Link("submit", "Bundle", "a NationalReturnBundle, provider bearer token (also POST /)", "POST"),
            Link("bulkImport", "$import", "NDJSON, one bundle per line; poll $import-status/{job}", "POST"),
        ],
        ("The guide's pages are served by the facade under /ig/ (or built by fhir-family pages).",),
    )


@api.get("/health")
def health() -> Response:
    return Response('{"status": "ok"}', 200, content_type="application/json")
