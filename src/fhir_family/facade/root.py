"""``GET /``: the facade's front page (``fhir_family.landing``): the guide at ``ig/``, the API description,
the CapabilityStatement and the endpoints an EHR posts to."""

from __future__ import annotations

from flask import Blueprint, Response

from ..landing import Link, landing

blueprint = Blueprint("root", __name__)
blueprint.openapi_paths = {  # type: ignore[attr-defined] - read by facade/openapi.py
    "/": {"get": {
        "summary": "What is where: an HTML page for a browser, the same as JSON for programs",
        "operationId": "index",
        "responses": {
            "200": {"description": "The links", "content": {"text/html": {}, "application/json": {}}},
        },
    }},
}

LINKS = [
    Link("guide", "ig/", "the implementation guide's pages: profiles, terminology, examples, payload"),
    Link("openapi", "openapi.json", "the API description (OpenAPI 3.1)"),
    Link("capabilityStatement", "metadata", "the FHIR CapabilityStatement; FHIR base of $validate"),
    Link("health", "metadata", "health: the facade answers /metadata once it is up"),
    Link("ehrJson", "ehr/json", "an EHR's JSON payload -> a validated national-return Bundle", "POST"),
    Link("ehrHl7v2", "ehr/hl7v2", "an HL7 v2 ADT message -> a Bundle", "POST"),
    Link("ehrBatch", "ehr/batch", "CSV or NDJSON batches -> NDJSON of bundles and outcomes", "POST"),
    Link("validate", "Bundle/$validate", "validate a Bundle against the guide -> OperationOutcome", "POST"),
    Link("submit", "submit", "map, validate and forward a return to the national collector", "POST"),
]


@blueprint.get("/")
def index() -> Response:
    return landing(
        "fhir-family facade",
        "Maps what EHRs emit into validated FHIR R4 national-return Bundles and forwards them.",
        LINKS,
    )
