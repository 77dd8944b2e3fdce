"""Resources of a national-return Bundle as a FHIR server would store them: each with an ``id``, references
between entries made ``Type/id``. Views key rows on ids (``getResourceKey()``, ``getReferenceKey()``), so a
Bundle read straight from a file gives the same rows as the collector's export of it.

The return's own facts sit on ``Bundle.meta`` (guide 0.2: reporting period, legal basis), and a flat view is
of one resource, so a return is also given as a **return Bundle** (``return_bundle``): a ``collection`` Bundle
with those ``Bundle.meta`` extensions, the submission id, and the return's Patient as its one entry (no
timestamp: DuckDB would type it on the way to Parquet and give back another text). The ``return_bundle``
view reads the period and legal basis from it and joins to ``national_return`` on the Patient's id. The
collector's export writes the same Bundles (``Bundle.ndjson``).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

_URN_UUID = "urn:uuid:"
RETURN_EXTENSIONS = (
    "https://fhir-family.uk/fhir/StructureDefinition/reporting-period",
    "https://fhir-family.uk/fhir/StructureDefinition/legal-basis",
)
"""The Bundle.meta extensions that are facts of the return (not of the person)."""


def return_bundle(
    extensions: list[dict[str, Any]], identifier: Any, patient: dict[str, Any]
) -> dict[str, Any]:
    """A return as a ``collection`` Bundle holding its Patient: the return's ``Bundle.meta`` facts
    (``extensions``) beside the person, where an R4 extension on ``Bundle.meta`` may sit. Its id is derived
    from the Patient's, so the same return always gives the same Bundle."""
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"return-bundle|{patient.get('id')}")),
    }
    if extensions:
        bundle["meta"] = {"extension": extensions}
    if isinstance(identifier, dict):
        bundle["identifier"] = identifier
    bundle["type"] = "collection"
    bundle["entry"] = [{"fullUrl": f"{_URN_UUID}{patient.get('id')}", "resource": patient}]
    return bundle


def _rewrite(node: Any, ids: dict[str, str]) -> None:
    if isinstance(node, dict):
        reference = node.get("reference")
        if isinstance(reference, str) and reference in ids:
            node["reference"] = ids[reference]
        for value in node.values():
            _rewrite(value, ids)
    elif isinstance(node, list):
        for item in node:
            _rewrite(item, ids)


def bundle_resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """Copies of the entries' resources with ids from their ``urn:uuid`` fullUrls (an id already present wins)
    and internal references resolved; then, for a return (one Patient), its ``return_bundle``."""
    entries = [
        e for e in bundle.get("entry") or [] if isinstance(e, dict) and isinstance(e.get("resource"), dict)
    ]
    ids: dict[str, str] = {}
    resources = []
    for entry in entries:
        resource = copy.deepcopy(entry["resource"])
        full_url = entry.get("fullUrl")
        if "id" not in resource and isinstance(full_url, str) and full_url.startswith(_URN_UUID):
            resource["id"] = full_url[len(_URN_UUID) :]
        if isinstance(full_url, str) and "id" in resource:
            ids[full_url] = f"{resource.get('resourceType')}/{resource['id']}"
        resources.append(resource)
    for resource in resources:
        _rewrite(resource, ids)
    patients = [r for r in resources if r.get("resourceType") == "Patient" and isinstance(r.get("id"), str)]
    if len(patients) == 1:
        meta = bundle.get("meta") if isinstance(bundle.get("meta"), dict) else {}
        facts = [
            copy.deepcopy(e)
            for e in meta.get("extension") or []
            if isinstance(e, dict) and e.get("url") in RETURN_EXTENSIONS
        ]
        resources.append(
            return_bundle(facts, copy.deepcopy(bundle.get("identifier")), copy.deepcopy(patients[0]))
        )
    return resources


def resources_of(bundles: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for bundle in bundles:
        yield from bundle_resources(bundle)
