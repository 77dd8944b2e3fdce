"""Conformance resources the facade serves: the guide's own, then the R4 core package's, by id or canonical.

The guide's resources are loaded once (a few dozen files). The core package is looked up through its
``.index.json`` and a file is read only when asked for, so serving core definitions costs no start-up time.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Any

from fhir_family.guide import core_package_dir, load_guide_resources

CONFORMANCE_TYPES = ("StructureDefinition", "ValueSet", "CodeSystem", "ConceptMap", "ImplementationGuide")


class ConformanceStore:
    """Read-only lookup of conformance resources by (type, id) and by canonical url (``|version`` allowed)."""

    def __init__(self, guide_dir: Path | None = None, core_dir: Path | None = None) -> None:
        self._guide_dir = guide_dir
        self._core_dir = core_dir or core_package_dir()

    @cached_property
    def _guide(self) -> list[dict[str, Any]]:
        folder = self._guide_dir
        if folder is not None and not folder.is_dir():
            return []
        try:
            return [r for r in load_guide_resources(folder) if r.get("resourceType") in CONFORMANCE_TYPES]
        except FileNotFoundError:
            return []

    @cached_property
    def _core_index(self) -> list[dict[str, Any]]:
        index = self._core_dir / ".index.json"
        if not index.is_file():
            return []
        files = json.loads(index.read_text("utf-8")).get("files", [])
        return [entry for entry in files if entry.get("resourceType") in CONFORMANCE_TYPES]

    def _core_file(self, entry: dict[str, Any]) -> dict[str, Any]:
        return json.loads((self._core_dir / entry["filename"]).read_text("utf-8"))

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any] | None:
        for resource in self._guide:
            if resource["resourceType"] == resource_type and resource.get("id") == resource_id:
                return resource
        for entry in self._core_index:
            if entry["resourceType"] == resource_type and entry.get("id") == resource_id:
                return self._core_file(entry)
        return None

    def by_canonical(self, resource_type: str, url: str, version: str | None = None) -> list[dict[str, Any]]:
        """Resources of ``resource_type`` whose url (and version, when given or after ``|``) match."""
        if "|" in url and version is None:
            url, version = url.split("|", 1)
        found = [r for r in self._guide if r["resourceType"] == resource_type and r.get("url") == url
                 and (version is None or r.get("version") == version)]
        if found:
            return found
        return [self._core_file(entry) for entry in self._core_index
                if entry["resourceType"] == resource_type and entry.get("url") == url
                and (version is None or entry.get("version") == version)]

    def guide_resources(self) -> list[dict[str, Any]]:
        return list(self._guide)
