"""Where the guide's files live, so every part (validator, facade, pages, build) loads the same ones.

SUSHI compiles ``profiles/input/fsh`` into ``profiles/fsh-generated/resources`` (committed, so runtime needs
no Node). In a checkout (and an editable install) the files are read where they are committed. An installed
wheel carries them as package data under ``fhir_family/_data/``: ``setup.py`` copies them there when the wheel
is built, so the repository keeps one copy. ``FHIR_FAMILY_GUIDE`` overrides the guide's folder, e.g. to
validate against a vendor's edit of it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import FhirFamilyError

#: the fhir_family package folder (this module is fhir_family/guide/__init__.py)
PACKAGE_ROOT = Path(__file__).resolve().parents[1]
#: the guide's files inside an installed wheel (absent in a checkout; see setup.py)
BUNDLED_DATA = PACKAGE_ROOT / "_data"
#: the checkout this module sits in (meaningless for an installed wheel, whose data is BUNDLED_DATA)
REPO_ROOT = PACKAGE_ROOT.parents[1]
CANONICAL = "https://fhir-family.uk/fhir"
PACKAGE_ID = "uk.fhir-family.r4"
PACKAGE_VERSION = "0.2.0"
FHIR_VERSION = "4.0.1"
CORE_PACKAGE = "hl7.fhir.r4.core#4.0.1"
#: the command that puts R4 core into the package cache (named by every "core package missing" error)
INSTALL_CORE_COMMAND = f"fhir-family packages install {CORE_PACKAGE}"
#: UK Core (HL7 UK): the guide's four resource profiles derive from it. No reachable registry carries this
#: build; `fhir-family packages install --mirror DIR` puts it in the cache (Makefile: `uk-core-package`).
UKCORE_PACKAGE = "fhir.r4.ukcore.stu3.currentbuild#0.0.0-3d2827e3"
#: the packages the guide depends on besides R4 core (sushi-config.yaml, package.json, IG dependsOn)
GUIDE_DEPENDENCIES = (UKCORE_PACKAGE,)

#: data name -> its place in a checkout; setup.py copies each into BUNDLED_DATA under the same name
CHECKOUT_SOURCES = {
    "guide": Path("profiles") / "fsh-generated" / "resources",
    "examples": Path("examples"),
    "docs": Path("docs"),
    "sushi-config.yaml": Path("profiles") / "sushi-config.yaml",
    "views": Path("profiles") / "views",
}


class GuideDataMissing(FhirFamilyError):
    """A file the guide ships with is missing: the installation is incomplete, not the user's input."""

    http_status = 500


def _data_path(name: str) -> Path:
    """The bundled copy in an installed wheel, else the checkout's file."""
    bundled = BUNDLED_DATA / name
    return bundled if bundled.exists() else REPO_ROOT / CHECKOUT_SOURCES[name]


def guide_resources_dir() -> Path:
    """The folder holding the guide's generated JSON resources (one resource per file)."""
    override = os.environ.get("FHIR_FAMILY_GUIDE")
    return Path(override) if override else _data_path("guide")


def require_guide_resources_dir() -> Path:
    """``guide_resources_dir()``, or a GuideDataMissing saying what is missing and how to get it."""
    folder = guide_resources_dir()
    if not folder.is_dir() or not any(folder.glob("StructureDefinition-*.json")):
        origin = "FHIR_FAMILY_GUIDE" if os.environ.get("FHIR_FAMILY_GUIDE") else "the guide"
        raise GuideDataMissing(
            f"{origin}: no StructureDefinitions at {folder}; reinstall fhir-family (the wheel ships the "
            "guide) or, in a checkout, run `make ig`"
        )
    return folder


def guide_dependency_dirs() -> list[Path]:
    """The cached folders of the packages the guide depends on (UK Core), dependencies first.

    A missing one is a PackageSpecError naming the install command: without UK Core the guide's profiles have
    no base, so nothing could be checked.
    """
    from ..conformance.package_cache import resolve_with_dependencies

    folders: list[Path] = []
    for spec in GUIDE_DEPENDENCIES:
        for package in resolve_with_dependencies(spec, needed_by=f"{PACKAGE_ID}#{PACKAGE_VERSION}"):
            if package.folder not in folders:
                folders.append(package.folder)
    return folders


def guide_sources() -> list[Path]:
    """What a definition store loads for the built-in guide: its dependencies, then the guide's own folder."""
    return [*guide_dependency_dirs(), require_guide_resources_dir()]


def core_package_dir() -> Path:
    """The genuine hl7.fhir.r4.core 4.0.1 package in the FHIR package cache (``fhir-family packages``)."""
    from ..conformance.package_cache import package_folder

    return package_folder("hl7.fhir.r4.core", "4.0.1")


def examples_dir() -> Path:
    """The examples folder: valid bundles, invalid bundles with expected outcomes, EHR payloads."""
    return _data_path("examples")


def docs_dir() -> Path:
    """The Markdown pages (guide.md, model.md, payload.md) the static pages render."""
    return _data_path("docs")


def views_dir() -> Path:
    """The guide's SQL on FHIR ViewDefinitions (``profiles/views``, one hand-written file per table)."""
    return _data_path("views")


def sushi_config_path() -> Path:
    """The guide's sushi-config.yaml: the one source of the package's id, version and title."""
    return _data_path("sushi-config.yaml")


def load_guide_resources(folder: Path | None = None) -> list[dict[str, Any]]:
    """Every conformance resource of the guide, sorted by file name so callers see a stable order."""
    folder = folder or require_guide_resources_dir()
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))]
