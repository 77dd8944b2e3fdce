"""The FHIR side of the facade: ``$validate``, ``/metadata`` and the guide's conformance resources.

``$validate`` (http://hl7.org/fhir/R4/resource-operation-validate.html) takes the resource itself or a
``Parameters`` with a ``resource`` part (and optionally ``profile``). It answers the OperationOutcome with
200 when the resource conforms and 422 when it has errors, so a client can branch on the status alone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, request

from fhir_family import __version__
from fhir_family import messages as msg
from fhir_family.conformance.locations import add_locations
from fhir_family.conformance.packages import CONFORMANCE_TYPES, DefinitionStore
from fhir_family.errors import InputError
from fhir_family.guide import (
    CANONICAL,
    FHIR_VERSION,
    PACKAGE_ID,
    core_package_dir,
    require_guide_resources_dir,
)
from fhir_family.model import NATIONAL_RETURN_BUNDLE
from fhir_family.outcome import Issue, IssueSeverity, IssueType, has_errors, operation_outcome

from .http import (
    FHIR_JSON_TYPES,
    body_text,
    fhir_response,
    parse_json_body,
    require_media_type,
    response_media_type,
)

blueprint = Blueprint("fhir", __name__)

JSON_TYPES = FHIR_JSON_TYPES
VALIDATE_DEFINITION = "http://hl7.org/fhir/OperationDefinition/Resource-validate"
_TYPES = "any(" + ", ".join(CONFORMANCE_TYPES) + ")"
#: where ``store()`` keeps the app's DefinitionStore
STORE = "fhir_family.conformance"


def store() -> DefinitionStore:
    """The app's conformance resources: the validator's ``DefinitionStore`` over the app's ``GUIDE_DIR`` (or
    the installed guide) and R4 core, made on first use so the app starts without reading either."""
    found = current_app.extensions.get(STORE)
    if found is None:
        guide_dir = current_app.config.get("GUIDE_DIR")
        guide = Path(guide_dir) if guide_dir else require_guide_resources_dir()
        found = current_app.extensions[STORE] = DefinitionStore(core_package_dir(), [guide])
    return found


def _bad_request(text: str, expression: str | None = None) -> InputError:
    return InputError(
        text,
        [
            Issue(
                severity=IssueSeverity.ERROR,
                code=IssueType.INVALID,
                diagnostics=text,
                expression=expression,
                message_id=msg.VALIDATE_REQUEST,
            )
        ],
    )


def _resource_and_profile(body: Any) -> tuple[dict[str, Any], str | None]:
    """Unwrap a $validate request: the resource and the profile asked for (query ``profile`` or a part)."""
    if not isinstance(body, dict) or not isinstance(body.get("resourceType"), str):
        raise _bad_request("Request body must be a FHIR resource (a JSON object with a resourceType)")
    profile = request.args.get("profile")
    if body["resourceType"] != "Parameters":
        return body, profile
    resource = None
    parts = body.get("parameter", [])
    if not isinstance(parts, list):
        raise _bad_request("Parameters.parameter must be an array", "Parameters.parameter")
    for index, part in enumerate(parts):
        if not isinstance(part, dict):
            raise _bad_request("Each parameter must be an object", f"Parameters.parameter[{index}]")
        if part.get("name") == "resource":
            resource = part.get("resource")
        elif part.get("name") == "profile":
            profile = part.get("valueUri") or part.get("valueCanonical") or profile
    if not isinstance(resource, dict):
        raise _bad_request(
            "Parameters has no 'resource' part holding the resource to validate", "Parameters.parameter"
        )
    return resource, profile


def _validate(expected_type: str | None) -> Response:
    require_media_type(JSON_TYPES)
    response_media_type()
    text = body_text()
    body = parse_json_body(text)
    resource, profile = _resource_and_profile(body)
    if expected_type and resource.get("resourceType") != expected_type:
        text = f"{expected_type}/$validate takes a {expected_type}, not a {resource.get('resourceType')!r}"
        raise _bad_request(text, "resourceType")
    if expected_type == "Bundle" and profile is None and not resource.get("meta", {}).get("profile"):
        profile = NATIONAL_RETURN_BUNDLE  # the only Bundle this service knows: judge it as a national return
    validator = current_app.extensions["fhir_family.pipeline"].validator
    outcome = operation_outcome(validator.issues(resource, profile))
    if resource is body:  # the resource is the whole body, so its issues can be placed at a line and column
        outcome = add_locations(outcome, text)
    return fhir_response(outcome, 422 if has_errors(outcome) else 200)


@blueprint.post("/$validate")
def validate_any() -> Response:
    """Validate any resource against R4 and the guide (its meta.profile, or ``profile``)."""
    return _validate(None)


@blueprint.post("/Bundle/$validate")
def validate_bundle() -> Response:
    """Validate a Bundle; with no profile named, as a NationalReturnBundle."""
    return _validate("Bundle")


@blueprint.get(f"/<{_TYPES}:resource_type>/<resource_id>")
def read_conformance(resource_type: str, resource_id: str) -> Response:
    resource = store().read(resource_type, resource_id)
    if resource is None:
        text = f"{resource_type}/{resource_id} is not known (neither the guide nor FHIR R4 core has it)"
        issue = Issue(
            severity=IssueSeverity.ERROR,
            code=IssueType.NOT_FOUND,
            diagnostics=text,
            message_id=msg.http_status(404),
        )
        return fhir_response(operation_outcome([issue]), 404)
    return fhir_response(resource)


@blueprint.get(f"/<{_TYPES}:resource_type>")
def search_conformance(resource_type: str) -> Response:
    """Search by ``url`` (canonical, ``|version`` allowed) and ``version``; with neither, the guide's own."""
    url = request.args.get("url")
    if url:
        version = request.args.get("version")
        resource = store().get(f"{url}|{version}" if version and "|" not in url else url)
        found = [resource] if resource is not None and resource.get("resourceType") == resource_type else []
    else:
        found = store().by_type(resource_type)
    base = request.url_root.rstrip("/")
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(found),
        "link": [{"relation": "self", "url": request.url}],
        "entry": [
            {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
            for r in found
        ],
    }
    if not found:
        del bundle["entry"]
    return fhir_response(bundle)


@blueprint.get("/metadata")
def metadata() -> Response:
    """The CapabilityStatement of this facade (http://hl7.org/fhir/R4/capabilitystatement.html)."""
    return fhir_response(capability_statement(request.url_root.rstrip("/")))


def capability_statement(base_url: str) -> dict[str, Any]:
    validate_op = {"name": "validate", "definition": VALIDATE_DEFINITION}
    conformance = [
        {
            "type": resource_type,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [
                {"name": "url", "type": "uri", "documentation": "Canonical url; `|version` allowed"},
                {"name": "version", "type": "token"},
            ],
        }
        for resource_type in CONFORMANCE_TYPES
    ]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "publisher": "fhir-family",
        "kind": "instance",
        "software": {"name": "fhir-family facade", "version": __version__},
        "implementation": {"description": "fhir-family EHR facade", "url": base_url or "http://localhost"},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "implementationGuide": [f"{CANONICAL}/ImplementationGuide/{PACKAGE_ID}"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "EHR input is mapped to NationalReturnBundles by POST /ehr/json (payload contract v2), "
                    "POST /ehr/hl7v2 (ADT A04/A08/A28/A31) and POST /ehr/batch (CSV or NDJSON); "
                    "the OpenAPI document is at /openapi.json."
                ),
                "resource": [
                    {"type": "Bundle", "profile": NATIONAL_RETURN_BUNDLE, "operation": [validate_op]},
                    *conformance,
                ],
                "operation": [validate_op],
            }
        ],
    }
