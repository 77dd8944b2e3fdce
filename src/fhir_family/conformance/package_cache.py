"""The FHIR package cache, laid out as every FHIR tool lays it out: ``<cache>/<name>#<version>/package/``.

The cache is ``~/.fhir/packages`` unless ``FHIR_PACKAGE_CACHE`` names another folder, so packages installed
by SUSHI, the HL7 validator or ``fhir-family packages install`` are shared. This module only reads the cache
(what is installed, a package's ``package.json``, a package and its dependencies); ``package_install`` writes
it.
"""

from __future__ import annotations

import json
import os
import re
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FhirFamilyError

__all__ = [
    "CORE_NAME",
    "InstalledPackage",
    "PackageSpecError",
    "cache_root",
    "installed_packages",
    "is_package_spec",
    "package_folder",
    "parse_spec",
    "read_manifest",
    "resolve_sources",
    "resolve_with_dependencies",
]

CORE_NAME = "hl7.fhir.r4.core"
_SPEC = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)#(?P<version>[A-Za-z0-9][A-Za-z0-9._+-]*)$")


class PackageSpecError(FhirFamilyError, ValueError):
    """A ``name#version`` that is malformed, or names a package that is not in the cache."""


@dataclass(frozen=True)
class InstalledPackage:
    """One package in the cache: its name, version, ``package/`` folder and declared dependencies."""

    name: str
    version: str
    folder: Path
    dependencies: dict[str, str] = field(default_factory=dict)

    @property
    def spec(self) -> str:
        return f"{self.name}#{self.version}"


def cache_root() -> Path:
    """The package cache folder (``FHIR_PACKAGE_CACHE`` or ``~/.fhir/packages``)."""
    override = os.environ.get("FHIR_PACKAGE_CACHE")
    return Path(override) if override else Path.home() / ".fhir" / "packages"


def package_folder(name: str, version: str) -> Path:
    """Where package ``name#version`` lives in the cache (whether or not it is installed)."""
    return cache_root() / f"{name}#{version}" / "package"


def is_package_spec(text: str) -> bool:
    """True for ``name#version`` (as opposed to a path)."""
    return _SPEC.match(text) is not None


def parse_spec(text: str) -> tuple[str, str]:
    """``"hl7.fhir.r4.core#4.0.1"`` -> ``("hl7.fhir.r4.core", "4.0.1")``; PackageSpecError otherwise."""
    match = _SPEC.match(text.strip())
    if match is None:
        raise PackageSpecError(f"{text!r} is not a package name#version (e.g. hl7.fhir.r4.core#4.0.1)")
    return match["name"], match["version"]


def _manifest_from_json(raw: bytes, origin: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise PackageSpecError(f"{origin} is not valid JSON ({exc})") from exc
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        raise PackageSpecError(f"{origin} has no package name")
    return value


def read_manifest(source: Path) -> dict[str, Any] | None:
    """The ``package.json`` of a package folder (``package/`` or its parent) or ``.tgz``; None if it has none.

    A folder of loose JSON resources (SUSHI's output) has no manifest, and that is not an error.
    """
    if source.is_dir():
        for candidate in (source / "package.json", source / "package" / "package.json"):
            if candidate.is_file():
                return _manifest_from_json(candidate.read_bytes(), str(candidate))
        return None
    if source.is_file() and source.suffix != ".json":
        try:
            with tarfile.open(source, "r:*") as archive:
                for member in archive:
                    if member.name.removeprefix("./") == "package/package.json" and member.isfile():
                        handle = archive.extractfile(member)
                        raw = handle.read() if handle is not None else b""
                        return _manifest_from_json(raw, f"{source}!package/package.json")
        except (tarfile.TarError, OSError, EOFError) as exc:
            reason = " ".join(str(exc).split())
            raise PackageSpecError(f"{source} is not a readable FHIR package .tgz ({reason})") from exc
    return None


def _dependencies(manifest: dict[str, Any] | None) -> dict[str, str]:
    deps = (manifest or {}).get("dependencies")
    return {str(k): str(v) for k, v in deps.items()} if isinstance(deps, dict) else {}


def installed_packages() -> list[InstalledPackage]:
    """Every package in the cache that has a ``package/package.json``, sorted by name and version."""
    root = cache_root()
    found = []
    for folder in sorted(root.glob("*#*/package")) if root.is_dir() else []:
        try:
            manifest = read_manifest(folder)
        except PackageSpecError:
            manifest = None
        name, _, version = folder.parent.name.partition("#")
        found.append(InstalledPackage(name, version, folder, _dependencies(manifest)))
    return found


def installed(name: str, version: str) -> InstalledPackage | None:
    """Package ``name#version`` from the cache, or None when it is not installed."""
    folder = package_folder(name, version)
    if not (folder / "package.json").is_file():
        return None
    return InstalledPackage(name, version, folder, _dependencies(read_manifest(folder)))


def _install_hint(spec: str) -> str:
    return f"run `fhir-family packages install {spec}` (add --mirror DIR without the registry)"


def resolve_with_dependencies(
    spec: str,
    include_core: bool = False,
    provided: frozenset[str] = frozenset(),
    needed_by: str | None = None,
) -> list[InstalledPackage]:
    """Package ``spec`` and, recursively, the dependencies its ``package.json`` declares, from the cache.

    Dependencies come first (a package's own resources then win over theirs); R4 core is left out unless
    ``include_core``, as the validator always reads it separately, and so are the package names in
    ``provided`` (loaded some other way: this project's built-in guide). A package or dependency missing from
    the cache is a PackageSpecError naming the install command.
    """
    order: list[InstalledPackage] = []
    seen: set[str] = set()

    def visit(spec_: str, needed_by: str | None) -> None:
        if spec_ in seen:
            return
        seen.add(spec_)
        name, version = parse_spec(spec_)
        if (name == CORE_NAME and not include_core) or name in provided:
            return
        package = installed(name, version)
        if package is None:
            why = f" (a dependency of {needed_by})" if needed_by else ""
            raise PackageSpecError(
                f"package {spec_}{why} is not in the cache {cache_root()}: {_install_hint(spec_)}"
            )
        for dep_name, dep_version in sorted(package.dependencies.items()):
            visit(f"{dep_name}#{dep_version}", spec_)
        order.append(package)

    visit(spec, needed_by)
    return order


def _implementation_guides(source: Path) -> list[Any]:
    """The JSON ImplementationGuides of a folder (or its ``package/``), or of a ``.tgz``'s ``package/``."""
    raw: list[bytes] = []
    if source.is_dir():
        folder = source / "package" if (source / "package").is_dir() else source
        raw = [path.read_bytes() for path in sorted(folder.glob("ImplementationGuide*.json"))]
    elif source.suffix == ".tgz":
        try:
            with tarfile.open(source, "r:*") as archive:
                for member in archive.getmembers():
                    folder, _, name = member.name.removeprefix("./").rpartition("/")
                    handle = archive.extractfile(member) if member.isfile() else None
                    if folder == "package" and name.startswith("ImplementationGuide") and handle is not None:
                        raw.append(handle.read())
        except (tarfile.TarError, OSError, EOFError):
            return []
    guides = []
    for data in raw:
        try:
            guides.append(json.loads(data))
        except ValueError:
            continue
    return guides


def _guide_depends_on(source: Path) -> dict[str, str]:
    """Without a package.json (a folder of SUSHI output, a bare tarball), the dependencies are those its
    ImplementationGuide resources declare in ``dependsOn`` (packageId and version)."""
    found: dict[str, str] = {}
    for guide in _implementation_guides(source):
        if not isinstance(guide, dict) or guide.get("resourceType") != "ImplementationGuide":
            continue
        for depends in guide.get("dependsOn") or []:
            if isinstance(depends, dict) and depends.get("packageId") and depends.get("version"):
                found[str(depends["packageId"])] = str(depends["version"])
    return found


def dependencies_of(
    source: Path, include_core: bool = False, provided: frozenset[str] = frozenset()
) -> list[InstalledPackage]:
    """The installed dependencies (recursively) that a package folder or ``.tgz`` declares, from the cache."""
    order: list[InstalledPackage] = []
    manifest = read_manifest(source)
    needed_by = f"{manifest.get('name')}#{manifest.get('version')} ({source})" if manifest else str(source)
    declared = _dependencies(manifest) if manifest is not None else _guide_depends_on(source)
    for dep_name, dep_version in sorted(declared.items()):
        spec = f"{dep_name}#{dep_version}"
        for package in resolve_with_dependencies(spec, include_core, provided, needed_by):
            if package not in order:
                order.append(package)
    return order


def resolve_sources(sources: Iterable[str | Path], provided: frozenset[str] = frozenset()) -> list[Path]:
    """Guide sources in load order: each source's cached dependencies, then the source itself.

    A source is ``name#version`` (from the cache) or a path (package folder, ``.tgz``, folder of JSON or one
    JSON file). R4 core is never listed: the validator reads it separately; nor are dependencies named in
    ``provided`` (a derived guide's dependency on the built-in guide). A path that does not exist and is not
    ``name#version`` is a PackageSpecError.
    """
    order: list[Path] = []

    def add(path: Path) -> None:
        if path not in order:
            order.append(path)

    for source in sources:
        text = str(source)
        path = Path(source)
        if not path.exists() and is_package_spec(text):
            for package in resolve_with_dependencies(text, provided=provided):
                add(package.folder)
            continue
        if not path.exists():
            raise PackageSpecError(f"guide {text}: no such file or folder, and not a package name#version")
        for package in dependencies_of(path, provided=provided):
            add(package.folder)
        add(path)
    return order
