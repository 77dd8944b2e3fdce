"""DefinitionStore: the genuine core package read lazily, guides from folders, unpacked packages and .tgz."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from fhir_family.conformance.packages import DefinitionStore, PackageError, split_canonical
from fhir_family.guide import GuideDataMissing, core_package_dir

GUIDE_SD = {
    "resourceType": "StructureDefinition",
    "id": "test-patient",
    "url": "https://example.org/fhir/StructureDefinition/test-patient",
    "version": "0.1.0",
    "type": "Patient",
    "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient",
    "derivation": "constraint",
}
GUIDE_VS = {
    "resourceType": "ValueSet",
    "id": "test-vs",
    "url": "https://example.org/fhir/ValueSet/test-vs",
    "version": "0.1.0",
    "compose": {"include": [{"system": "https://example.org/fhir/CodeSystem/x", "concept": [{"code": "a"}]}]},
}
PACKAGE_JSON = {"name": "org.example.test", "version": "0.1.0", "dependencies": {"hl7.fhir.r4.core": "4.0.1"}}
EXAMPLE = {"resourceType": "Patient", "id": "example-only"}


@pytest.fixture(scope="module")
def core_store() -> DefinitionStore:
    return DefinitionStore(core_package_dir(), [])


def _write_tgz(path: Path, files: dict[str, dict]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, content in files.items():
            raw = json.dumps(content).encode()
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            archive.addfile(info, io.BytesIO(raw))
    return path


def _package_files() -> dict[str, dict]:
    return {
        "package/package.json": PACKAGE_JSON,
        "package/StructureDefinition-test-patient.json": GUIDE_SD,
        "package/ValueSet-test-vs.json": GUIDE_VS,
        "package/example/Patient-example-only.json": EXAMPLE,
    }


def test_core_resource_by_url(core_store: DefinitionStore) -> None:
    vs = core_store.get("http://hl7.org/fhir/ValueSet/administrative-gender")
    assert vs is not None and vs["resourceType"] == "ValueSet" and vs["id"] == "administrative-gender"


def test_core_is_read_lazily_and_cached() -> None:
    store = DefinitionStore(core_package_dir(), [])
    assert store.core_files_read == 0
    first = store.get("http://hl7.org/fhir/StructureDefinition/Patient")
    assert store.core_files_read == 1
    assert store.get("http://hl7.org/fhir/StructureDefinition/Patient") is first
    assert store.core_files_read == 1


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("Patient", "http://hl7.org/fhir/StructureDefinition/Patient"),
        ("string", "http://hl7.org/fhir/StructureDefinition/string"),
        ("CodeableConcept", "http://hl7.org/fhir/StructureDefinition/CodeableConcept"),
        ("http://hl7.org/fhir/StructureDefinition/Bundle", "http://hl7.org/fhir/StructureDefinition/Bundle"),
    ],
)
def test_structure_definition_by_type_name_or_url(core_store: DefinitionStore, name: str, url: str) -> None:
    sd = core_store.structure_definition(name)
    assert sd is not None and sd["url"] == url and "snapshot" in sd


def test_structure_definition_rejects_other_resource_types(core_store: DefinitionStore) -> None:
    assert core_store.structure_definition("http://hl7.org/fhir/ValueSet/administrative-gender") is None
    assert core_store.structure_definition("NoSuchType") is None


@pytest.mark.parametrize(
    ("url", "found"),
    [
        ("http://hl7.org/fhir/StructureDefinition/Patient|4.0.1", True),
        ("http://hl7.org/fhir/StructureDefinition/Patient|3.0.2", False),
        ("http://hl7.org/fhir/StructureDefinition/NoSuch", False),
    ],
)
def test_versioned_urls(core_store: DefinitionStore, url: str, found: bool) -> None:
    assert (core_store.get(url) is not None) is found


def test_split_canonical() -> None:
    assert split_canonical("http://x/ValueSet/a|1.0") == ("http://x/ValueSet/a", "1.0")
    assert split_canonical("http://x/ValueSet/a") == ("http://x/ValueSet/a", None)


def test_folder_guide(tmp_path: Path) -> None:
    (tmp_path / "StructureDefinition-test-patient.json").write_text(json.dumps(GUIDE_SD))
    (tmp_path / "ValueSet-test-vs.json").write_text(json.dumps(GUIDE_VS))
    (tmp_path / "notes.json").write_text(json.dumps({"not": "a resource"}))
    store = DefinitionStore(core_package_dir(), [tmp_path])
    assert store.get(GUIDE_SD["url"]) == GUIDE_SD
    assert store.structure_definition(GUIDE_SD["url"]) == GUIDE_SD
    assert [r["id"] for r in store.by_type("ValueSet")] == ["test-vs"]
    assert len(store.guide_resources()) == 2
    assert GUIDE_VS["url"] in store.canonical_urls("ValueSet")
    assert "http://hl7.org/fhir/ValueSet/administrative-gender" in store.canonical_urls("ValueSet")
    assert store.core_files_read == 0


def test_tgz_guide_skips_package_json_and_examples(tmp_path: Path) -> None:
    tgz = _write_tgz(tmp_path / "guide.tgz", _package_files())
    store = DefinitionStore(core_package_dir(), [tgz])
    assert sorted(r["id"] for r in store.guide_resources()) == ["test-patient", "test-vs"]
    assert store.get(GUIDE_VS["url"] + "|0.1.0") == GUIDE_VS


def test_unpacked_package_guide(tmp_path: Path) -> None:
    for name, content in _package_files().items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content))
    for source in (tmp_path, tmp_path / "package"):
        store = DefinitionStore(core_package_dir(), [source])
        assert sorted(r["id"] for r in store.guide_resources()) == ["test-patient", "test-vs"]


def test_guide_overrides_core(tmp_path: Path) -> None:
    url = "http://hl7.org/fhir/ValueSet/administrative-gender"
    patched = {"resourceType": "ValueSet", "url": url, "id": "p"}
    (tmp_path / "ValueSet-p.json").write_text(json.dumps(patched))
    store = DefinitionStore(core_package_dir(), [tmp_path])
    assert store.get(patched["url"])["id"] == "p"


def test_read_by_type_and_id_guide_first_then_core_lazily(tmp_path: Path) -> None:
    """A FHIR read (``GET /ValueSet/test-vs``): the facade serves conformance resources through this."""
    (tmp_path / "ValueSet-test-vs.json").write_text(json.dumps(GUIDE_VS))
    store = DefinitionStore(core_package_dir(), [tmp_path])
    assert store.read("ValueSet", "test-vs") == GUIDE_VS
    assert store.read("CodeSystem", "test-vs") is None  # the type must match too
    assert store.core_files_read == 0
    gender = store.read("ValueSet", "administrative-gender")
    assert gender is not None and gender["url"] == "http://hl7.org/fhir/ValueSet/administrative-gender"
    assert store.core_files_read == 1
    assert store.read("ValueSet", "no-such-id") is None


@pytest.mark.parametrize("layout", ["no-folder", "no-index"])
def test_missing_core_package_says_how_to_fetch_it(tmp_path: Path, layout: str) -> None:
    folder = tmp_path / "package"
    if layout == "no-index":
        folder.mkdir()
    with pytest.raises(PackageError, match="fhir-family packages install hl7.fhir.r4.core#4.0.1"):
        DefinitionStore(folder, [])


def test_missing_or_broken_guide_source(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="does not exist"):
        DefinitionStore(core_package_dir(), [tmp_path / "nope"])
    broken = tmp_path / "broken.tgz"
    broken.write_bytes(b"not a tarball")
    with pytest.raises(PackageError, match="not a readable .tgz"):
        DefinitionStore(core_package_dir(), [broken])
    bad_json = tmp_path / "folder"
    bad_json.mkdir()
    (bad_json / "x.json").write_text("{nope")
    with pytest.raises(PackageError, match="not valid JSON"):
        DefinitionStore(core_package_dir(), [bad_json])


def test_default_refuses_a_missing_guide(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the guide every profile would go unchecked, so a missing one is an error, never dropped."""
    monkeypatch.setenv("FHIR_FAMILY_GUIDE", str(tmp_path / "not-generated-yet"))
    with pytest.raises(GuideDataMissing, match="FHIR_FAMILY_GUIDE: no StructureDefinitions at .*make ig"):
        DefinitionStore.default()
