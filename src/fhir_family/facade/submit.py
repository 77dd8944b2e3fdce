"""``POST /submit``: map and validate exactly as ``/ehr/json`` and ``/ehr/hl7v2`` do, then forward the
national return to the configured collector and answer with the collector's own answer.

Accepts a national-return Bundle (validated as it is), a JSON EHR payload, or an HL7 v2 ADT message
(``x-application/hl7-v2+er7`` or ``application/hl7-v2``; ``text/plain`` and form types are 415, as a browser
sends them cross-site without a preflight). It needs a feed's bearer token (``auth.py``; 401 without) and
forwards only returns of the ODS codes that feed submits for (403). The facade never forwards a bundle that
fails validation. Config: ``COLLECTOR_URL`` (the collector's FHIR base),
``COLLECTOR_TOKEN`` (default ``$FHIR_FAMILY_TOKEN``), ``COLLECTOR_RETRIES``, ``COLLECTOR_TIMEOUT`` ((connect,
read) seconds), ``COLLECTOR_CA_BUNDLE`` (a CA file for a private CA; TLS verification is never off).
``COLLECTOR_TRANSPORT = "mesh"`` (or ``$FHIR_FAMILY_COLLECTOR_TRANSPORT``) forwards by MESH instead, with the
``FHIR_FAMILY_MESH_*`` settings or a ``MESH`` config dict, and answers 202 once MESH has the message
(docs/mesh.md).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from flask import Blueprint, Response, current_app

from fhir_family import messages as msg
from fhir_family.collector.client import CollectorClient
from fhir_family.errors import FhirFamilyError
from fhir_family.jsontext import json_bundle
from fhir_family.mapping.factory import get_parser
from fhir_family.mapping.hl7v2 import Hl7v2Parser
from fhir_family.mapping.payload import JsonPayloadParser
from fhir_family.mapping.pipeline import MappingPipeline
from fhir_family.outcome import Issue, IssueSeverity, IssueType
from fhir_family.request_budget import check_hl7_segments

from .auth import require_feed, require_ods
from .http import body_text, fhir_response, require_media_type, response_media_type

if TYPE_CHECKING:
    from fhir_family.mesh import MeshForwarder

blueprint = Blueprint("submit", __name__)

JSON_TYPES = JsonPayloadParser.media_types
HL7_TYPES = tuple(media_type for media_type in Hl7v2Parser.media_types if media_type != "text/plain")
"""HL7 v2 without ``text/plain``: a web page can POST text/plain cross-site with no preflight (415 here)."""
_CLIENT_KEY = "fhir_family.forwarder"
TRANSPORT_ENV = "FHIR_FAMILY_COLLECTOR_TRANSPORT"


class CollectorNotConfiguredError(FhirFamilyError):
    """The facade has no collector to forward to: HTTP 503."""

    http_status = 503
    message_id = msg.FORWARD_NO_COLLECTOR


def _pipeline() -> MappingPipeline:
    return current_app.extensions["fhir_family.pipeline"]


def _client() -> CollectorClient | MeshForwarder:
    client = current_app.extensions.get(_CLIENT_KEY)
    transport = current_app.config.get("COLLECTOR_TRANSPORT") or os.environ.get(TRANSPORT_ENV)
    if client is None and transport == "mesh":
        from fhir_family.mesh import MeshForwarder, MeshSettings

        client = MeshForwarder(MeshSettings.from_env(current_app.config.get("MESH")))
        current_app.extensions[_CLIENT_KEY] = client
    if client is None:
        url = current_app.config.get("COLLECTOR_URL")
        if not url:
            text = "This facade has no collector configured (COLLECTOR_URL), so it cannot forward returns"
            issue = Issue(
                severity=IssueSeverity.ERROR,
                code=IssueType.NOT_SUPPORTED,
                diagnostics=text,
                expression=None,
                message_id=msg.FORWARD_NO_COLLECTOR,
            )
            raise CollectorNotConfiguredError(text, [issue])
        client = CollectorClient(
            url,
            current_app.config.get("COLLECTOR_TOKEN"),
            retries=int(current_app.config.get("COLLECTOR_RETRIES", 4)),
            timeout=tuple(current_app.config.get("COLLECTOR_TIMEOUT", (5.0, 60.0))),
            verify=current_app.config.get("COLLECTOR_CA_BUNDLE") or True,
        )
        current_app.extensions[_CLIENT_KEY] = client
    return client


@blueprint.post("/submit")
def submit() -> Response:
    feed = require_feed()
    media_type = require_media_type(JSON_TYPES + HL7_TYPES)
    response_media_type()  # refuse an unacceptable Accept before doing the work
    pipeline = _pipeline()
    if media_type in JSON_TYPES:
        text = body_text()
        bundle = json_bundle(text)
        mapped = pipeline.validate_bundle(bundle) if bundle else pipeline.map_text(get_parser("json"), text)
    else:
        text = body_text(fallback_encoding="iso-8859-1")
        check_hl7_segments(text)
        mapped = pipeline.map_text(get_parser("hl7v2"), text)
    if mapped.bundle is None:
        return fhir_response(mapped.outcome, mapped.status)
    require_ods(feed, mapped.bundle)
    answer = _client().submit(mapped.bundle)
    headers = {"X-Collector-Status": str(answer.status)}
    submission_id = mapped.bundle.get("identifier", {}).get("value")
    if submission_id:
        headers["X-Submission-Id"] = submission_id
    if answer.status in (401, 403) and answer.body and answer.body.get("resourceType") == "OperationOutcome":
        # The collector refused the facade's own credentials: the caller cannot fix that, the operator can.
        text = f"The collector refused this facade's token (HTTP {answer.status}); check COLLECTOR_TOKEN"
        issue = Issue(
            severity=IssueSeverity.ERROR,
            code=IssueType.EXCEPTION,
            diagnostics=text,
            expression=None,
            message_id=msg.FORWARD_REFUSED,
        )
        issues = [issue.to_fhir(), *answer.body.get("issue", [])]
        return fhir_response({"resourceType": "OperationOutcome", "issue": issues}, 502, headers)
    return fhir_response(answer.resource, answer.status, headers)
