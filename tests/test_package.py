"""The guide as a FHIR NPM package: layout, package.json, .index.json, reproducibility, and a round trip
through the project's own validator (the package must validate the examples exactly as the sources do)."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhir_family.cli import main
from fhir_family.conformance import Validator, default_validator
from fhir_family.guide import CANONICAL, PACKAGE_ID, PACKAGE_VERSION, examples_dir, guide_resources_dir
from fhir_family.guide.package import (
    CONFORMANCE_TYPES,
    FIXED_MTIME,
    PackageBuildError,
    build_package,
    valid_example_paths,
)


def _members(tgz: Path) -> dict[str, bytes]:
    with tarfile.open(tgz, "r:gz") as archive:
        return {m.name: archive.extractfile(m).read() for m in archive.getmembers() if m.isfile()}


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_package(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def members(package: Path) -> dict[str, bytes]:
    return _members(package)


def test_tarball_is_named_after_the_package(package: Path) -> None:
    assert package.name == f"{PACKAGE_ID}-{PACKAGE_VERSION}.tgz"


def test_two_builds_are_byte_identical(package: Path, tmp_path: Path) -> None:
    again = build_package(tmp_path / "other")
    assert again.read_bytes() == package.read_bytes()


def test_a_changed_source_changes_the_tarball(package: Path, tmp_path: Path) -> None:
    guide = tmp_path / "guide"
    shutil.copytree(guide_resources_dir(), guide)
    path = guide / "CodeSystem-yes-no-unknown.json"
    resource = json.loads(path.read_text())
    resource["concept"][0]["display"] += " (changed)"
    path.write_text(json.dumps(resource))
    assert build_package(tmp_path / "dist", guide_dir=guide).read_bytes() != package.read_bytes()


def test_gzip_header_carries_no_name_and_no_time(package: Path) -> None:
    header = package.read_bytes()[:10]
    assert header[:2] == b"\x1f\x8b"
    assert header[3] & 0x08 == 0, "FNAME flag set: the gzip header names a file"
    assert header[4:8] == b"\x00\x00\x00\x00", "gzip mtime is not 0"


def test_tar_entries_are_sorted_and_normalised(package: Path) -> None:
    with tarfile.open(package, "r:gz") as archive:
        infos = archive.getmembers()
    names = [info.name for info in infos]
    assert names == sorted(names)
    assert all(name.startswith("package/") for name in names)
    for info in infos:
        assert info.isfile()
        assert (info.mtime, info.uid, info.gid, info.uname, info.gname, info.mode) == (
            FIXED_MTIME, 0, 0, "", "", 0o644)


def test_package_json(members: dict[str, bytes]) -> None:
    manifest = json.loads(members["package/package.json"])
    assert manifest["name"] == PACKAGE_ID
    assert manifest["version"] == PACKAGE_VERSION
    assert manifest["canonical"] == CANONICAL
    assert manifest["url"] == CANONICAL
    assert manifest["fhirVersions"] == ["4.0.1"]
    assert manifest["dependencies"] == {
        "hl7.fhir.r4.core": "4.0.1",
        "fhir.r4.ukcore.stu3.currentbuild": "0.0.0-3d2827e3",
    }
    assert manifest["type"] == "fhir.ig"
    assert manifest["jurisdiction"] == "urn:iso:std:iso:3166:-2#GB-ENG"
    assert manifest["license"]
    assert "parent" in manifest["title"].lower()
    assert manifest["description"]


@pytest.mark.parametrize("folder", ["package", "package/examples"])
def test_index_lists_exactly_the_resources_of_its_folder(members: dict[str, bytes], folder: str) -> None:
    index = json.loads(members[f"{folder}/.index.json"])
    assert index["index-version"] == 1
    files = {name.rsplit("/", 1)[1]: data for name, data in members.items()
             if name.rsplit("/", 1)[0] == folder and name.endswith(".json")
             and name.rsplit("/", 1)[1] not in ("package.json", ".index.json")}
    listed = [entry["filename"] for entry in index["files"]]
    assert len(listed) == len(set(listed))
    assert set(listed) == set(files)
    for entry in index["files"]:
        resource = json.loads(files[entry["filename"]])
        keys = ["resourceType", "id", "url", "version"]
        if resource["resourceType"] == "StructureDefinition":
            keys += ["kind", "type"]
            assert entry["kind"] and entry["type"], entry
        for key in keys:
            assert entry.get(key) == resource.get(key), (entry["filename"], key)
        if resource["resourceType"] != "StructureDefinition":
            # ``type`` in an index is a StructureDefinition's type: never Bundle.type or the like.
            assert "type" not in entry and "kind" not in entry, entry


def test_every_conformance_resource_of_the_guide_is_packaged(members: dict[str, bytes]) -> None:
    packaged = {json.loads(data)["url"] for name, data in members.items()
                if name.count("/") == 1 and name.endswith(".json") and "package.json" not in name
                and ".index.json" not in name}
    sources = [json.loads(p.read_text()) for p in guide_resources_dir().glob("*.json")]
    expected = {r["url"] for r in sources if r.get("resourceType") in CONFORMANCE_TYPES}
    assert expected == packaged
    kinds = {json.loads(data)["resourceType"] for name, data in members.items()
             if name.count("/") == 1 and name.endswith(".json") and "index" not in name
             and "package.json" not in name}
    assert kinds == set(CONFORMANCE_TYPES)


def test_files_are_named_by_type_and_id(members: dict[str, bytes]) -> None:
    for name, data in members.items():
        if name.endswith((".index.json", "package.json")):
            continue
        resource = json.loads(data)
        if resource.get("id"):
            assert name.rsplit("/", 1)[1] == f"{resource['resourceType']}-{resource['id']}.json"


def test_examples_are_the_valid_bundles(members: dict[str, bytes]) -> None:
    packaged = sorted((json.dumps(json.loads(data), sort_keys=True) for name, data in members.items()
                       if name.startswith("package/examples/") and not name.endswith(".index.json")))
    sources = sorted(json.dumps(json.loads(p.read_text()), sort_keys=True) for p in valid_example_paths())
    assert sources, "no valid example bundles found under examples/bundles"
    assert packaged == sources
    assert not any("invalid" in name for name in members)


def test_a_guide_without_an_implementation_guide_gets_one(tmp_path: Path) -> None:
    guide = tmp_path / "guide"
    shutil.copytree(guide_resources_dir(), guide)
    for path in guide.glob("ImplementationGuide-*.json"):
        path.unlink()
    built = _members(build_package(tmp_path / "dist", guide_dir=guide))
    ig = json.loads(built[f"package/ImplementationGuide-{PACKAGE_ID}.json"])
    assert ig["packageId"] == PACKAGE_ID
    assert ig["url"] == f"{CANONICAL}/ImplementationGuide/{PACKAGE_ID}"
    listed = {entry["reference"]["reference"] for entry in ig["definition"]["resource"]}
    assert "StructureDefinition/parent-patient" in listed
    assert "ConceptMap/parental-status-to-ndtms-prntstat" in listed


def test_build_command_writes_the_tarball(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["build", "--out", str(tmp_path / "dist")])
    assert result.exit_code == 0, result.output
    path = Path(result.output.strip())
    assert path == tmp_path / "dist" / f"{PACKAGE_ID}-{PACKAGE_VERSION}.tgz"
    assert path.is_file()


@pytest.mark.parametrize("problem", ["missing-folder", "bad-json", "empty-folder"])
def test_build_command_reports_bad_sources_in_one_line(tmp_path: Path, problem: str) -> None:
    guide = tmp_path / "guide"
    if problem != "missing-folder":
        guide.mkdir()
    if problem == "bad-json":
        (guide / "StructureDefinition-x.json").write_text("{not json")
    result = CliRunner().invoke(main, ["build", "--out", str(tmp_path / "dist"), "--guide", str(guide)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.output.startswith("fhir-family build: ")
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "dist").exists()
    with pytest.raises(PackageBuildError):
        build_package(tmp_path / "dist", guide_dir=guide)


def _invalid_examples() -> list[Path]:
    folder = examples_dir() / "invalid"
    return sorted(p for p in folder.glob("*.json") if not p.name.endswith(".expected.json"))


def test_built_package_validates_the_examples_like_the_sources(package: Path,
                                                               members: dict[str, bytes]) -> None:
    """Round trip: a validator loaded from the tarball gives the same outcome as the default validator, for
    the packaged examples and every invalid example (so the package carries every rule, not only shapes)."""
    from_package = Validator.from_package(package)
    reference = default_validator()
    packaged = [json.loads(data) for name, data in sorted(members.items())
                if name.startswith("package/examples/") and not name.endswith(".index.json")]
    invalid = [json.loads(p.read_text()) for p in _invalid_examples()]
    assert packaged and invalid
    for resource in packaged + invalid:
        assert from_package.validate(resource) == reference.validate(resource)
    # The comparison would be empty if both validators accepted everything: the invalid ones must fail.
    assert all(any(i["severity"] == "error" or i["severity"] == "warning"
                   for i in from_package.validate(r)["issue"]) for r in invalid)


def test_validator_loads_the_package_from_an_unpacked_folder(package: Path, tmp_path: Path) -> None:
    with tarfile.open(package, "r:gz") as archive:
        archive.extractall(tmp_path, filter="data")
    example = json.loads(valid_example_paths()[0].read_text())
    broken = json.loads(json.dumps(example))
    broken["entry"][1]["resource"]["name"] = [{"family": "Smith"}]
    validator = Validator.from_package(tmp_path)
    assert validator.validate(broken) == default_validator().validate(broken)
    assert any(i["severity"] == "error" for i in validator.validate(broken)["issue"])


def test_tarball_is_readable_by_a_plain_tar_reader(package: Path) -> None:
    data = io.BytesIO(package.read_bytes())
    with tarfile.open(fileobj=data, mode="r:gz") as archive:
        assert "package/package.json" in archive.getnames()


@pytest.mark.parametrize("left_out", [
    "StructureDefinition-dependent-child.json",
    "ValueSet-child-residence.json",
    "CodeSystem-child-residence.json",
])
def test_round_trip_comparison_notices_a_missing_definition(tmp_path: Path, left_out: str) -> None:
    """The round trip has teeth: a package lacking one definition validates the examples differently."""
    guide = tmp_path / "guide"
    shutil.copytree(guide_resources_dir(), guide)
    (guide / left_out).unlink()
    crippled = Validator.from_package(build_package(tmp_path / "dist", guide_dir=guide))
    example = json.loads(valid_example_paths()[0].read_text())
    assert crippled.validate(example) != default_validator().validate(example)


def test_profiles_carry_snapshots_covering_their_differentials(members: dict[str, bytes]) -> None:
    for name, data in members.items():
        if name.count("/") != 1 or "StructureDefinition-" not in name:
            continue
        sd = json.loads(data)
        snapshot_ids = [element["id"] for element in sd["snapshot"]["element"]]
        assert len(snapshot_ids) == len(set(snapshot_ids)), name
        assert snapshot_ids[0] == sd["type"], name
        missing = {e["id"] for e in sd["differential"]["element"]} - set(snapshot_ids)
        assert not missing, f"{name}: differential elements missing from the snapshot: {missing}"
        by_id = {element["id"]: element for element in sd["snapshot"]["element"]}
        for element in sd["differential"]["element"]:
            for key in ("min", "max"):
                if key in element:
                    assert by_id[element["id"]][key] == element[key], (name, element["id"], key)
