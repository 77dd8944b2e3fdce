"""Resources of a national-return Bundle as a FHIR server would store them: each with an ``id``, references
between entries made ``Type/id``. Views key rows on ids (``getResourceKey()``, ``getReferenceKey()``), so a
Bundle read straight from a file gives the same rows as the collector's export of it.

The return's own facts sit on ``Bundle.meta`` (guide 0.2: reporting period, legal basis); a flat view is of
one resource, so each return's Patient carries them on its ``meta.extension``, as the collector's export
writes them (``collector/export.py``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from typing import Any

_URN_UUID = "urn:uuid:"
RETURN_EXTENSIONS = (
    "https://fhir-family.uk/fhir/StructureDefinition/reporting-period",
    "https://fhir-family.uk/fhir/StructureDefinition/legal-basis",
)
"""The Bundle.meta extensions that are facts of the return, copied to its Patient's ``meta.extension``."""


def stamp_return(patient: dict[str, Any], extensions: list[dict[str, Any]]) -> None:
    """Put the return's ``extensions`` on ``patient.meta.extension`` (replacing any of the same url)."""
    if not extensions:
        return
    meta = patient.setdefault("meta", {})
    urls = {ext.get("url") for ext in extensions}
    meta["extension"] = [e for e in meta.get("extension") or [] if e.get("url") not in urls] + extensions


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
    and internal references resolved."""
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
    meta = bundle.get("meta") if isinstance(bundle.get("meta"), dict) else {}
    facts = [copy.deepcopy(e) for e in meta.get("extension") or [] if isinstance(e, dict)
             and e.get("url") in RETURN_EXTENSIONS]
    for resource in resources:
        _rewrite(resource, ids)
        if resource.get("resourceType") == "Patient":
            stamp_return(resource, facts)
    return resources


def resources_of(bundles: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for bundle in bundles:
        yield from bundle_resources(bundle)
