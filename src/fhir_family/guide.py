"""Where the guide's conformance resources live, so every part loads the same files.

SUSHI compiles ``profiles/input/fsh`` into ``profiles/fsh-generated/resources`` (committed, so runtime needs
no Node). ``FHIR_FAMILY_GUIDE`` overrides the location, e.g. to validate against a vendor's extension.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
CANONICAL = "https://fhir-family.uk/fhir"
PACKAGE_ID = "uk.fhir-family.r4"
PACKAGE_VERSION = "0.1.0"
FHIR_VERSION = "4.0.1"


def guide_resources_dir() -> Path:
    """The folder holding the guide's generated JSON resources (one resource per file)."""
    override = os.environ.get("FHIR_FAMILY_GUIDE")
    return Path(override) if override else REPO_ROOT / "profiles" / "fsh-generated" / "resources"


def core_package_dir() -> Path:
    """The genuine hl7.fhir.r4.core 4.0.1 package in the FHIR package cache (see fetch-core-package.sh)."""
    cache = Path(os.environ.get("FHIR_PACKAGE_CACHE", Path.home() / ".fhir" / "packages"))
    return cache / "hl7.fhir.r4.core#4.0.1" / "package"


def examples_dir() -> Path:
    """The examples folder: valid bundles, invalid bundles with expected outcomes, EHR payloads."""
    return REPO_ROOT / "examples"


def load_guide_resources(folder: Path | None = None) -> list[dict[str, Any]]:
    """Every conformance resource of the guide, sorted by file name so callers see a stable order."""
    folder = folder or guide_resources_dir()
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))]
