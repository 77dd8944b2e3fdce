"""Snapshots for a package that ships differentials only, generated when it is installed.

Some packages (the local UK Core build in the shared mirror, any package built by SUSHI alone) carry
StructureDefinitions with a differential and no snapshot. SUSHI refuses such a parent ("Snapshot is required
for import") and other tools expect snapshots, so the install writes them, with the same generator the
validator uses (``conformance.snapshot``, whose output the tests show equal to HL7's own for R4 core's
profiles). The package's dependencies must already be in the cache.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import FhirFamilyError
from .package_cache import CORE_NAME, dependencies_of, package_folder

__all__ = ["SnapshotInstallError", "add_snapshots"]


class SnapshotInstallError(FhirFamilyError):
    """A differential-only profile of a package could not be given a snapshot."""


def _needs_snapshot(resource: Any) -> bool:
    return (
        isinstance(resource, dict)
        and resource.get("resourceType") == "StructureDefinition"
        and not (resource.get("snapshot") or {}).get("element")
        and bool((resource.get("differential") or {}).get("element"))
    )


def _with_snapshot(resource: dict[str, Any], elements: list[dict[str, Any]]) -> dict[str, Any]:
    """The resource with ``snapshot`` placed just before ``differential`` (where the IG publisher puts it)."""
    result: dict[str, Any] = {}
    for key, value in resource.items():
        if key == "differential":
            result["snapshot"] = {"element": elements}
        result[key] = value
    return result


def package_json_files(folder: Path) -> Iterator[tuple[Path, Any]]:
    """``(path, parsed JSON)`` of each resource file of an unpacked package folder, by name; ``package.json``,
    ``.index.json`` and files that are not JSON are passed over (the validator reports those when read)."""
    for path in sorted(folder.glob("*.json")):
        if path.name in ("package.json", ".index.json"):
            continue
        try:
            yield path, json.loads(path.read_bytes())
        except ValueError:
            continue


def add_snapshots(package: Path) -> int:
    """Write a snapshot into every StructureDefinition of ``package`` (an unpacked ``package/`` folder) that
    has only a differential; returns how many were written. R4 core and the package's other dependencies are
    read from the cache."""
    from .compiler import Compiler
    from .packages import DefinitionStore

    pending: dict[Path, dict[str, Any]] = {}
    for path, resource in package_json_files(package):
        if _needs_snapshot(resource):
            pending[path] = resource
    if not pending:
        return 0
    try:
        others = [p.folder for p in dependencies_of(package)]
    except FhirFamilyError as exc:
        raise SnapshotInstallError(f"cannot generate snapshots: {exc}") from exc
    compiler = Compiler(DefinitionStore(package_folder(CORE_NAME, "4.0.1"), [*others, package]))
    failed: list[str] = []
    for path, resource in pending.items():
        try:
            elements = compiler.snapshot(str(resource.get("url")))
        except (FhirFamilyError, ValueError) as exc:  # DefinitionError is a ValueError
            failed.append(f"{path.name} ({exc})")
            continue
        if not elements:
            failed.append(f"{path.name} (its base definition is not available)")
            continue
        path.write_text(json.dumps(_with_snapshot(resource, elements), ensure_ascii=False), encoding="utf-8")
    if failed:
        listed = "; ".join(failed[:5])
        raise SnapshotInstallError(f"{len(failed)} of {len(pending)} profiles got no snapshot: {listed}")
    return len(pending)
