"""Any guide, several at once: --guide / Validator.from_packages, plain-R4 mode, ImplementationGuide.global,
role profiles that are not loaded, and UK Core installed from the shared mirror."""

from __future__ import annotations

import copy
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fhir_family.cli import main
from fhir_family.conformance import Validator, default_validator
from fhir_family.guide import CANONICAL, PACKAGE_ID, PACKAGE_VERSION, core_package_dir, guide_dependency_dirs
from fhir_family.outcome import message_id

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
UK_CORE = Path("/work/shared/fhir-packages/fhir.r4.ukcore.stu3.currentbuild-0.0.0-3d2827e3.tgz")
UK_CORE_SPEC = "fhir.r4.ukcore.stu3.currentbuild#0.0.0-3d2827e3"
UK_PATIENT = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"
VENDOR = "https://vendor.example/fhir/StructureDefinition/vendor-parent-patient"


def errors(outcome: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (i["expression"][0] if i.get("expression") else "", message_id(i) or "")
        for i in outcome["issue"]
        if i["severity"] in ("error", "fatal")
    ]


def write_tgz(path: Path, manifest: dict[str, Any], resources: list[dict[str, Any]]) -> Path:
    files = {"package/package.json": manifest}
    files.update({f"package/{r['resourceType']}-{r['id']}.json": r for r in resources})
    with tarfile.open(path, "w:gz") as archive:
        for name, content in files.items():
            data = json.dumps(content).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def vendor_profile() -> dict[str, Any]:
    """A vendor's profile derived from the guide's ParentPatient: it also requires Patient.active."""
    return {
        "resourceType": "StructureDefinition",
        "id": "vendor-parent-patient",
        "url": VENDOR,
        "name": "VendorParentPatient",
        "status": "draft",
        "fhirVersion": "4.0.1",
        "kind": "resource",
        "abstract": False,
        "type": "Patient",
        "derivation": "constraint",
        "baseDefinition": f"{CANONICAL}/StructureDefinition/parent-patient",
        "differential": {"element": [{"id": "Patient.active", "path": "Patient.active", "min": 1}]},
    }


@pytest.fixture
def vendor_tgz(tmp_path: Path) -> Path:
    manifest = {
        "name": "vendor.guide",
        "version": "1.0.0",
        "dependencies": {"hl7.fhir.r4.core": "4.0.1", PACKAGE_ID: PACKAGE_VERSION},
    }
    return write_tgz(tmp_path / "vendor.tgz", manifest, [vendor_profile()])


@pytest.fixture
def vendor_patient(tmp_path: Path) -> Path:
    bundle = json.loads((EXAMPLES / "bundles" / "young-carer-daughter.json").read_text())
    patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    patient = copy.deepcopy(patient)
    patient["meta"] = {"profile": [VENDOR]}
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(patient))
    return path


def run(*args: str) -> Any:
    return CliRunner().invoke(main, ["validate", "--format", "json", *args])


def test_a_derived_vendor_package_validates_its_instances_with_one_command(
    vendor_tgz: Path, vendor_patient: Path
) -> None:
    without = run(str(vendor_patient))
    assert without.exit_code == 1  # the vendor's profile is not loaded: an error, never "valid"
    assert errors(json.loads(without.stdout)) == [("Patient.meta.profile[0]", "FF-PROFILE-UNKNOWN")]
    result = run("--guide", str(vendor_tgz), str(vendor_patient))
    assert result.exit_code == 1, result.output
    assert errors(json.loads(result.stdout)) == [("Patient.active", "FF-CARDINALITY-MIN")]
    patient = json.loads(vendor_patient.read_text())
    patient["active"] = True
    vendor_patient.write_text(json.dumps(patient))
    assert run("--guide", str(vendor_tgz), str(vendor_patient)).exit_code == 0
    # The base profile's rules still apply through the derived one.
    del patient["birthDate"]
    vendor_patient.write_text(json.dumps(patient))
    assert ("Patient.birthDate", "FF-CARDINALITY-MIN") in errors(
        json.loads(run("--guide", str(vendor_tgz), str(vendor_patient)).stdout)
    )


def test_guides_by_name_from_the_cache_with_dependencies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vendor_patient: Path
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "hl7.fhir.r4.core#4.0.1").symlink_to(core_package_dir().parent)
    for folder in guide_dependency_dirs():  # UK Core, which the built-in guide depends on
        (cache / folder.parent.name).symlink_to(folder.parent)
    monkeypatch.setenv("FHIR_PACKAGE_CACHE", str(cache))
    # vendor.app depends on vendor.guide (the profile); both are installed, then named by name#version.
    base = write_tgz(
        tmp_path / "base.tgz",
        {"name": "vendor.guide", "version": "1.0.0", "dependencies": {PACKAGE_ID: PACKAGE_VERSION}},
        [vendor_profile()],
    )
    app = write_tgz(
        tmp_path / "app.tgz",
        {"name": "vendor.app", "version": "2.0.0", "dependencies": {"vendor.guide": "1.0.0"}},
        [{"resourceType": "ValueSet", "id": "app", "url": "https://vendor.example/ValueSet/app"}],
    )
    runner = CliRunner()
    for tgz in (base, app):
        assert runner.invoke(main, ["packages", "install", str(tgz)]).exit_code == 0
    # vendor.guide depends on this project's guide: installed from the built-in guide, offline.
    assert (cache / f"{PACKAGE_ID}#{PACKAGE_VERSION}" / "package" / "package.json").is_file()
    validator = Validator.from_packages("vendor.app#2.0.0")
    assert validator.store.get(VENDOR) is not None  # came in as vendor.app's dependency
    outcome = validator.validate(json.loads(vendor_patient.read_text()))
    assert errors(outcome) == [("Patient.active", "FF-CARDINALITY-MIN")]
    # A dependency missing from the cache: one line naming the command that installs it.
    lonely = write_tgz(
        tmp_path / "lonely.tgz", {"name": "x", "version": "1", "dependencies": {"y.z": "3.0"}}, []
    )
    result = run("--guide", str(lonely), str(vendor_patient))
    assert result.exit_code == 2
    assert (
        "y.z#3.0 (a dependency of" in result.stderr
        and "fhir-family packages install y.z#3.0" in result.stderr
    )
    missing = run("--guide", "not.installed#1.0", str(vendor_patient))
    assert missing.exit_code == 2 and "fhir-family packages install not.installed#1.0" in missing.stderr


def _drop_profiles(bundle: dict) -> None:
    """No meta.profile anywhere (the Bundle keeps its meta extensions: the return's reporting period)."""
    for resource in [bundle, *(e["resource"] for e in bundle["entry"])]:
        resource.get("meta", {}).pop("profile", None)
        if not resource.get("meta"):
            resource.pop("meta", None)


def test_plain_r4_mode(tmp_path: Path) -> None:
    """--no-guide: no role profiles, no national-return rules; R4 alone, or a named profile."""
    bundle = json.loads((EXAMPLES / "bundles" / "young-carer-daughter.json").read_text())
    _drop_profiles(bundle)
    patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    patient.pop("extension")  # parental-status is required by ParentPatient, not by R4
    patient["identifier"][0].pop("extension")  # UK Core's NHS number verification status: not the guide's
    path = tmp_path / "return.json"
    path.write_text(json.dumps(bundle))
    guided = run(str(path))  # a national return by its identifier: role profiles apply
    assert ("Bundle.entry[1].resource.extension", "FF-CARDINALITY-MIN") in errors(json.loads(guided.stdout))
    # R4 alone does not define the guide's child extensions: unknown extensions are errors by default, as in
    # HL7's validator, and allowed by prefix or reported as warnings on request
    plain = run("--no-guide", str(path))
    assert plain.exit_code == 1
    assert {m for _, m in errors(json.loads(plain.stdout))} == {"FF-EXT-UNKNOWN"}
    allowed = run("--no-guide", "--unknown-extensions", "https://fhir-family.uk/fhir/", str(path))
    assert allowed.exit_code == 0, allowed.output
    warned = run("--no-guide", "--unknown-extensions", "warning", str(path))
    assert warned.exit_code == 0, warned.output
    patient["birthDate"] = "1980-13-01"
    path.write_text(json.dumps(bundle))
    lenient = ("--no-guide", "--unknown-extensions", "warning", str(path))
    assert errors(json.loads(run(*lenient).stdout)) == [("Bundle.entry[1].resource.birthDate", "FF-FORMAT")]
    both = run("--no-guide", "--unknown-extensions", "warning", "--unknown-extensions", "error", str(path))
    assert both.exit_code == 2 and "--unknown-extensions" in both.stderr
    observation = {"resourceType": "Observation", "status": "final", "code": {"text": "weight"}}
    obs = tmp_path / "obs.json"
    obs.write_text(json.dumps(observation))
    assert run("--no-guide", str(obs)).exit_code == 0
    named = run("--no-guide", "--profile", "http://hl7.org/fhir/StructureDefinition/bodyweight", str(obs))
    assert named.exit_code == 1 and errors(json.loads(named.stdout))


def test_role_profiles_that_are_not_loaded_are_errors() -> None:
    """A national return validated without the guide: its role profiles were not checked, so it fails."""
    bundle = json.loads((EXAMPLES / "bundles" / "young-carer-daughter.json").read_text())
    _drop_profiles(bundle)
    bare = Validator.from_packages(builtin_guide=False)
    found = errors(bare.validate(bundle))
    assert ("Bundle", "FF-PROFILE-UNKNOWN") in found
    assert ("Bundle.entry[1].resource", "FF-PROFILE-UNKNOWN") in found
    relaxed = Validator.from_packages(builtin_guide=False, unknown_profiles="warning")
    # without the guide its extensions are unknown too: errors by default, as in HL7's validator
    assert {m for _, m in errors(relaxed.validate(bundle))} == {"FF-EXT-UNKNOWN"}
    lenient = Validator.from_packages(
        builtin_guide=False, unknown_profiles="warning", unknown_extensions="warning"
    )
    assert errors(lenient.validate(bundle)) == []
    assert errors(default_validator().validate(bundle)) == []


def _global_guide(folder: Path, profile_url: str) -> Path:
    folder.mkdir()
    guide = {
        "resourceType": "ImplementationGuide",
        "id": "g",
        "url": "https://vendor.example/ImplementationGuide/g",
        "name": "G",
        "status": "draft",
        "packageId": "vendor.g",
        "fhirVersion": ["4.0.1"],
        "global": [{"type": "Patient", "profile": profile_url}],
    }
    profile = {
        **vendor_profile(),
        "id": "active-patient",
        "url": "https://vendor.example/sd/active-patient",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient",
    }
    (folder / "ImplementationGuide-g.json").write_text(json.dumps(guide))
    (folder / "StructureDefinition-active-patient.json").write_text(json.dumps(profile))
    return folder


def test_implementation_guide_global_profiles_apply(tmp_path: Path) -> None:
    patient = {"resourceType": "Patient", "gender": "female"}
    folder = _global_guide(tmp_path / "g", "https://vendor.example/sd/active-patient")
    validator = Validator.from_packages(folder, builtin_guide=False)
    assert errors(validator.validate(patient)) == [("Patient.active", "FF-CARDINALITY-MIN")]
    assert errors(validator.validate({**patient, "active": True})) == []
    # Inside a Bundle too, and alongside a declared profile.
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": "urn:uuid:6f1c6a55-7f0e-4c55-9b1e-2f7d0b6f3a01", "resource": patient}],
    }
    assert errors(validator.validate(bundle)) == [("Bundle.entry[0].resource.active", "FF-CARDINALITY-MIN")]
    unloaded = Validator.from_packages(
        _global_guide(tmp_path / "h", "https://vendor.example/sd/nope"), builtin_guide=False
    )
    assert errors(unloaded.validate(patient)) == [("Patient", "FF-PROFILE-UNKNOWN")]


@pytest.mark.skipif(not UK_CORE.is_file(), reason="the shared UK Core mirror is not on this machine")
def test_uk_core_from_the_mirror_validates_its_profiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "hl7.fhir.r4.core#4.0.1").symlink_to(core_package_dir().parent)
    monkeypatch.setenv("FHIR_PACKAGE_CACHE", str(cache))
    result = CliRunner().invoke(main, ["packages", "install", "--mirror", str(UK_CORE.parent), UK_CORE_SPEC])
    assert result.exit_code == 0, result.output
    example = (
        cache / UK_CORE_SPEC / "package" / "examples" / "Patient-UKCore-Patient-RichardSmith-Example.json"
    )
    patient = json.loads(example.read_text())
    patient["meta"] = {"profile": [UK_PATIENT]}
    patient["extension"] = [
        {
            "url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory",
            "valueString": "not a CodeableConcept",
        }
    ]
    path = tmp_path / "uk-patient.json"
    path.write_text(json.dumps(patient))
    # The differential-only profiles get their snapshots in memory; the extension's definition applies.
    uk = run("--no-builtin-guide", "--guide", UK_CORE_SPEC, str(path))
    assert uk.exit_code == 1, uk.output
    assert errors(json.loads(uk.stdout)) == [("Patient.extension[0].value.ofType(string)", "FF-TYPE")]
    del patient["extension"]
    path.write_text(json.dumps(patient))
    assert run("--guide", UK_CORE_SPEC, str(path)).exit_code == 0


def test_a_missing_built_in_guide_is_an_error_not_a_pass(tmp_path: Path) -> None:
    """The issue's false pass came from a guide dropped in silence; now it is exit 2 naming the fix."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "FHIR_FAMILY_GUIDE": str(tmp_path / "nowhere")}
    invalid = EXAMPLES / "invalid" / "child-missing-birthdate.json"
    code = "import sys; from fhir_family.cli import main; sys.exit(main())"
    done = subprocess.run(
        [sys.executable, "-c", code, "validate", str(invalid)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "FHIR_FAMILY_GUIDE: no StructureDefinitions at" in done.stderr and "make ig" in done.stderr
    assert "Traceback" not in done.stderr


def test_entry_slicing_enforces_each_entry_profile_without_meta_profile() -> None:
    """Plain-R4 mode (no role profiles, as a generic validator): only the Bundle names NationalReturnBundle,
    yet its entry slicing checks the child against DependentChild and the Patient against ParentPatient."""
    from fhir_family.conformance.packages import DefinitionStore

    bundle = json.loads((EXAMPLES / "bundles" / "young-carer-daughter.json").read_text())
    for entry in bundle["entry"]:
        entry["resource"].pop("meta")
    generic = Validator(DefinitionStore.default(), role_profiles=False)
    assert errors(generic.validate(bundle)) == []
    bundle["entry"][3]["resource"]["telecom"] = [{"system": "phone", "value": "07700900123"}]
    bundle["entry"][1]["resource"]["identifier"].pop(1)  # the provider-record id ParentPatient requires
    assert errors(generic.validate(bundle)) == [
        ("Bundle.entry[1].resource.identifier", "FF-CARDINALITY-MIN"),
        ("Bundle.entry[3].resource.telecom", "FF-CARDINALITY-MAX"),
    ]
