"""The guide as a FHIR NPM package: ``package/package.json``, every conformance resource, the valid examples.

EHR vendors load this tarball into their own tooling (HAPI, Firely, the HL7 validator), so it follows the FHIR
package layout (https://confluence.hl7.org/display/FHIR/NPM+Package+Specification): resources one per file
as ``{resourceType}-{id}.json`` under ``package/``, examples under ``package/examples/``, and a
``.index.json`` in each folder so tools find a resource by url without parsing every file.

The tarball is reproducible: the same sources give the same bytes (sorted entries, fixed mtime/owner/mode, a
gzip header with no file name and mtime 0), so a rebuild that changes nothing is visible as no change and a
published package can be checked against its sources.
"""

from __future__ import annotations

import copy
import gzip
import io
import json
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fhir_family import messages as msg

from ..conformance.package_cache import parse_spec
from ..errors import FhirFamilyError
from . import (
    CANONICAL,
    FHIR_VERSION,
    GUIDE_DEPENDENCIES,
    PACKAGE_ID,
    PACKAGE_VERSION,
    core_package_dir,
    examples_dir,
    guide_dependency_dirs,
    guide_resources_dir,
    sushi_config_path,
)

Resource = dict[str, Any]

#: The resource types a FHIR package carries as conformance resources (everything else is ignored).
CONFORMANCE_TYPES = ("ImplementationGuide", "StructureDefinition", "CodeSystem", "ValueSet", "ConceptMap")
CORE_PACKAGE = "hl7.fhir.r4.core"
#: npm's own fixed timestamp for reproducible tarballs (1985-10-26T08:15:00Z).
FIXED_MTIME = 499162500
INDEX_FIELDS = ("resourceType", "id", "url", "version")
#: Index fields of one resource type only (``type`` is a StructureDefinition's type, never Bundle.type).
TYPED_INDEX_FIELDS = {"StructureDefinition": ("kind", "type"), "CodeSystem": ("content", "supplements")}


class PackageBuildError(FhirFamilyError):
    """The guide's sources cannot be packaged (missing folder, unreadable JSON, clashing file names)."""

    message_id = msg.PACKAGE_BUILD


@dataclass(frozen=True)
class GuideMetadata:
    """What package.json says about the guide; read from sushi-config.yaml so there is one source."""

    package_id: str = PACKAGE_ID
    version: str = PACKAGE_VERSION
    canonical: str = CANONICAL
    title: str = "fhir-family: parents and carers of dependent children in adult mental health services"
    description: str = (
        "Profiles, extensions and terminology that record, on Patient and RelatedPerson, that an adult in a "
        "mental health service in England is a parent or carer of dependent children, and the children's "
        "parental responsibility, residence, young-carer status and help or protection."
    )
    publisher: str = "fhir-family"
    license: str = "CC0-1.0"
    jurisdiction: str = "urn:iso:std:iso:3166#GB"
    status: str = "draft"
    name: str = "FhirFamily"

    @property
    def tarball_name(self) -> str:
        return f"{self.package_id}-{self.version}.tgz"

    @property
    def ig_url(self) -> str:
        return f"{self.canonical}/ImplementationGuide/{self.package_id}"


def read_metadata(config_path: Path | None = None) -> GuideMetadata:
    """The guide's metadata from ``profiles/sushi-config.yaml`` where present, else the contract's."""
    config_path = config_path or sushi_config_path()
    if not config_path.is_file():
        return GuideMetadata()
    try:
        config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise PackageBuildError(f"{config_path} is not readable YAML ({exc})") from exc
    defaults = GuideMetadata()
    publisher = config.get("publisher")
    if isinstance(publisher, dict):
        publisher = publisher.get("name")
    jurisdiction = config.get("jurisdiction")
    # SUSHI writes ``system#code "display"``; package.json carries the token only.
    jurisdiction = jurisdiction.split(" ")[0] if isinstance(jurisdiction, str) else None
    return GuideMetadata(
        package_id=str(config.get("packageId") or config.get("id") or defaults.package_id),
        version=str(config.get("version") or defaults.version),
        canonical=str(config.get("canonical") or defaults.canonical),
        title=str(config.get("title") or defaults.title),
        description=str(config.get("description") or defaults.description).strip(),
        publisher=str(publisher or defaults.publisher),
        license=str(config.get("license") or defaults.license),
        jurisdiction=str(jurisdiction or defaults.jurisdiction),
        status=str(config.get("status") or defaults.status),
        name=str(config.get("name") or defaults.name),
    )


@dataclass
class PackageContents:
    """Everything that goes into the tarball, as file name -> resource, before serialisation."""

    metadata: GuideMetadata
    resources: dict[str, Resource] = field(default_factory=dict)
    examples: dict[str, Resource] = field(default_factory=dict)


def resource_filename(resource: Resource, fallback_stem: str) -> str:
    """``{resourceType}-{id}.json``, the package convention; an example with no id keeps its file's name."""
    resource_type = resource["resourceType"]
    ident = resource.get("id") or fallback_stem
    return f"{resource_type}-{ident}.json"


def index_entry(filename: str, resource: Resource) -> dict[str, Any]:
    """One ``.index.json`` row: the fields a package reader needs to find a resource without parsing it."""
    entry: dict[str, Any] = {"filename": filename}
    for key in INDEX_FIELDS + TYPED_INDEX_FIELDS.get(resource.get("resourceType", ""), ()):
        value = resource.get(key)
        if isinstance(value, str):
            entry[key] = value
    return entry


def index_document(files: Mapping[str, Resource]) -> dict[str, Any]:
    """The ``.index.json`` of one folder, files sorted by name (index-version 1)."""
    return {"index-version": 1, "files": [index_entry(name, files[name]) for name in sorted(files)]}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PackageBuildError(f"{path} is not readable JSON ({exc})") from exc


def _add(target: dict[str, Resource], filename: str, resource: Resource, origin: Path) -> None:
    if filename in target:
        raise PackageBuildError(f"{origin} would be packaged as {filename}, which another file already uses")
    target[filename] = resource


def implementation_guide(metadata: GuideMetadata, resources: Iterable[Resource],
                         examples: Mapping[str, Resource]) -> Resource:
    """An ImplementationGuide resource listing the package's contents, for sources that carry none.

    SUSHI with ``FSHOnly: true`` writes no ImplementationGuide, but IG-aware tools (and the HL7 validator's
    ``-ig`` option) look for one, so the package gets one built from the same metadata as package.json.
    """
    listed = [
        {"reference": {"reference": f"{r['resourceType']}/{r['id']}"}, "name": r.get("title") or r.get("name")
         or r["id"], "exampleBoolean": False}
        for r in sorted(resources, key=lambda r: (r["resourceType"], r["id"]))
    ]
    for filename in sorted(examples):
        example = examples[filename]
        if example.get("id"):
            listed.append({"reference": {"reference": f"{example['resourceType']}/{example['id']}"},
                           "name": filename.removesuffix(".json"), "exampleBoolean": True})
    return {
        "resourceType": "ImplementationGuide",
        "id": metadata.package_id,
        "url": metadata.ig_url,
        "version": metadata.version,
        "name": metadata.name,
        "title": metadata.title,
        "status": metadata.status,
        "publisher": metadata.publisher,
        "description": metadata.description,
        "jurisdiction": [_jurisdiction_concept(metadata.jurisdiction)],
        "license": metadata.license,
        "packageId": metadata.package_id,
        "fhirVersion": [FHIR_VERSION],
        "definition": {"resource": listed},
    }


def _jurisdiction_concept(token: str) -> dict[str, Any]:
    system, _, code = token.partition("#")
    return {"coding": [{"system": system, "code": code}]}


def collect(guide_dir: Path | None = None, examples_root: Path | None = None,
            metadata: GuideMetadata | None = None) -> PackageContents:
    """Read the guide's conformance resources and the valid example bundles into a ``PackageContents``."""
    guide_dir = guide_dir or guide_resources_dir()
    examples_root = examples_root or examples_dir()
    contents = PackageContents(metadata=metadata or read_metadata())
    if not guide_dir.is_dir():
        raise PackageBuildError(f"guide resources folder {guide_dir} does not exist (run `make ig`)")
    for path in sorted(guide_dir.glob("*.json")):
        resource = _read_json(path)
        if not isinstance(resource, dict) or resource.get("resourceType") not in CONFORMANCE_TYPES:
            continue
        if not resource.get("id"):
            raise PackageBuildError(f"{path} has no id, so it cannot be named in the package")
        _add(contents.resources, resource_filename(resource, path.stem), resource, path)
    if not contents.resources:
        raise PackageBuildError(f"guide resources folder {guide_dir} holds no conformance resources")
    for path in valid_example_paths(examples_root):
        resource = _read_json(path)
        if isinstance(resource, dict) and isinstance(resource.get("resourceType"), str):
            _add(contents.examples, resource_filename(resource, path.stem), resource, path)
    add_snapshots(contents.resources, guide_dir)
    if not any(r["resourceType"] == "ImplementationGuide" for r in contents.resources.values()):
        guide = implementation_guide(contents.metadata, contents.resources.values(), contents.examples)
        contents.resources[resource_filename(guide, guide["id"])] = guide
    return contents


def add_snapshots(resources: dict[str, Resource], guide_dir: Path) -> None:
    """Give every StructureDefinition without one a snapshot, generated by the project's own validator.

    SUSHI writes differentials only, but Firely and other tools expect packaged profiles to carry snapshots
    (the IG publisher always writes them). They come from the same generator the validator uses, so a
    validator reading the package's snapshots checks exactly what one generating them would.
    """
    from ..conformance.compiler import Compiler
    from ..conformance.packages import DefinitionStore

    compiler = Compiler(DefinitionStore(core_package_dir(), [*guide_dependency_dirs(), guide_dir]))
    for name, resource in resources.items():
        if resource["resourceType"] != "StructureDefinition" or resource.get("snapshot"):
            continue
        try:
            elements = compiler.snapshot(resource["url"])
        except (FhirFamilyError, ValueError) as exc:  # DefinitionError is a ValueError
            raise PackageBuildError(f"{name}: no snapshot could be generated ({exc})") from exc
        if not elements:
            raise PackageBuildError(f"{name}: no snapshot could be generated (base definition missing)")
        with_snapshot: Resource = {}
        for key, value in resource.items():
            if key == "differential":
                with_snapshot["snapshot"] = {"element": copy.deepcopy(elements)}
            with_snapshot[key] = value
        with_snapshot.setdefault("snapshot", {"element": copy.deepcopy(elements)})
        resources[name] = with_snapshot


def valid_example_paths(examples_root: Path | None = None) -> list[Path]:
    """The valid example bundles (``examples/bundles/*.json``), sorted by name."""
    folder = (examples_root or examples_dir()) / "bundles"
    return sorted(p for p in folder.glob("*.json") if not p.name.endswith(".expected.json"))


def package_manifest(metadata: GuideMetadata) -> dict[str, Any]:
    """``package/package.json`` as the FHIR package specification and the IG publisher write it."""
    return {
        "name": metadata.package_id,
        "version": metadata.version,
        "type": "fhir.ig",
        "title": metadata.title,
        "description": metadata.description,
        "author": metadata.publisher,
        "license": metadata.license,
        "canonical": metadata.canonical,
        "url": metadata.canonical,
        "fhirVersions": [FHIR_VERSION],
        "jurisdiction": metadata.jurisdiction,
        "dependencies": {CORE_PACKAGE: FHIR_VERSION, **dict(parse_spec(spec) for spec in GUIDE_DEPENDENCIES)},
    }


def json_bytes(value: Any) -> bytes:
    """How every JSON file of the package (and the pages' downloads) is written: indented, UTF-8, newline."""
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def package_files(contents: PackageContents) -> dict[str, bytes]:
    """Every file of the tarball: archive path -> bytes."""
    files: dict[str, bytes] = {
        "package/package.json": json_bytes(package_manifest(contents.metadata)),
        "package/.index.json": json_bytes(index_document(contents.resources)),
        "package/examples/.index.json": json_bytes(index_document(contents.examples)),
    }
    for name, resource in contents.resources.items():
        files[f"package/{name}"] = json_bytes(resource)
    for name, resource in contents.examples.items():
        files[f"package/examples/{name}"] = json_bytes(resource)
    return files


def deterministic_tgz(files: Mapping[str, bytes]) -> bytes:
    """A gzipped tar of ``files`` whose bytes depend only on the names and contents given."""
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name in sorted(files):
            data = files[name]
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = FIXED_MTIME
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.type = tarfile.REGTYPE
            archive.addfile(info, io.BytesIO(data))
    gz_buffer = io.BytesIO()
    # filename="" keeps the output name out of the gzip header; mtime=0 keeps the build time out.
    with gzip.GzipFile(filename="", mode="wb", fileobj=gz_buffer, mtime=0, compresslevel=9) as gz:
        gz.write(tar_buffer.getvalue())
    return gz_buffer.getvalue()


def build_package_bytes(guide_dir: Path | None = None, examples_root: Path | None = None,
                        metadata: GuideMetadata | None = None) -> tuple[GuideMetadata, bytes]:
    """The package tarball in memory (the pages offer it for download without writing to disk)."""
    contents = collect(guide_dir, examples_root, metadata)
    return contents.metadata, deterministic_tgz(package_files(contents))


def build_package(out_dir: Path, guide_dir: Path | None = None, examples_root: Path | None = None,
                  metadata: GuideMetadata | None = None) -> Path:
    """Write ``<out_dir>/<package-id>-<version>.tgz`` and return its path."""
    metadata, data = build_package_bytes(guide_dir, examples_root, metadata)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / metadata.tarball_name
    target.write_bytes(data)
    return target
