"""Where the validator finds FHIR conformance resources: the genuine R4 core package plus the guide's own.

The core package holds 4,578 resources; reading them all would cost seconds at start-up, so the store reads
the package's ``.index.json`` (url -> file name) and parses a file only when something asks for its url, then
keeps it. Guide sources are small and loaded whole: a folder of JSON resources (SUSHI's output), an unpacked
FHIR NPM package (``package/`` with ``.index.json``) or a packed ``.tgz``. A guide resource wins over a core
resource with the same url, so a guide can be tested against a patched copy of a core definition.

Resources handed out are shared between callers (that is what makes the cache work): treat them as read-only.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..errors import FhirFamilyError
from ..guide import INSTALL_CORE_COMMAND, core_package_dir, guide_sources

CORE_CANONICAL = "http://hl7.org/fhir"
STRUCTURE_DEFINITION_BASE = f"{CORE_CANONICAL}/StructureDefinition/"
#: The resource types a FHIR server serves as its conformance resources (the facade's read and search).
CONFORMANCE_TYPES = ("StructureDefinition", "ValueSet", "CodeSystem", "ConceptMap", "ImplementationGuide")
FETCH_HINT = f"run `{INSTALL_CORE_COMMAND}` to install it"

Resource = dict[str, Any]
#: (FHIR XML bytes, where they came from) -> the resource as FHIR JSON
XmlReader = Callable[[bytes, str], Resource]


class PackageError(FhirFamilyError):
    """A definitions package is missing or unreadable: a set-up problem, not the caller's input."""

    http_status = 500


def split_canonical(url: str) -> tuple[str, str | None]:
    """``"http://x/ValueSet/a|1.0"`` -> ``("http://x/ValueSet/a", "1.0")``; no ``|`` gives version None."""
    base, sep, version = url.partition("|")
    return base, (version or None) if sep else None


class _CorePackage:
    """The core package read lazily through its ``.index.json``."""

    def __init__(self, folder: Path) -> None:
        index_path = folder / ".index.json"
        if not folder.is_dir():
            raise PackageError(f"FHIR R4 core package not found at {folder}: {FETCH_HINT}")
        if not index_path.is_file():
            raise PackageError(f"FHIR R4 core package at {folder} has no .index.json: {FETCH_HINT}")
        try:
            index = json.loads(index_path.read_bytes())
        except (OSError, ValueError) as exc:
            message = f"FHIR R4 core package index {index_path} is unreadable ({exc}): {FETCH_HINT}"
            raise PackageError(message) from exc
        self.folder = folder
        #: url -> index entry (filename, resourceType, id, version ...)
        self.entries: dict[str, dict[str, Any]] = {
            entry["url"]: entry for entry in index.get("files", []) if entry.get("url")
        }
        self._loaded: dict[str, Resource] = {}

    def get(self, url: str) -> Resource | None:
        resource = self._loaded.get(url)
        if resource is not None:
            return resource
        entry = self.entries.get(url)
        if entry is None:
            return None
        path = self.folder / entry["filename"]
        try:
            resource = json.loads(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise PackageError(f"core package file {path} is unreadable ({exc}): {FETCH_HINT}") from exc
        self._loaded[url] = resource
        return resource

    @property
    def files_read(self) -> int:
        """How many package files have been parsed so far (the lazy loading is observable in tests)."""
        return len(self._loaded)


def _is_resource(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("resourceType"), str)


def _parse_json(raw: bytes, origin: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise PackageError(f"guide file {origin} is not valid JSON ({exc})") from exc


def _no_xml(raw: bytes, origin: str) -> Resource:
    raise PackageError(f"guide file {origin} is XML, which this reader does not take")


def _read_folder(folder: Path, xml: XmlReader = _no_xml) -> list[Resource]:
    """Every resource in a folder of JSON (or FHIR XML) files, or in the ``package/`` folder of an unpacked
    NPM package."""
    if (folder / "package").is_dir() and not list(folder.glob("*.json")) and not list(folder.glob("*.xml")):
        folder = folder / "package"
    resources = []
    for path in sorted([*folder.glob("*.json"), *folder.glob("*.xml")]):
        if path.name in ("package.json", ".index.json"):
            continue
        if path.suffix == ".xml":
            resources.append(xml(path.read_bytes(), str(path)))
            continue
        value = _parse_json(path.read_bytes(), str(path))
        if _is_resource(value):
            resources.append(value)
    return resources


def _read_tgz(path: Path) -> list[Resource]:
    """Every resource at the top level of ``package/`` in a FHIR NPM package tarball (examples excluded)."""
    resources = []
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in sorted(archive.getmembers(), key=lambda m: m.name):
                name = member.name.removeprefix("./")
                folder, _, filename = name.rpartition("/")
                if not member.isfile() or folder != "package" or not filename.endswith(".json"):
                    continue
                if filename in ("package.json", ".index.json"):
                    continue
                handle = archive.extractfile(member)
                if handle is None:
                    continue
                value = _parse_json(handle.read(), f"{path}!{name}")
                if _is_resource(value):
                    resources.append(value)
    except (tarfile.TarError, OSError, EOFError) as exc:
        reason = " ".join(str(exc).split())  # tarfile lists one line per method it tried
        raise PackageError(f"guide package {path} is not a readable .tgz ({reason})") from exc
    return resources


def read_guide_source(source: Path, xml: XmlReader = _no_xml) -> list[Resource]:
    """The resources of one guide source: a folder, an unpacked package, a ``.tgz``, one JSON or XML file."""
    if source.is_dir():
        return _read_folder(source, xml)
    if source.is_file() and source.suffix == ".xml":
        return [xml(source.read_bytes(), str(source))]
    if source.is_file() and source.suffix == ".json":
        value = _parse_json(source.read_bytes(), str(source))
        return [value] if _is_resource(value) else []
    if source.is_file():
        return _read_tgz(source)
    raise PackageError(f"guide source {source} does not exist")


class DefinitionStore:
    """Looks up conformance resources by canonical url across the core package and the guide sources."""

    def __init__(self, core: Path, guides: Iterable[Path] = ()) -> None:
        self._core = _CorePackage(Path(core))
        self._guide: list[Resource] = []
        self._guide_by_url: dict[str, Resource] = {}
        self._xml_converter: Any = None
        for source in guides:
            for resource in read_guide_source(Path(source), self._read_xml):
                self._guide.append(resource)
                url = resource.get("url")
                if isinstance(url, str):
                    self._guide_by_url[url] = resource

    def _read_xml(self, raw: bytes, origin: str) -> Resource:
        """A conformance resource in FHIR XML, converted by R4 core's definitions."""
        from ..errors import InputError
        from .xml_format import XmlConverter

        if self._xml_converter is None:
            self._xml_converter = XmlConverter(lambda name: self._core.get(STRUCTURE_DEFINITION_BASE + name))
        try:
            return self._xml_converter.parse(raw, origin)
        except InputError as exc:
            raise PackageError(f"guide file {exc}") from exc

    @classmethod
    def default(cls) -> DefinitionStore:
        """Core and UK Core from the FHIR package cache plus this project's guide; any missing is an error
        saying why.

        A missing guide is never dropped in silence: without it every profile would go unchecked.
        """
        core = core_package_dir()
        if not (core / ".index.json").is_file():  # say R4 core is missing before naming UK Core
            _CorePackage(core)
        return cls(core, guide_sources())

    @property
    def core_folder(self) -> Path:
        return self._core.folder

    @property
    def core_files_read(self) -> int:
        """How many core package files have been parsed so far."""
        return self._core.files_read

    def get(self, url: str) -> Resource | None:
        """The resource with this canonical url (``url|version`` must match its version), or None."""
        base, version = split_canonical(url)
        resource = self._guide_by_url.get(base) or self._core.get(base)
        if resource is None:
            return None
        if version is not None and resource.get("version") not in (None, version):
            return None
        return resource

    def structure_definition(self, url_or_type_name: str) -> Resource | None:
        """A StructureDefinition by url, or by a core type name (``"Patient"``, ``"string"``)."""
        url = url_or_type_name
        if "/" not in url and ":" not in url:
            url = STRUCTURE_DEFINITION_BASE + url
        resource = self.get(url)
        if resource is None or resource.get("resourceType") != "StructureDefinition":
            return None
        return resource

    def guide_resources(self) -> list[Resource]:
        """Every resource of the guide sources, in load order (sources in the given order, files by name)."""
        return list(self._guide)

    def read(self, resource_type: str, resource_id: str) -> Resource | None:
        """The resource with this type and logical id (a FHIR read): the guide's first, then core's."""
        for resource in self._guide:
            if resource.get("resourceType") == resource_type and resource.get("id") == resource_id:
                return resource
        for url, entry in self._core.entries.items():
            if entry.get("resourceType") == resource_type and entry.get("id") == resource_id:
                return self._core.get(url)
        return None

    def by_type(self, resource_type: str) -> list[Resource]:
        """The guide's resources of one type (``"ValueSet"``, ``"StructureDefinition"`` ...)."""
        return [r for r in self._guide if r.get("resourceType") == resource_type]

    def canonical_urls(self, resource_type: str | None = None) -> list[str]:
        """Every url the store resolves (guide and core), optionally of one type, without loading."""
        urls = {u for u, r in self._guide_by_url.items() if resource_type in (None, r.get("resourceType"))}
        urls.update(
            url
            for url, entry in self._core.entries.items()
            if resource_type in (None, entry.get("resourceType"))
        )
        return sorted(urls)
