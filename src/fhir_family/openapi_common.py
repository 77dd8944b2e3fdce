"""The pieces both servers' OpenAPI 3.1 documents share: the FHIR resource schemas every answer uses and the
helpers that describe an answer. Each app's ``openapi.py`` lists its own paths."""

from __future__ import annotations

from typing import Any

FHIR_JSON = "application/fhir+json"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def fhir(name: str, description: str) -> dict[str, Any]:
    """A response carrying one FHIR resource of schema ``name``."""
    return {"description": description, "content": {FHIR_JSON: {"schema": ref(name)}}}


def query(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema or {"type": "string"}}


def fhir_schemas() -> dict[str, Any]:
    """Resource (anything with a resourceType), Bundle and OperationOutcome (with at least one issue)."""
    resource = {"type": "object", "required": ["resourceType"],
                "properties": {"resourceType": {"type": "string"}}}
    issue = {"type": "object", "required": ["severity", "code"], "properties": {
        "severity": {"enum": ["fatal", "error", "warning", "information"]},
        "code": {"type": "string"},
        "diagnostics": {"type": "string"},
        "expression": {"type": "array", "items": {"type": "string"}},
        "location": {"type": "array", "items": {"type": "string"}},
    }}
    return {
        "Resource": resource,
        "Bundle": {"allOf": [resource, {"properties": {"resourceType": {"const": "Bundle"}}}]},
        "OperationOutcome": {"type": "object", "required": ["resourceType", "issue"], "properties": {
            "resourceType": {"const": "OperationOutcome"},
            "issue": {"type": "array", "minItems": 1, "items": issue}}},
    }
