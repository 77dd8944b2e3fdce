"""The committed guide JSON says what docs/model.md says, and the staleness check catches hand edits.

Expected values are written out here from the contract, so a change to the FSH that drifts from docs/model.md
fails a test. External code systems (v3-RoleCode, v2-0063) are checked against the genuine R4 core package.
"""

from __future__ import annotations

import json
import re
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from conftest import find_sushi
from fhir_family.guide import CANONICAL, REPO_ROOT, core_package_dir, guide_resources_dir
from fhir_family.guide import build as igbuild

Resource = dict[str, Any]
V3_ROLECODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
V2_0063 = "http://terminology.hl7.org/CodeSystem/v2-0063"
UKCORE_REL = "https://fhir.hl7.org.uk/CodeSystem/UKCore-AdditionalPersonRelationshipRole"
NHS = "https://fhir.nhs.uk/Id/nhs-number"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"


@cache
def resources() -> dict[tuple[str, str], Resource]:
    """Every generated resource by (resourceType, id); also checks file names follow {type}-{id}.json."""
    found = {}
    for path in sorted(guide_resources_dir().glob("*.json")):
        resource = json.loads(path.read_text(encoding="utf-8"))
        assert path.name == f"{resource['resourceType']}-{resource['id']}.json"
        found[(resource["resourceType"], resource["id"])] = resource
    return found


def get(resource_type: str, resource_id: str) -> Resource:
    return resources()[(resource_type, resource_id)]


def element(sd: Resource, element_id: str) -> Resource:
    matches = [e for e in sd["differential"]["element"] if e["id"] == element_id]
    assert matches, f"{sd['id']} has no differential element {element_id}"
    return matches[0]


@cache
def _compiler() -> Any:
    from fhir_family.conformance.compiler import Compiler
    from fhir_family.conformance.packages import DefinitionStore

    return Compiler(DefinitionStore.default())


def snapshot_element(sd_id: str, element_id: str) -> Resource:
    """An element of a profile's generated snapshot: what it inherits from UK Core plus its differential."""
    elements = _compiler().snapshot(f"{CANONICAL}/StructureDefinition/{sd_id}")
    matches = [e for e in elements if e["id"] == element_id]
    assert matches, f"{sd_id} has no snapshot element {element_id}"
    return matches[0]


def local_codes(cs_id: str) -> dict[str, str]:
    return {c["code"]: c["display"] for c in get("CodeSystem", cs_id)["concept"]}


@cache
def core_codes(file_name: str) -> dict[str, str]:
    """Codes and displays of a CodeSystem in the genuine core package, nested concepts included."""
    cs = json.loads((core_package_dir() / file_name).read_text(encoding="utf-8"))
    codes: dict[str, str] = {}

    def walk(concepts: list[Resource]) -> None:
        for concept in concepts:
            codes[concept["code"]] = concept.get("display", "")
            walk(concept.get("concept", []))

    walk(cs["concept"])
    return codes


def system_codes(system: str) -> dict[str, str] | None:
    """Codes of a system the guide can check: its own CodeSystems and the two core ones; None for UK Core."""
    if system == V3_ROLECODE:
        return core_codes("CodeSystem-v3-RoleCode.json")
    if system == V2_0063:
        return core_codes("CodeSystem-v2-0063.json")
    if system.startswith(f"{CANONICAL}/CodeSystem/"):
        return local_codes(system.rsplit("/", 1)[1])
    return None


def value_set_codes(vs_id: str) -> set[tuple[str, str]]:
    """(system, code) pairs of a ValueSet's compose, whole-system includes expanded from the CodeSystem."""
    pairs = set()
    for include in get("ValueSet", vs_id)["compose"]["include"]:
        if "concept" in include:
            pairs |= {(include["system"], c["code"]) for c in include["concept"]}
        else:
            codes = system_codes(include["system"])
            assert codes is not None, include["system"]
            pairs |= {(include["system"], code) for code in codes}
    return pairs


# --- the inventory ---

PROFILES = {
    "parent-patient": ("ParentPatient", "Patient"),
    "dependent-child": ("DependentChild", "RelatedPerson"),
    "reporting-provider": ("ReportingProvider", "Organization"),
    "mental-health-episode": ("MentalHealthEpisode", "EpisodeOfCare"),
    "national-return-bundle": ("NationalReturnBundle", "Bundle"),
    "pseudonymised-parent-patient": ("PseudonymisedParentPatient", "Patient"),
    "pseudonymised-dependent-child": ("PseudonymisedDependentChild", "RelatedPerson"),
}
EXTENSIONS = {
    "parental-status": ["Patient"],
    "parental-responsibility": ["RelatedPerson"],
    "child-residence": ["RelatedPerson"],
    "young-carer": ["RelatedPerson"],
    "help-and-protection": ["RelatedPerson"],
    "reporting-period": ["Bundle.meta"],
    "legal-basis": ["Bundle.meta"],
    "local-authority": ["Patient", "RelatedPerson"],
    "think-family-referral": ["RelatedPerson"],
    "child-nhs-number-verification": ["RelatedPerson.identifier"],
}
#: the 0.2 CodeSystems whose ValueSet holds every code (same id), beside the 0.1 ones
NEW_CODE_SYSTEMS = [
    "parental-responsibility-restriction",
    "asked-by-role",
    "parental-status-source",
    "support-offered",
    "think-family-action",
    "think-family-outcome",
    "legal-basis",
    "mhsds-team-type",
]
CODE_SYSTEMS = [
    "parental-status",
    "ndtms-prntstat",
    "yes-no-unknown",
    "parental-responsibility-basis",
    "child-residence",
    "help-and-protection",
    *NEW_CODE_SYSTEMS,
]
VALUE_SETS = [
    "parental-status",
    "yes-no-unknown",
    "parental-responsibility-basis",
    "child-residence",
    "child-help-and-protection",
    "unborn-help-and-protection",
    "dependent-child-relationship",
    *NEW_CODE_SYSTEMS,
]
CONCEPT_MAPS = ["v2-0063-to-dependent-child-relationship", "parental-status-to-ndtms-prntstat"]


def test_the_generated_folder_holds_exactly_the_guide() -> None:
    expected = {("StructureDefinition", i) for i in [*PROFILES, *EXTENSIONS]}
    expected |= {("CodeSystem", i) for i in CODE_SYSTEMS} | {("ValueSet", i) for i in VALUE_SETS}
    expected |= {("ConceptMap", i) for i in CONCEPT_MAPS} | {("ImplementationGuide", "uk.fhir-family.r4")}
    assert set(resources()) == expected


@pytest.mark.parametrize(
    "key",
    sorted(
        k
        for k in [("StructureDefinition", i) for i in [*PROFILES, *EXTENSIONS]]
        + [("CodeSystem", i) for i in CODE_SYSTEMS]
        + [("ValueSet", i) for i in VALUE_SETS]
        + [("ConceptMap", i) for i in CONCEPT_MAPS]
    ),
    ids=str,
)
def test_every_conformance_resource_carries_the_package_metadata(key: tuple[str, str]) -> None:
    resource = get(*key)
    assert resource["url"] == f"{CANONICAL}/{key[0]}/{key[1]}"
    assert resource["version"] == "0.2.0"
    assert resource["status"] == "draft"
    assert resource["publisher"] == "fhir-family"
    assert resource["date"] == "2026-11-23"
    assert resource["jurisdiction"][0]["coding"][0] | {"display": None} == {
        "system": "urn:iso:std:iso:3166:-2",
        "code": "GB-ENG",
        "display": None,
    }
    assert resource["name"][0].isupper() and resource["name"].isidentifier()
    assert resource["contact"][0]["telecom"][0] == {"system": "email", "value": "guide@fhir-family.uk"}
    assert "OHID" in resource["copyright"]
    if key[0] != "ConceptMap":
        assert resource["purpose"]


def test_implementation_guide_is_the_package_metadata() -> None:
    ig = get("ImplementationGuide", "uk.fhir-family.r4")
    assert ig["url"] == f"{CANONICAL}/ImplementationGuide/uk.fhir-family.r4"
    assert ig["packageId"] == "uk.fhir-family.r4"
    assert ig["version"] == "0.2.0"
    assert ig["fhirVersion"] == ["4.0.1"]
    assert ig["status"] == "draft"
    assert ig["jurisdiction"][0]["coding"][0]["code"] == "GB-ENG"
    assert [(d["packageId"], d["version"]) for d in ig["dependsOn"]] == [
        ("fhir.r4.ukcore.stu3.currentbuild", "0.0.0-3d2827e3")
    ]
    definitions = [e for e in ig["definition"]["resource"] if "exampleCanonical" not in e]
    listed = [entry["reference"]["reference"] for entry in definitions]
    assert sorted(listed) == sorted(f"{t}/{i}" for (t, i) in resources() if t != "ImplementationGuide")
    groups = {g["id"] for g in ig["definition"]["grouping"]}
    for entry in definitions:
        resource = get(*entry["reference"]["reference"].split("/"))
        assert entry["name"] == resource["title"]
        assert entry["exampleBoolean"] is False
        assert entry["groupingId"] in groups  # ig-1
    assert "page" not in ig["definition"] and "parameter" not in ig["definition"]


def test_implementation_guide_lists_every_valid_example_by_its_id() -> None:
    """Each valid example Bundle has its file slug as id and is listed as an example of the Bundle profile."""
    from fhir_family.guide.examples import VALID_EXAMPLES

    ig = get("ImplementationGuide", "uk.fhir-family.r4")
    examples = [e for e in ig["definition"]["resource"] if "exampleCanonical" in e]
    assert [e["reference"]["reference"] for e in examples] == [f"Bundle/{slug}" for slug in VALID_EXAMPLES]
    bundle_profile = f"{CANONICAL}/StructureDefinition/national-return-bundle"
    assert {e["exampleCanonical"] for e in examples} == {bundle_profile}
    assert {e["groupingId"] for e in examples} == {"examples"}
    for slug in VALID_EXAMPLES:
        bundle = json.loads((REPO_ROOT / "examples" / "bundles" / f"{slug}.json").read_text(encoding="utf-8"))
        assert bundle["id"] == slug


def test_implementation_guide_says_what_sushi_config_says() -> None:
    """sushi-config.yaml is the readable statement of the package metadata (igpackage reads it for
    package.json); with FSHOnly the ImplementationGuide is an FSH Instance, so the two must agree."""
    import yaml

    config = yaml.safe_load((REPO_ROOT / "profiles" / "sushi-config.yaml").read_text(encoding="utf-8"))
    ig = get("ImplementationGuide", "uk.fhir-family.r4")
    assert ig["id"] == ig["packageId"] == config["id"]
    assert ig["url"] == f"{config['canonical']}/ImplementationGuide/{config['id']}"
    for key in ["version", "name", "title", "status", "license", "experimental"]:
        assert ig[key] == config[key], key
    assert ig["description"] == config["description"].strip()
    assert ig["date"] == str(config["date"])
    assert ig["fhirVersion"] == [config["fhirVersion"]]
    assert ig["publisher"] == config["publisher"]["name"]
    assert ig["contact"][0]["telecom"][0]["value"] == config["publisher"]["url"]
    system, rest = config["jurisdiction"].split("#", 1)
    code, display = rest.split(" ", 1)
    assert ig["jurisdiction"][0]["coding"] == [
        {"code": code, "system": system, "display": display.strip('"')}
    ]


# --- StructureDefinitions ---


@pytest.mark.parametrize("sd_id", PROFILES)
def test_profile_identity(sd_id: str) -> None:
    name, base = PROFILES[sd_id]
    sd = get("StructureDefinition", sd_id)
    assert (sd["name"], sd["type"], sd["kind"], sd["derivation"], sd["abstract"], sd["fhirVersion"]) == (
        name,
        base,
        "resource",
        "constraint",
        False,
        "4.0.1",
    )
    if base == "Bundle":  # UK Core has no Bundle profile
        assert sd["baseDefinition"] == "http://hl7.org/fhir/StructureDefinition/Bundle"
    else:
        assert sd["baseDefinition"] == f"https://fhir.hl7.org.uk/StructureDefinition/UKCore-{base}"


@pytest.mark.parametrize("sd_id", EXTENSIONS)
def test_extension_identity_and_context(sd_id: str) -> None:
    sd = get("StructureDefinition", sd_id)
    assert (sd["type"], sd["kind"], sd["derivation"]) == ("Extension", "complex-type", "constraint")
    assert sd["baseDefinition"] == "http://hl7.org/fhir/StructureDefinition/Extension"
    assert sd["context"] == [{"type": "element", "expression": where} for where in EXTENSIONS[sd_id]]
    assert element(sd, "Extension.url")["fixedUri"] == sd["url"]


SIMPLE_EXTENSIONS = {
    "child-residence": "child-residence",
    "young-carer": "yes-no-unknown",
    "help-and-protection": "child-help-and-protection",
}


@pytest.mark.parametrize(("sd_id", "vs_id"), SIMPLE_EXTENSIONS.items())
def test_simple_extension_is_a_required_codeable_concept(sd_id: str, vs_id: str) -> None:
    sd = get("StructureDefinition", sd_id)
    value = element(sd, "Extension.value[x]")
    assert value["min"] == 1
    assert value["type"] == [{"code": "CodeableConcept"}]
    assert value["binding"] == {"strength": "required", "valueSet": f"{CANONICAL}/ValueSet/{vs_id}"}
    assert element(sd, "Extension.extension")["max"] == "0"


# (extension, part): (min, max, type, required ValueSet or None)
COMPLEX_PARTS = {
    ("parental-status", "status"): (1, "1", "CodeableConcept", "parental-status"),
    ("parental-status", "childrenInHousehold"): (0, "1", "unsignedInt", None),
    ("parental-status", "expectingChild"): (0, "1", "boolean", None),
    ("parental-status", "expectedDueDate"): (0, "1", "date", None),
    ("parental-status", "unbornChildHelp"): (0, "1", "CodeableConcept", "unborn-help-and-protection"),
    ("parental-status", "dateAsked"): (0, "1", "date", None),
    ("parental-status", "askedBy"): (0, "1", "CodeableConcept", "asked-by-role"),
    ("parental-status", "source"): (0, "1", "CodeableConcept", "parental-status-source"),
    ("parental-status", "supportOffered"): (0, "*", "CodeableConcept", "support-offered"),
    ("parental-responsibility", "held"): (1, "1", "CodeableConcept", "yes-no-unknown"),
    ("parental-responsibility", "basis"): (0, "*", "CodeableConcept", "parental-responsibility-basis"),
    ("parental-responsibility", "restriction"): (
        0, "*", "CodeableConcept", "parental-responsibility-restriction"
    ),
    ("think-family-referral", "action"): (1, "1", "CodeableConcept", "think-family-action"),
    ("think-family-referral", "outcome"): (0, "1", "CodeableConcept", "think-family-outcome"),
}


@pytest.mark.parametrize(("where", "expected"), COMPLEX_PARTS.items(), ids=[p for _, p in COMPLEX_PARTS])
def test_complex_extension_parts(where: tuple[str, str], expected: tuple[Any, ...]) -> None:
    sd_id, part = where
    minimum, maximum, type_code, vs_id = expected
    sd = get("StructureDefinition", sd_id)
    slice_id = f"Extension.extension:{part}"
    assert (element(sd, slice_id)["min"], element(sd, slice_id)["max"]) == (minimum, maximum)
    assert element(sd, f"{slice_id}.url")["fixedUri"] == part
    value = element(sd, f"{slice_id}.value[x]")
    assert value["min"] == 1
    assert value["type"] == [{"code": type_code}]
    if vs_id:
        assert value["binding"] == {"strength": "required", "valueSet": f"{CANONICAL}/ValueSet/{vs_id}"}
    else:
        assert "binding" not in value
    assert element(sd, "Extension.value[x]")["max"] == "0"


def test_complex_extensions_have_no_other_parts() -> None:
    for sd_id in ["parental-status", "parental-responsibility", "think-family-referral"]:
        sd = get("StructureDefinition", sd_id)
        slices = {
            e["sliceName"]
            for e in sd["differential"]["element"]
            if e["path"] == "Extension.extension" and "sliceName" in e
        }
        assert slices == {part for (ext, part) in COMPLEX_PARTS if ext == sd_id}


def test_reporting_period_needs_start_and_end() -> None:
    sd = get("StructureDefinition", "reporting-period")
    assert element(sd, "Extension.value[x]")["type"] == [{"code": "Period"}]
    for end in ["start", "end"]:
        assert element(sd, f"Extension.value[x].{end}")["min"] == 1
    assert "reportingPeriod" not in json.dumps(get("StructureDefinition", "parental-status"))


def test_local_authority_is_a_gss_coding() -> None:
    sd = get("StructureDefinition", "local-authority")
    assert element(sd, "Extension.value[x]")["type"] == [{"code": "Coding"}]
    assert element(sd, "Extension.value[x].system")["fixedUri"] == (
        "http://statistics.data.gov.uk/id/statistical-geography"
    )
    assert element(sd, "Extension.value[x].code")["min"] == 1
    assert [c["key"] for c in element(sd, "Extension")["constraint"]] == ["ff-la-1"]


def test_bundle_meta_carries_the_return_facts() -> None:
    sd = get("StructureDefinition", "national-return-bundle")
    for slice_name, ext in [("reportingPeriod", "reporting-period"), ("legalBasis", "legal-basis")]:
        found = element(sd, f"Bundle.meta.extension:{slice_name}")
        assert (found["min"], found["max"]) == (1, "1")
        assert found["type"] == [{"code": "Extension", "profile": [f"{CANONICAL}/StructureDefinition/{ext}"]}]
    assert element(sd, "Bundle.identifier.system")["fixedUri"] == "https://fhir-family.uk/fhir/Id/submission"


def test_bundle_entries_are_sliced_by_type_with_a_profile_each() -> None:
    """As HL7 IPS slices its Bundle: a generic validator enforces each entry's profile (no meta.profile)."""
    sd = get("StructureDefinition", "national-return-bundle")
    slicing = element(sd, "Bundle.entry")["slicing"]
    assert slicing["discriminator"] == [{"type": "type", "path": "resource"}]
    expected = {
        "organization": (1, "1", "Organization", "reporting-provider", "ff-bun-14"),
        "patient": (1, "1", "Patient", "parent-patient", "ff-bun-11"),
        "episode": (1, "1", "EpisodeOfCare", "mental-health-episode", "ff-bun-12"),
        "child": (0, "*", "RelatedPerson", "dependent-child", "ff-bun-13"),
    }
    for name, (minimum, maximum, type_code, profile, key) in expected.items():
        entry = element(sd, f"Bundle.entry:{name}")
        assert (entry["min"], entry["max"]) == (minimum, maximum)
        assert [c["key"] for c in entry["constraint"]] == [key]
        resource = element(sd, f"Bundle.entry:{name}.resource")
        assert resource["type"] == [
            {"code": type_code, "profile": [f"{CANONICAL}/StructureDefinition/{profile}"]}
        ]


PROHIBITED = {
    "parent-patient": [
        "text",
        "name",
        "telecom",
        "address",
        "photo",
        "contact",
        "maritalStatus",
        "communication",
        "generalPractitioner",
        "link",
    ],
    "dependent-child": ["text", "name", "telecom", "address", "photo", "communication"],
    "mental-health-episode": ["text", "diagnosis", "referralRequest", "careManager", "team", "account"],
    "pseudonymised-parent-patient": [
        "text",
        "name",
        "telecom",
        "address",
        "photo",
        "contact",
        "maritalStatus",
        "communication",
        "generalPractitioner",
        "link",
        "identifier:nhsNumber",
    ],
    "pseudonymised-dependent-child": [
        "text", "name", "telecom", "address", "photo", "communication", "identifier:nhsNumber"
    ],
}


@pytest.mark.parametrize(("sd_id", "path"), [(s, p) for s, paths in PROHIBITED.items() for p in paths])
def test_data_minimisation_prohibits(sd_id: str, path: str) -> None:
    sd = get("StructureDefinition", sd_id)
    assert element(sd, f"{sd['type']}.{path}")["max"] == "0"


def test_nothing_else_is_prohibited() -> None:
    for sd_id in PROFILES:
        sd = get("StructureDefinition", sd_id)
        zero = {
            e["id"].split(".", 1)[1]
            for e in sd["differential"]["element"]
            if e.get("max") == "0" and e["id"].count(".") == 1
        }
        assert zero == set(PROHIBITED.get(sd_id, [])), sd_id


# (profile, element id): (min or None, max or None)
CARDINALITIES = {
    ("parent-patient", "Patient.identifier:nhsNumber"): (1, "1"),
    ("parent-patient", "Patient.identifier:nhsNumber.value"): (1, None),
    ("parent-patient", "Patient.birthDate"): (1, None),
    ("parent-patient", "Patient.gender"): (1, None),
    ("parent-patient", "Patient.managingOrganization"): (1, None),
    ("parent-patient", "Patient.extension:parentalStatus"): (1, "1"),
    ("dependent-child", "RelatedPerson.relationship"): (1, "1"),
    ("dependent-child", "RelatedPerson.birthDate"): (1, None),
    ("dependent-child", "RelatedPerson.identifier:nhsNumber"): (0, "1"),
    ("dependent-child", "RelatedPerson.identifier:nhsNumber.value"): (1, None),
    ("dependent-child", "RelatedPerson.extension:parentalResponsibility"): (1, "1"),
    ("dependent-child", "RelatedPerson.extension:childResidence"): (1, "1"),
    ("dependent-child", "RelatedPerson.extension:youngCarer"): (1, "1"),
    ("dependent-child", "RelatedPerson.extension:helpAndProtection"): (1, "*"),
    ("dependent-child", "RelatedPerson.extension:thinkFamilyReferral"): (0, "1"),
    ("dependent-child", "RelatedPerson.extension:localAuthority"): (0, "1"),
    ("dependent-child", "RelatedPerson.identifier:providerRecord"): (1, "1"),
    ("parent-patient", "Patient.identifier:providerRecord"): (1, "1"),
    ("parent-patient", "Patient.extension:localAuthority"): (0, "1"),
    ("mental-health-episode", "EpisodeOfCare.identifier:providerRecord"): (1, "1"),
    ("mental-health-episode", "EpisodeOfCare.identifier:mhsdsServiceRequest"): (1, "1"),
    ("mental-health-episode", "EpisodeOfCare.type"): (1, None),
    ("pseudonymised-parent-patient", "Patient.identifier:nhsNumber"): (0, "0"),
    ("pseudonymised-parent-patient", "Patient.identifier:pseudonym"): (1, "1"),
    ("pseudonymised-parent-patient", "Patient.identifier:providerRecord"): (0, "1"),
    ("pseudonymised-parent-patient", "Patient.extension:parentalStatus"): (1, "1"),
    ("pseudonymised-dependent-child", "RelatedPerson.identifier:nhsNumber"): (0, "0"),
    ("pseudonymised-dependent-child", "RelatedPerson.identifier:pseudonym"): (0, "1"),
    ("pseudonymised-dependent-child", "RelatedPerson.extension:parentalResponsibility"): (1, "1"),
    ("reporting-provider", "Organization.identifier:odsOrganisationCode"): (1, "1"),
    ("reporting-provider", "Organization.identifier:odsOrganisationCode.value"): (1, None),
    ("mental-health-episode", "EpisodeOfCare.managingOrganization"): (1, None),
    ("mental-health-episode", "EpisodeOfCare.period"): (1, None),
    ("mental-health-episode", "EpisodeOfCare.period.start"): (1, None),
    ("national-return-bundle", "Bundle.identifier"): (1, None),
    ("national-return-bundle", "Bundle.identifier.system"): (1, None),
    ("national-return-bundle", "Bundle.identifier.value"): (1, None),
    ("national-return-bundle", "Bundle.timestamp"): (1, None),
    ("national-return-bundle", "Bundle.entry"): (3, None),
    ("national-return-bundle", "Bundle.entry.fullUrl"): (1, None),
    ("national-return-bundle", "Bundle.entry.resource"): (1, None),
    ("national-return-bundle", "Bundle.entry.request"): (1, None),
}


@pytest.mark.parametrize(("where", "expected"), CARDINALITIES.items(), ids=[e for _, e in CARDINALITIES])
def test_cardinality(where: tuple[str, str], expected: tuple[int | None, str | None]) -> None:
    found = snapshot_element(*where)  # the final cardinality, UK Core's included
    minimum, maximum = expected
    assert found.get("min") == minimum
    if maximum is not None:
        assert found.get("max") == maximum


def test_extension_slices_use_the_guide_extensions() -> None:
    expected = {
        ("parent-patient", "Patient.extension:parentalStatus"): "parental-status",
        ("dependent-child", "RelatedPerson.extension:parentalResponsibility"): "parental-responsibility",
        ("dependent-child", "RelatedPerson.extension:childResidence"): "child-residence",
        ("dependent-child", "RelatedPerson.extension:youngCarer"): "young-carer",
        ("dependent-child", "RelatedPerson.extension:helpAndProtection"): "help-and-protection",
        ("dependent-child", "RelatedPerson.extension:thinkFamilyReferral"): "think-family-referral",
        ("dependent-child", "RelatedPerson.extension:localAuthority"): "local-authority",
        ("parent-patient", "Patient.extension:localAuthority"): "local-authority",
    }
    for (sd_id, element_id), ext in expected.items():
        found = element(get("StructureDefinition", sd_id), element_id)
        assert found["type"] == [{"code": "Extension", "profile": [f"{CANONICAL}/StructureDefinition/{ext}"]}]


@pytest.mark.parametrize(
    ("sd_id", "base", "slice_name", "system", "invariant"),
    [
        ("parent-patient", "Patient", "nhsNumber", NHS, "ff-nhs-1"),
        ("dependent-child", "RelatedPerson", "nhsNumber", NHS, "ff-nhs-1"),
        ("reporting-provider", "Organization", "odsOrganisationCode", ODS, "ff-ods-1"),
    ],
)
def test_identifier_slices(sd_id: str, base: str, slice_name: str, system: str, invariant: str) -> None:
    """UK Core's slicing and slice names (inherited by Patient and Organization, copied by RelatedPerson)."""
    slicing = snapshot_element(sd_id, f"{base}.identifier")["slicing"]
    assert (slicing["discriminator"], slicing["rules"]) == ([{"type": "value", "path": "system"}], "open")
    identifier = snapshot_element(sd_id, f"{base}.identifier:{slice_name}")
    assert invariant in [c["key"] for c in identifier["constraint"]]
    assert identifier["mustSupport"] is True
    system_element = snapshot_element(sd_id, f"{base}.identifier:{slice_name}.system")
    assert (system_element["min"], system_element["fixedUri"]) == (1, system)


def test_nhs_number_verification_status_is_must_support_on_parent_and_child() -> None:
    """UK Core defines its extension for Patient.identifier only, so a child's NHS number carries the guide's
    child-nhs-number-verification (same UK Core value set) instead."""
    found = snapshot_element(
        "parent-patient", "Patient.identifier:nhsNumber.extension:nhsNumberVerificationStatus"
    )
    assert found["mustSupport"] is True
    assert found["type"][0]["profile"] == [
        "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"
    ]
    ukcore_path = core_package_dir().parent.parent / "fhir.r4.ukcore.stu3.currentbuild#0.0.0-3d2827e3"
    ukcore = ukcore_path / "package" / "StructureDefinition-Extension-UKCore-NHSNumberVerificationStatus.json"
    if ukcore.is_file():
        assert json.loads(ukcore.read_text(encoding="utf-8"))["context"] == [
            {"type": "element", "expression": "Patient.identifier"}
        ]
    child = snapshot_element(
        "dependent-child", "RelatedPerson.identifier:nhsNumber.extension:nhsNumberVerificationStatus"
    )
    assert child["mustSupport"] is True
    assert child["type"][0]["profile"] == [
        "https://fhir-family.uk/fhir/StructureDefinition/child-nhs-number-verification"
    ]
    extension = get("StructureDefinition", "child-nhs-number-verification")
    assert extension["context"] == [{"type": "element", "expression": "RelatedPerson.identifier"}]
    value = next(e for e in extension["differential"]["element"] if e["id"] == "Extension.value[x]")
    binding = value["binding"]
    assert binding == {
        "strength": "required", "valueSet": "https://fhir.hl7.org.uk/ValueSet/UKCore-NHSNumberVerificationStatus"
    }


@pytest.mark.parametrize(
    ("sd_id", "base", "slice_name", "system"),
    [
        ("parent-patient", "Patient", "providerRecord", "https://fhir-family.uk/fhir/Id/provider-record"),
        ("dependent-child", "RelatedPerson", "providerRecord", "https://fhir-family.uk/fhir/Id/provider-record"),
        ("mental-health-episode", "EpisodeOfCare", "providerRecord",
         "https://fhir-family.uk/fhir/Id/provider-record"),
        ("mental-health-episode", "EpisodeOfCare", "mhsdsServiceRequest",
         "https://fhir-family.uk/fhir/Id/mhsds-service-request"),
        ("pseudonymised-parent-patient", "Patient", "pseudonym",
         "https://fhir-family.uk/fhir/Id/nhs-number-pseudonym"),
        ("pseudonymised-dependent-child", "RelatedPerson", "pseudonym",
         "https://fhir-family.uk/fhir/Id/nhs-number-pseudonym"),
    ],
)
def test_business_identifier_slices(sd_id: str, base: str, slice_name: str, system: str) -> None:
    identifier = snapshot_element(sd_id, f"{base}.identifier:{slice_name}")
    assert identifier["mustSupport"] is True
    system_element = snapshot_element(sd_id, f"{base}.identifier:{slice_name}.system")
    assert (system_element["min"], system_element["fixedUri"]) == (1, system)
    assert snapshot_element(sd_id, f"{base}.identifier:{slice_name}.value")["min"] == 1


def test_pseudonym_system_is_the_models() -> None:
    from fhir_family import model

    assert model.PSEUDONYM_SYSTEM == "https://fhir-family.uk/fhir/Id/nhs-number-pseudonym"
    assert model.PROVIDER_RECORD_SYSTEM == "https://fhir-family.uk/fhir/Id/provider-record"
    assert model.MHSDS_SERVICE_REQUEST_SYSTEM == "https://fhir-family.uk/fhir/Id/mhsds-service-request"


def test_team_type_binding_is_extensible() -> None:
    found = element(get("StructureDefinition", "mental-health-episode"), "EpisodeOfCare.type")
    assert found["binding"] == {"strength": "extensible", "valueSet": f"{CANONICAL}/ValueSet/mhsds-team-type"}


@pytest.mark.parametrize(
    ("sd_id", "element_id", "keys"),
    [
        ("parental-status", "Extension", ["ff-ps-1", "ff-ps-2", "ff-ps-4"]),
        ("think-family-referral", "Extension", ["ff-tf-1"]),
        ("local-authority", "Extension", ["ff-la-1"]),
        ("parental-responsibility", "Extension", ["ff-pr-1"]),
        ("dependent-child", "RelatedPerson", ["ff-hp-1", "ff-hp-2", "ff-pr-2", "ff-pr-3"]),
        (
            "national-return-bundle",
            "Bundle",
            [
                "ff-bun-1",
                "ff-bun-2",
                "ff-bun-3",
                "ff-bun-4",
                "ff-bun-5",
                "ff-bun-6",
                "ff-bun-8",
                "ff-bun-9",
                "ff-ps-3",
            ],
        ),
    ],
)
def test_invariants_sit_on_the_contract_element(sd_id: str, element_id: str, keys: list[str]) -> None:
    constraints = element(get("StructureDefinition", sd_id), element_id)["constraint"]
    assert [c["key"] for c in constraints] == keys
    assert all(c["severity"] == "error" and c["human"] and c["expression"] for c in constraints)


@pytest.mark.parametrize(
    ("sd_id", "element_id", "target"),
    [
        ("parent-patient", "Patient.managingOrganization", "reporting-provider"),
        ("dependent-child", "RelatedPerson.patient", "parent-patient"),
        ("mental-health-episode", "EpisodeOfCare.patient", "parent-patient"),
        ("mental-health-episode", "EpisodeOfCare.managingOrganization", "reporting-provider"),
    ],
)
def test_references_target_guide_profiles(sd_id: str, element_id: str, target: str) -> None:
    found = element(get("StructureDefinition", sd_id), element_id)
    assert found["type"] == [
        {"code": "Reference", "targetProfile": [f"{CANONICAL}/StructureDefinition/{target}"]}
    ]


def test_relationship_has_required_binding() -> None:
    found = element(get("StructureDefinition", "dependent-child"), "RelatedPerson.relationship")
    assert found["binding"] == {
        "strength": "required",
        "valueSet": f"{CANONICAL}/ValueSet/dependent-child-relationship",
    }


def test_bundle_type_fixed_to_transaction() -> None:
    assert (
        element(get("StructureDefinition", "national-return-bundle"), "Bundle.type")["fixedCode"]
        == "transaction"
    )


UKCORE_VALUE_SETS = {"https://fhir.hl7.org.uk/ValueSet/UKCore-NHSNumberVerificationStatus"}
"""UK Core value sets the guide binds to (reused, not copied)."""


def test_every_binding_in_the_guide_is_required_and_resolves_to_a_guide_value_set() -> None:
    bindings = [
        (sd["id"], e["id"], e["binding"])
        for (t, _), sd in resources().items()
        if t == "StructureDefinition"
        for e in sd["differential"]["element"]
        if "binding" in e
    ]
    assert len(bindings) == 18
    for sd_id, element_id, binding in bindings:
        # the one extensible binding: the MHSDS team type, an informative copy to be confirmed
        extensible = (sd_id, element_id) == ("mental-health-episode", "EpisodeOfCare.type")
        assert binding["strength"] == ("extensible" if extensible else "required"), (sd_id, element_id)
        if binding["valueSet"] in UKCORE_VALUE_SETS:
            continue
        vs_id = binding["valueSet"].removeprefix(f"{CANONICAL}/ValueSet/")
        assert ("ValueSet", vs_id) in resources(), (sd_id, element_id)


# --- terminology ---

def _contract_codes() -> dict[str, list[str]]:
    from fhir_family import model as m

    return {
        "parental-status": list(m.PARENTAL_STATUS),
        "ndtms-prntstat": ["11", "12", "13", "14", "15"],
        "yes-no-unknown": list(m.YES_NO_UNKNOWN),
        "parental-responsibility-basis": list(m.PR_BASIS),
        "child-residence": list(m.CHILD_RESIDENCE),
        "help-and-protection": list(m.HELP_AND_PROTECTION),
        "parental-responsibility-restriction": list(m.PR_RESTRICTION),
        "asked-by-role": list(m.ASKED_BY_ROLE),
        "parental-status-source": list(m.STATUS_SOURCE),
        "support-offered": list(m.SUPPORT_OFFERED),
        "think-family-action": list(m.THINK_FAMILY_ACTION),
        "think-family-outcome": list(m.THINK_FAMILY_OUTCOME),
        "legal-basis": list(m.LEGAL_BASIS),
        "mhsds-team-type": list(m.MHSDS_TEAM_TYPE),
    }


#: the codes of each CodeSystem, in order: model.py's tables (tests/test_model.py ties them to docs/model.md)
CONTRACT_CODES = _contract_codes()


@pytest.mark.parametrize("cs_id", CODE_SYSTEMS)
def test_code_system_holds_the_contract_codes(cs_id: str) -> None:
    cs = get("CodeSystem", cs_id)
    assert [c["code"] for c in cs["concept"]] == CONTRACT_CODES[cs_id]
    assert all(c["display"] for c in cs["concept"])
    assert (cs["content"], cs["caseSensitive"], cs["count"]) == ("complete", True, len(CONTRACT_CODES[cs_id]))
    if cs_id != "ndtms-prntstat":  # NDTMS's own definitions are not at hand: its description says so
        assert all(len(c.get("definition", "")) > 10 for c in cs["concept"]), cs_id


def contract_displays() -> dict[str, dict[str, str]]:
    """code -> display per code system section of docs/model.md's Terminology (tables, inline lists)."""
    text = (REPO_ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    terminology = text.split("## Terminology", 1)[1].split("## ConceptMaps", 1)[0]
    found: dict[str, dict[str, str]] = {}
    for section in re.split(r"^### ", terminology, flags=re.MULTILINE)[1:]:
        heading, body = section.split("\n", 1)
        pairs = {}
        for line in body.splitlines():
            row = re.match(r"\|\s*`([^`]+)`\s*\|\s*([^|]+?)\s*\|", line)
            if row:
                pairs[row.group(1)] = row.group(2).replace("`", "")
        if not pairs:  # inline form: `code` Display; `code` Display
            flat = " ".join(body.split())
            for item in re.finditer(r"`([^`]+)` ([^`]+?)[;,.]?\s*(?=`|$)", flat):
                pairs[item.group(1)] = item.group(2).rstrip(";,.")
        found[re.match(r"`([^`]+)`", heading).group(1)] = pairs
    return found


@pytest.mark.parametrize("cs_id", [c for c in CODE_SYSTEMS if c != "ndtms-prntstat"])
def test_code_system_displays_are_the_contract_displays(cs_id: str) -> None:
    assert local_codes(cs_id) == contract_displays()[cs_id]


def test_ndtms_copy_names_its_owner_and_does_not_claim_to_be_verbatim() -> None:
    cs = get("CodeSystem", "ndtms-prntstat")
    assert "OHID" in cs["description"] and "not claimed to be verbatim" in cs["description"]
    assert local_codes("ndtms-prntstat")["15"] == "Client declined to answer"
    assert "definition" not in json.dumps(cs["concept"])


def test_some_displays_word_for_word() -> None:
    assert local_codes("yes-no-unknown") == {"Y": "Yes", "N": "No", "UNK": "Unknown"}
    assert local_codes("parental-status")["declined"] == "Patient declined to answer"
    assert local_codes("parental-status")["not-asked"] == "Not asked or not recorded"
    assert local_codes("help-and-protection")["child-in-need"] == "Child in need (Children Act 1989 s.17)"
    assert (
        local_codes("parental-responsibility-basis")["special-guardianship-order"]
        == "Special guardianship order (s.14C(1)(a))"
    )
    assert "CP-IS" not in json.dumps(local_codes("help-and-protection"))  # no code claims to be a CP-IS code
    assert "4B" in get("CodeSystem", "help-and-protection")["description"]  # the social-care comparator


G = f"{CANONICAL}/CodeSystem/help-and-protection"
EXPECTED_VALUE_SETS = {
    "child-help-and-protection": {
        (G, c)
        for c in [
            "none",
            "early-help",
            "child-in-need",
            "child-protection-plan",
            "looked-after",
            "previous-child-protection-plan",
            "previous-looked-after",
            "not-known",
        ]
    },
    "unborn-help-and-protection": {
        (G, c) for c in ["none", "early-help", "unborn-child-protection-plan", "not-known"]
    },
    "dependent-child-relationship": {
        (V3_ROLECODE, c)
        for c in [
            "CHILD",
            "NCHILD",
            "DAU",
            "SON",
            "STPCHLD",
            "STPDAU",
            "STPSON",
            "CHLDFOST",
            "DAUFOST",
            "SONFOST",
            "CHLDADOPT",
            "DAUADOPT",
            "SONADOPT",
            "GRNDCHILD",
            "GRNDDAU",
            "GRNDSON",
            "NIENEPH",
            "NIECE",
            "NEPHEW",
            "SIB",
            "BRO",
            "SIS",
            "DAUC",
            "SONC",
            "HSIB",
            "HBRO",
            "HSIS",
            "COUSN",
            "EXT",
        ]
    }
    | {(UKCORE_REL, "Dependant")},
} | {
    vs: {(f"{CANONICAL}/CodeSystem/{vs}", c) for c in CONTRACT_CODES[vs]}
    for vs in ["parental-status", "yes-no-unknown", "parental-responsibility-basis", "child-residence",
               *NEW_CODE_SYSTEMS]
}


@pytest.mark.parametrize("vs_id", VALUE_SETS)
def test_value_set_codes_are_the_contract_codes(vs_id: str) -> None:
    assert value_set_codes(vs_id) == EXPECTED_VALUE_SETS[vs_id]


@pytest.mark.parametrize("vs_id", VALUE_SETS)
def test_value_set_codes_exist_in_their_code_system_with_the_same_display(vs_id: str) -> None:
    for include in get("ValueSet", vs_id)["compose"]["include"]:
        known = system_codes(include["system"])
        if known is None:  # UK Core is not in the package cache; the contract fixes its one code
            assert include == {
                "system": UKCORE_REL,
                "concept": [{"code": "Dependant", "display": "Dependant of patient"}],
            }
            continue
        for concept in include.get("concept", []):
            assert concept["code"] in known, (include["system"], concept["code"])
            assert concept.get("display", known[concept["code"]]) == known[concept["code"]]


def test_guard_is_not_a_dependent_child() -> None:
    codes = {code for _, code in value_set_codes("dependent-child-relationship")}
    assert not codes & {"GUARD", "Guardian", "Carer", "MTH", "FTH", "PRN"}


# --- ConceptMaps ---


def concept_map_pairs(cm_id: str) -> dict[tuple[str, str], tuple[str, str, str]]:
    """(source system, source code) -> (target system, target code, equivalence)."""
    pairs = {}
    for group in get("ConceptMap", cm_id)["group"]:
        for item in group["element"]:
            assert len(item["target"]) == 1
            target = item["target"][0]
            if target["equivalence"] == "unmatched":
                continue  # no target code (not-asked has no PRNTSTAT code)
            pairs[(group["source"], item["code"])] = (group["target"], target["code"], target["equivalence"])
    return pairs


def test_v2_0063_map_is_the_contract_map() -> None:
    cm = get("ConceptMap", "v2-0063-to-dependent-child-relationship")
    assert cm["sourceCanonical"] == "http://terminology.hl7.org/ValueSet/v2-0063"
    assert cm["targetCanonical"] == f"{CANONICAL}/ValueSet/dependent-child-relationship"
    expected = {
        "CHD": (V3_ROLECODE, "CHILD", "equivalent"),
        "NCH": (V3_ROLECODE, "NCHILD", "equivalent"),
        "SCH": (V3_ROLECODE, "STPCHLD", "equivalent"),
        "FCH": (V3_ROLECODE, "CHLDFOST", "equivalent"),
        "GCH": (V3_ROLECODE, "GRNDCHILD", "equivalent"),
        "SIB": (V3_ROLECODE, "SIB", "equivalent"),
        "BRO": (V3_ROLECODE, "BRO", "equivalent"),
        "SIS": (V3_ROLECODE, "SIS", "equivalent"),
        "WRD": (UKCORE_REL, "Dependant", "wider"),
        "DEP": (UKCORE_REL, "Dependant", "wider"),
    }
    assert concept_map_pairs(cm["id"]) == {(V2_0063, code): target for code, target in expected.items()}


def test_parental_status_map_has_the_models_equivalences() -> None:
    """'Parent or carer' is wider than NDTMS 'parent' (narrower targets); not-asked has no PRNTSTAT code."""
    from fhir_family import model

    cm = get("ConceptMap", "parental-status-to-ndtms-prntstat")
    assert cm["sourceCanonical"] == f"{CANONICAL}/ValueSet/parental-status"
    (group,) = cm["group"]
    assert group["target"] == f"{CANONICAL}/CodeSystem/ndtms-prntstat"
    found = {item["code"]: (item["target"][0].get("code"), item["target"][0]["equivalence"])
             for item in group["element"]}
    assert found == {
        code: (model.PARENTAL_STATUS_TO_PRNTSTAT.get(code), model.PARENTAL_STATUS_EQUIVALENCE[code])
        for code in model.PARENTAL_STATUS
    }
    comments = " ".join(item["target"][0].get("comment", "") for item in group["element"])
    assert "part-time" in comments and "unknown" in comments  # the residence rule is in the map too


def test_every_v2_map_has_a_comment() -> None:
    for group in get("ConceptMap", "v2-0063-to-dependent-child-relationship")["group"]:
        for item in group["element"]:
            assert item["target"][0].get("comment"), item["code"]


@pytest.mark.parametrize("cm_id", CONCEPT_MAPS)
def test_concept_maps_use_only_known_codes(cm_id: str) -> None:
    cm = get("ConceptMap", cm_id)
    if "targetCanonical" in cm:
        allowed = value_set_codes(cm["targetCanonical"].removeprefix(f"{CANONICAL}/ValueSet/"))
    else:  # ndtms-prntstat is a CodeSystem only: every code of the group's target system
        allowed = {(g["target"], code) for g in cm["group"] for code in system_codes(g["target"]) or {}}
    for (source_system, source_code), (target_system, target_code, _) in concept_map_pairs(cm_id).items():
        source_codes = system_codes(source_system)
        assert source_codes is not None and source_code in source_codes, (source_system, source_code)
        assert (target_system, target_code) in allowed, (target_system, target_code)


def test_maps_that_are_not_equivalent_say_why() -> None:
    for cm_id in CONCEPT_MAPS:
        for group in get("ConceptMap", cm_id)["group"]:
            for item in group["element"]:
                for target in item["target"]:
                    if target["equivalence"] != "equivalent":
                        assert target.get("comment"), (cm_id, item["code"])


def test_adult_relationships_have_no_map() -> None:
    mapped = {code for _, code in concept_map_pairs("v2-0063-to-dependent-child-relationship")}
    assert not mapped & {"MTH", "FTH", "SPO", "EMC", "PAR", "GRP"}


# --- fhir.resources ---


@pytest.mark.parametrize("key", sorted(resources()) if guide_resources_dir().is_dir() else [], ids=str)
def test_fhir_resources_r4b_parses_each_conformance_resource(key: tuple[str, str]) -> None:
    import importlib

    resource = get(*key)
    module = importlib.import_module(f"fhir.resources.R4B.{key[0].lower()}")
    parsed = getattr(module, key[0]).model_validate(resource)
    assert parsed.id == key[1]
    assert parsed.url == resource["url"]


def test_every_conformance_resource_is_valid_r4_in_the_project_validator() -> None:
    from fhir_family.conformance import default_validator

    for key, resource in resources().items():
        outcome = default_validator().validate(resource)
        errors = [i for i in outcome.get("issue", []) if i["severity"] in ("error", "fatal")]
        assert not errors, (key, errors)


# --- the staleness check ---


needs_sushi = pytest.mark.skipif(find_sushi() is None, reason="no SUSHI at build/sushi or /tmp/setup")


@pytest.fixture
def profiles_copy(tmp_path: Path, cached_sushi) -> Path:
    """A copy of profiles/ (sources and committed JSON) the test may damage."""
    copy = tmp_path / "profiles"
    shutil.copytree(REPO_ROOT / "profiles", copy, ignore=shutil.ignore_patterns("fsh-generated"))
    shutil.copytree(guide_resources_dir(), copy / "fsh-generated" / "resources")
    return copy


def run_check(profiles: Path) -> int:
    return igbuild.main(
        ["--sushi", str(find_sushi()), "--check", "--skip-examples", "--profiles", str(profiles)]
    )


@needs_sushi
def test_check_fails_when_a_committed_file_is_altered_removed_or_added(
    profiles_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    generated = profiles_copy / "fsh-generated" / "resources"
    altered = generated / "ValueSet-child-residence.json"
    resource = json.loads(altered.read_text(encoding="utf-8"))
    resource["compose"]["include"][0]["system"] = "http://example.org/hand-edited"
    altered.write_text(json.dumps(resource, indent=2) + "\n", encoding="utf-8")
    (generated / "CodeSystem-yes-no-unknown.json").unlink()
    (generated / "ValueSet-left-over.json").write_text("{}\n", encoding="utf-8")
    whitespace_only = generated / "StructureDefinition-parent-patient.json"
    whitespace_only.write_text(whitespace_only.read_text(encoding="utf-8") + "\n", encoding="utf-8")

    assert run_check(profiles_copy) == 1
    err = capsys.readouterr().err.splitlines()
    assert any(
        line.startswith("igbuild: stale: ") and "ValueSet-child-residence.json" in line for line in err
    )
    assert any(
        line.startswith("igbuild: missing: ") and "CodeSystem-yes-no-unknown.json" in line for line in err
    )
    assert any(line.startswith("igbuild: extra: ") and "ValueSet-left-over.json" in line for line in err)
    assert any(line.startswith("igbuild: stale: ") and whitespace_only.name in line for line in err)
    assert len([line for line in err if line.split(":")[1].strip() in ("stale", "missing", "extra")]) == 4


@needs_sushi
def test_refresh_rewrites_the_generated_folder_and_drops_stale_files(profiles_copy: Path) -> None:
    generated = profiles_copy / "fsh-generated" / "resources"
    (generated / "ValueSet-left-over.json").write_text("{}\n", encoding="utf-8")
    (generated / "CodeSystem-child-residence.json").write_text("{}\n", encoding="utf-8")
    args = ["--sushi", str(find_sushi()), "--skip-examples", "--profiles", str(profiles_copy)]
    assert igbuild.main(args) == 0
    assert not (generated / "ValueSet-left-over.json").exists()
    assert run_check(profiles_copy) == 0  # and the check passes on what a rebuild wrote


@needs_sushi
def test_sushi_errors_are_reported_one_line_each(
    profiles_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = profiles_copy / "input" / "fsh" / "broken.fsh"
    broken.write_text("Profile: Broken\nParent: Patient\n* nosuchelement 1..1\n", encoding="utf-8")
    assert run_check(profiles_copy) == 1
    err = capsys.readouterr().err
    assert "igbuild: SUSHI failed" in err
    assert "nosuchelement" in err and str(broken) in err
    assert "Traceback" not in err


def test_missing_sushi_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert igbuild.main(["--sushi", str(tmp_path / "no-sushi"), "--check", "--skip-examples"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "SUSHI not found" in err[0]


def test_sushi_log_parsing_keeps_details_and_known_warnings_apart() -> None:
    log = "\n".join(
        [
            "info  Running SUSHI v3.21.0 (implements FHIR Shorthand specification v3.0.0)",
            "warn  Failed to load automatically-provided hl7.terminology.r4#latest",
            "warn  Something new",
            "error No element found at path foo",
            "  File: /x/broken.fsh",
            "  Line: 3",
            "info  done",
        ]
    )
    result = igbuild.parse_sushi_log(log, ["Failed to load automatically-provided"])
    assert result.errors == ["No element found at path foo | File: /x/broken.fsh | Line: 3"]
    assert result.warnings == [
        "Failed to load automatically-provided hl7.terminology.r4#latest",
        "Something new",
    ]
    assert result.unexpected_warnings == ["Something new"]
    assert result.version == "3.21.0"


def test_known_sushi_warnings_are_each_explained() -> None:
    lines = (REPO_ROOT / "profiles" / igbuild.KNOWN_WARNINGS_FILE).read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        if line and not line.startswith("#"):
            above = [x for x in lines[:index] if x.startswith("#")]
            assert above, f"warning without an explanation: {line}"


def test_examples_comparison_reports_stale_missing_and_leftover_files(tmp_path: Path) -> None:
    fresh, committed = tmp_path / "fresh", tmp_path / "committed"
    for root in (fresh, committed):
        (root / "bundles").mkdir(parents=True)
        (root / "bundles" / "same.json").write_text("{}\n", encoding="utf-8")
    (fresh / "bundles" / "changed.json").write_text('{"a": 1}\n', encoding="utf-8")
    (committed / "bundles" / "changed.json").write_text('{"a": 2}\n', encoding="utf-8")
    (fresh / "README.md").write_text("new\n", encoding="utf-8")
    (committed / "bundles" / "renamed-away.json").write_text("{}\n", encoding="utf-8")
    written = [fresh / "bundles" / "same.json", fresh / "bundles" / "changed.json", fresh / "README.md"]
    problems = igbuild.compare_examples(fresh, written, committed)
    assert [line.split(":")[0] for line in problems] == ["missing", "stale", "extra"]
    assert problems[0].endswith("/README.md (a rebuild creates it)")
    assert "bundles/changed.json" in problems[1] and "bundles/renamed-away.json" in problems[2]


@needs_sushi
@pytest.mark.skipif(igbuild.examples_builder() is None, reason="fhir_family.guide.examples not installed")
def test_check_fails_when_a_committed_example_is_hand_edited(
    profiles_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = tmp_path / "examples"
    shutil.copytree(REPO_ROOT / "examples", examples)
    args = [
        "--sushi",
        str(find_sushi()),
        "--check",
        "--profiles",
        str(profiles_copy),
        "--examples",
        str(examples),
    ]
    assert igbuild.main(args) == 0, capsys.readouterr().err
    bundle = sorted((examples / "bundles").glob("*.json"))[0]
    bundle.write_text(
        bundle.read_text(encoding="utf-8").replace('"transaction"', '"batch"'), encoding="utf-8"
    )
    assert igbuild.main(args) == 1
    assert f"stale: {examples.as_posix()}/bundles/{bundle.name}" in capsys.readouterr().err
    bundle.write_text((REPO_ROOT / "examples" / "bundles" / bundle.name).read_text(encoding="utf-8"))
    expected = examples / "ehr" / "csv" / "returns.expected.json"  # an EHR input's generated summary
    expected.write_text(expected.read_text(encoding="utf-8").replace('"status": 200', '"status": 201', 1))
    assert igbuild.main(args) == 1
    assert f"stale: {examples.as_posix()}/ehr/csv/returns.expected.json" in capsys.readouterr().err


# --- docs/guide.md keeps up with the guide ---


def test_vendor_page_names_every_code_extension_profile_and_invariant() -> None:
    page = (REPO_ROOT / "docs" / "guide.md").read_text(encoding="utf-8")
    names = [f"`{i}`" for i in [*PROFILES, *EXTENSIONS, *VALUE_SETS, *CONCEPT_MAPS]]
    names += [f"`{code}`" for codes in CONTRACT_CODES.values() for code in codes]
    names += [f"`{code}`" for _, code in EXPECTED_VALUE_SETS["dependent-child-relationship"]]
    names += [f"`{key}`" for key in ["ff-nhs-1", "ff-ods-1", "ff-pr-1", "ff-ps-1", "ff-bun-1", "ff-bun-4"]]
    names += [f"`{part}`" for _, part in COMPLEX_PARTS]
    missing = [name for name in names if name not in page]
    assert not missing, f"docs/guide.md does not mention {missing}"
    for cs_id in CODE_SYSTEMS:
        for code, display in local_codes(cs_id).items():
            if cs_id != "ndtms-prntstat":
                assert f"| `{code}` | {display} |" in page, (cs_id, code)


def test_vendor_page_example_is_a_valid_national_return() -> None:
    page = (REPO_ROOT / "docs" / "guide.md").read_text(encoding="utf-8")
    example = json.loads(page.split("```json\n", 1)[1].split("\n```", 1)[0])
    assert example["resourceType"] == "Bundle" and example["type"] == "transaction"
    profiles = [e["resource"]["meta"]["profile"][0] for e in example["entry"]]
    assert profiles[:3] == [
        f"{CANONICAL}/StructureDefinition/{i}"
        for i in ["reporting-provider", "parent-patient", "mental-health-episode"]
    ]
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(example)
    from fhir_family.conformance import default_validator

    outcome = default_validator().validate(example)
    errors = [i for i in outcome.get("issue", []) if i["severity"] in ("error", "fatal")]
    assert not errors, errors


def test_vendor_page_points_only_at_examples_that_exist() -> None:
    page = (REPO_ROOT / "docs" / "guide.md").read_text(encoding="utf-8")
    named = re.findall(r"`([a-z0-9-]+\.json)`", page)
    assert named
    for name in named:
        assert (REPO_ROOT / "examples" / "bundles" / name).is_file(), name


def test_a_crashing_sushi_is_reported_with_its_last_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = tmp_path / "sushi"
    fake.write_text(
        "#!/bin/sh\necho 'env: node: No such file or directory' >&2\nexit 127\n", encoding="utf-8"
    )
    fake.chmod(0o755)
    assert igbuild.main(["--sushi", str(fake), "--check", "--skip-examples"]) == 1
    err = capsys.readouterr().err
    assert "status 127: env: node: No such file or directory" in err
    assert "Traceback" not in err
