"""Snapshot generation checked against SUSHI's own: ``sushi build --snapshot`` on the guide's FSH is the
oracle.

The validator generates snapshots in memory from SUSHI's differentials; here SUSHI generates them too (about
two seconds) and every element must agree on id and order, cardinality, types (with profiles and target
profiles), fixed and pattern values, bindings, constraint keys and slicing. Skipped when SUSHI is not
installed (``make ig`` installs it under build/sushi). A second oracle needs nothing: core definitions whose
snapshots HL7 generated (every extension definition, 27 profiles) regenerated from their differentials.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from fhir_family.conformance import Validator
from fhir_family.conformance.packages import DefinitionStore
from fhir_family.guide import core_package_dir, guide_dependency_dirs

REPO = Path(__file__).resolve().parent.parent
CANDIDATES = [
    os.environ.get("SUSHI", ""),
    str(REPO / "build/sushi/node_modules/.bin/sushi"),
    "/tmp/setup/node_modules/.bin/sushi",
    shutil.which("sushi") or "",
]
SUSHI = next((Path(c) for c in CANDIDATES if c and Path(c).is_file() and os.access(c, os.X_OK)), None)


@pytest.fixture(scope="module")
def sushi_snapshots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    if SUSHI is None:
        pytest.skip("SUSHI is not installed (make ig installs it under build/sushi)")
    project = tmp_path_factory.mktemp("sushi")
    shutil.copy(REPO / "profiles/sushi-config.yaml", project / "sushi-config.yaml")
    shutil.copytree(REPO / "profiles/input", project / "input")
    run = subprocess.run(
        [str(SUSHI), "build", str(project), "--snapshot"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    generated = project / "fsh-generated/resources"
    return {
        sd["url"]: sd
        for sd in (json.loads(p.read_text()) for p in sorted(generated.glob("StructureDefinition-*.json")))
    }


@pytest.fixture(scope="module")
def ours(sushi_snapshots: dict[str, dict], tmp_path_factory: pytest.TempPathFactory) -> Validator:
    """A validator over the same SUSHI run's differentials, snapshots removed (so it generates them)."""
    folder = tmp_path_factory.mktemp("differentials")
    for url, sd in sushi_snapshots.items():
        stripped = {key: value for key, value in sd.items() if key != "snapshot"}
        (folder / f"StructureDefinition-{url.rsplit('/', 1)[-1]}.json").write_text(json.dumps(stripped))
    return Validator(DefinitionStore(core_package_dir(), [*guide_dependency_dirs(), folder]))


def _digest(element: dict[str, Any]) -> dict[str, Any]:
    binding = element.get("binding") or {}
    slicing = element.get("slicing") or {}
    return {
        "min": element.get("min"),
        "max": element.get("max"),
        "sliceName": element.get("sliceName"),
        "types": sorted(
            (t.get("code"), tuple(t.get("profile", [])), tuple(t.get("targetProfile", [])))
            for t in element.get("type") or []
        ),
        "fixed": {k: v for k, v in element.items() if k.startswith(("fixed", "pattern"))},
        "binding": (binding.get("strength"), binding.get("valueSet")),
        "constraints": sorted(c["key"] for c in element.get("constraint", [])),
        "slicing": (slicing.get("rules"), json.dumps(slicing.get("discriminator"), sort_keys=True)),
    }


def test_sushi_generated_every_profile(sushi_snapshots: dict[str, dict]) -> None:
    assert len(sushi_snapshots) >= 5


def test_generated_snapshots_equal_sushis(sushi_snapshots: dict[str, dict], ours: Validator) -> None:
    problems = []
    for url, sd in sushi_snapshots.items():
        theirs = sd["snapshot"]["element"]
        mine = ours.compiler.snapshot(url)
        if [e["id"] for e in mine] != [e["id"] for e in theirs]:
            problems.append(f"{url}: element ids or order differ")
            continue
        for a, b in zip(mine, theirs, strict=True):
            if _digest(a) != _digest(b):
                problems.append(f"{url} {a['id']}: ours {_digest(a)} != SUSHI {_digest(b)}")
    assert problems == []


# -- HL7's own snapshots as the oracle: core definitions regenerated from their differentials --

# core profiles whose HL7 snapshots use no type slices (``value[x]:valueQuantity``): those this validator
# represents as a narrowed choice element instead, equivalent for validation but spelt differently
CORE_PROFILES = [
    "MoneyQuantity",
    "SimpleQuantity",
    "actualgroup",
    "cdshooksrequestgroup",
    "cdshooksserviceplandefinition",
    "clinicaldocument",
    "computableplandefinition",
    "cqf-questionnaire",
    "cqllibrary",
    "diagnosticreport-genetics",
    "ehrsrle-auditevent",
    "ehrsrle-provenance",
    "groupdefinition",
    "hlaresult",
    "lipidprofile",
    "observation-genetics",
    "picoelement",
    "servicerequest-genetics",
    "shareableactivitydefinition",
    "shareablecodesystem",
    "shareablelibrary",
    "shareablemeasure",
    "shareableplandefinition",
    "shareablevalueset",
    "synthesis",
    "vitalsigns",
    "vitalspanel",
]


def _core_constraint_definitions() -> list[dict[str, Any]]:
    definitions = []
    for path in sorted(core_package_dir().glob("StructureDefinition-*.json")):
        sd = json.loads(path.read_text(encoding="utf-8"))
        usable = sd.get("derivation") == "constraint" and sd.get("snapshot") and sd.get("differential")
        if usable and (sd["type"] == "Extension" or sd["id"] in CORE_PROFILES):
            definitions.append(sd)
    return definitions


def test_core_extensions_and_profiles_regenerate_to_hl7s_snapshots(tmp_path: Path) -> None:
    definitions = _core_constraint_definitions()
    for sd in definitions:
        stripped = {key: value for key, value in sd.items() if key != "snapshot"}
        (tmp_path / f"{sd['id']}.json").write_text(json.dumps(stripped))
    validator = Validator(DefinitionStore(core_package_dir(), [tmp_path]))
    problems = []
    for sd in definitions:
        mine, theirs = validator.compiler.snapshot(sd["url"]), sd["snapshot"]["element"]
        if [e["id"] for e in mine] != [e["id"] for e in theirs]:
            problems.append(f"{sd['id']}: element ids or order differ")
            continue
        problems += [
            f"{sd['id']} {a['id']}" for a, b in zip(mine, theirs, strict=True) if _digest(a) != _digest(b)
        ]
    assert len(definitions) > 400  # 393 extensions + the profiles above
    assert problems == []
