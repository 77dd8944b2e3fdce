"""The pieces both servers' OpenAPI 3.1 documents share: the FHIR resource schemas every answer uses and the
helpers that describe an answer. Each app's ``openapi.py`` lists its own paths."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fhir_family import __version__

FHIR_JSON = "application/fhir+json"


def document(
    *,
    title: str,
    description: str,
    paths: dict[str, Any],
    blueprints: Iterable[Any],
    schemas: dict[str, Any],
    security: dict[str, Any],
    base_url: str = "",
) -> dict[str, Any]:
    """An OpenAPI 3.1 document: the app's own ``paths`` and those each registered blueprint lists in its
    ``openapi_paths`` attribute (a route is documented beside its code), with the app's schemas and
    security schemes."""
    merged = dict(paths)
    for blueprint in blueprints:
        merged.update(getattr(blueprint, "openapi_paths", {}) or {})
    found: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": __version__, "description": description},
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "paths": merged,
        "components": {"schemas": schemas, "securitySchemes": security},
    }
    if base_url:
        found["servers"] = [{"url": base_url}]
    return found


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
