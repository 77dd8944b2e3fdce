"""The profile validator, one focused case per rule: core R4 structure and types, profiles, slicing,
extensions, invariants, bundle rules, profile choice and the public API."""

from __future__ import annotations

import copy
import io
import json
import shutil
import tarfile
import threading
from pathlib import Path
from typing import Any

import pytest

from fhir_family.conformance import Validator, default_validator
from fhir_family.guide import examples_dir, guide_resources_dir
from fhir_family.model import eighteenth_birthday
from fhir_family.outcome import has_errors, message_id

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BASE_BUNDLE = EXAMPLES / "bundles" / "mother-with-pr-three-children-living-with-her.json"
CORE_PATIENT = "http://hl7.org/fhir/StructureDefinition/Patient"
PS_URL = "https://fhir-family.uk/fhir/StructureDefinition/parental-status"
REPORTING_PERIOD_URL = "https://fhir-family.uk/fhir/StructureDefinition/reporting-period"


def bundle() -> dict[str, Any]:
    return json.loads(BASE_BUNDLE.read_text(encoding="utf-8"))


def issues(resource: Any, profile: str | None = None) -> list[tuple[str, str, str | None, str | None]]:
    outcome = default_validator().validate(resource, profile)
    return [
        (i["severity"], i["code"], (i.get("expression") or [None])[0], message_id(i))
        for i in outcome["issue"]
        if i["severity"] != "information"
    ]


def core_patient(**extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", **extra}


# -- core R4 rules --


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (core_patient(foo=1), ("error", "structure", "Patient.foo", "FF-UNKNOWN-ELEMENT")),
        (core_patient(birthDate="1987-13-45"), ("error", "value", "Patient.birthDate", "FF-FORMAT")),
        (core_patient(birthDate="2021-02-29"), ("error", "value", "Patient.birthDate", "FF-FORMAT")),
        (core_patient(birthDate=19870514), ("error", "value", "Patient.birthDate", "FF-TYPE")),
        (core_patient(active="true"), ("error", "value", "Patient.active", "FF-TYPE")),
        (
            core_patient(multipleBirthInteger=1.5),
            ("error", "value", "Patient.multipleBirth.ofType(integer)", "FF-TYPE"),
        ),
        (core_patient(id="has spaces"), ("error", "value", "Patient.id", "FF-FORMAT")),
        (core_patient(identifier={"value": "x"}), ("error", "value", "Patient.identifier", "FF-TYPE")),
        (core_patient(gender=["female"]), ("error", "value", "Patient.gender", "FF-TYPE")),
        (core_patient(name=[]), ("error", "structure", "Patient.name", "FF-EMPTY")),
        (
            core_patient(name=[{"period": {"start": "2020-01-02", "end": "2020-01-01"}}]),
            ("error", "invariant", "Patient.name[0].period", "FF-INVARIANT"),
        ),
        (core_patient(gender="F"), ("error", "code-invalid", "Patient.gender", "FF-CODE-NOT-IN-VS")),
        (core_patient(meta={}), ("error", "invariant", "Patient.meta", "FF-INVARIANT")),
        (core_patient(identifier=[{}]), ("error", "invariant", "Patient.identifier[0]", "FF-INVARIANT")),
        (
            core_patient(deceasedBoolean=True, deceasedDateTime="2020-01-01"),
            ("error", "structure", "Patient.deceased", "FF-CHOICE-MULTIPLE"),
        ),
        (
            core_patient(deceasedString="yes"),
            ("error", "value", "Patient.deceased.ofType(string)", "FF-TYPE"),
        ),
        (
            core_patient(_birthDate={"foo": 1}),
            ("error", "structure", "Patient.birthDate.foo", "FF-UNKNOWN-ELEMENT"),
        ),
        (
            core_patient(_gender={"extension": [{"url": "http://example.org/x", "valueString": "y"}]}),
            # against core (no guide profile) an unknown extension is an error, as the reference validator
            ("error", "extension", "Patient.gender.extension[0]", "FF-EXT-UNKNOWN"),
        ),
        (
            core_patient(extension=[{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"}]),
            ("error", "required", "Patient.extension[0].value.ofType(Address)", "FF-CARDINALITY-MIN"),
        ),
        (
            core_patient(
                extension=[
                    {
                        "url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace",
                        "valueString": "Leeds",
                    }
                ]
            ),
            ("error", "value", "Patient.extension[0].value.ofType(string)", "FF-TYPE"),
        ),
        (
            core_patient(
                extension=[
                    {
                        "url": "http://hl7.org/fhir/StructureDefinition/encounter-reasonCancelled",
                        "valueCodeableConcept": {"text": "x"},
                    }
                ]
            ),
            ("error", "structure", "Patient.extension[0]", "FF-EXT-CONTEXT"),
        ),
        (
            core_patient(link=[{"type": "seealso"}]),
            ("error", "required", "Patient.link[0].other", "FF-CARDINALITY-MIN"),
        ),
        (
            core_patient(link=[{"other": {"reference": "Patient/1"}, "type": "seealso", "x": 1}]),
            ("error", "structure", "Patient.link[0].x", "FF-UNKNOWN-ELEMENT"),
        ),
    ],
    ids=lambda v: v[3] + ":" + str(v[2]) if isinstance(v, tuple) else "",
)
def test_core_rule_reports_one_issue(resource: dict, expected: tuple) -> None:
    assert issues(resource, CORE_PATIENT) == [expected]


def test_extension_with_both_value_and_extensions_fails_ext1() -> None:
    patient = core_patient(
        extension=[
            {
                "url": "http://example.org/x",
                "valueString": "y",
                "extension": [{"url": "a", "valueString": "b"}],
            }
        ]
    )
    assert issues(patient, CORE_PATIENT) == [
        ("error", "extension", "Patient.extension[0]", "FF-EXT-UNKNOWN"),
        ("error", "invariant", "Patient.extension[0]", "FF-INVARIANT"),
    ]


def test_core_patient_that_conforms_has_no_issues() -> None:
    patient = core_patient(
        id="p1",
        gender="female",
        birthDate="1987-05-14",
        active=True,
        _birthDate={
            "extension": [
                {
                    "url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                    "valueDateTime": "1987-05-14T10:15:00+01:00",
                }
            ]
        },
    )
    assert issues(patient, CORE_PATIENT) == []


def test_primitive_extension_without_value_counts_as_present() -> None:
    # birthDate absent but its extension present: the element exists (e.g. a data-absent-reason)
    patient = {
        "resourceType": "Patient",
        "_birthDate": {
            "extension": [
                {"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}
            ]
        },
    }
    assert issues(patient, CORE_PATIENT) == []


@pytest.mark.parametrize("bundle_type", ["foo", "Transaction"])
def test_bundle_type_required_binding(bundle_type: str) -> None:
    result = issues({"resourceType": "Bundle", "type": bundle_type})
    assert result == [("error", "code-invalid", "Bundle.type", "FF-CODE-NOT-IN-VS")]


def test_bundle_type_missing_is_required() -> None:
    assert issues({"resourceType": "Bundle"}) == [("error", "required", "Bundle.type", "FF-CARDINALITY-MIN")]


@pytest.mark.parametrize(
    ("resource", "fragment"),
    [
        ({"resourceType": "Patien"}, "'Patien' is not an R4 resource type"),
        ({"id": "x"}, "no resourceType"),
        ({"resourceType": 7}, "not a string"),
        ({"resourceType": "Element"}, "'Element' is not an R4 resource type"),
        ({"resourceType": "DomainResource"}, "'DomainResource' is not an R4 resource type"),
    ],
)
def test_unknown_or_missing_resource_type_is_a_clear_error(resource: dict, fragment: str) -> None:
    outcome = default_validator().validate(resource)
    assert [message_id(i) for i in outcome["issue"]] == ["FF-RESOURCE-TYPE"]
    assert fragment in outcome["issue"][0]["diagnostics"]


@pytest.mark.parametrize("value", [[1, 2], "Patient", None, 3])
def test_not_a_json_object(value: Any) -> None:
    outcome = default_validator().validate(value)
    assert [message_id(i) for i in outcome["issue"]] == ["FF-NOT-OBJECT"]


def test_unknown_resource_type_inside_a_bundle() -> None:
    b = bundle()
    b["entry"][4]["resource"]["resourceType"] = "RelatedPersn"
    result = issues(b)
    assert result == [("error", "structure", "Bundle.entry[4].resource", "FF-RESOURCE-TYPE")]


# -- profiles: cardinality, fixed values, slicing, bindings, invariants --


def test_missing_required_element_says_expected_and_found() -> None:
    b = bundle()
    del b["entry"][1]["resource"]["birthDate"]
    outcome = default_validator().validate(b)
    [issue] = outcome["issue"]
    assert issue["expression"] == ["Bundle.entry[1].resource.birthDate"]
    assert (
        issue["diagnostics"]
        == "Patient.birthDate is required by profile ParentPatient (min 1) but is missing"
    )


def test_prohibited_element_is_reported_once() -> None:
    b = bundle()
    b["entry"][1]["resource"]["name"] = [{"family": "Smith"}, {}]
    assert issues(b) == [("error", "structure", "Bundle.entry[1].resource.name", "FF-CARDINALITY-MAX")]


def test_missing_nhs_number_slice() -> None:
    b = bundle()
    provider_record = b["entry"][1]["resource"]["identifier"][1]
    mrn = {"system": "https://example.org/mrn", "value": "123"}
    b["entry"][1]["resource"]["identifier"] = [mrn, provider_record]
    assert issues(b) == [("error", "required", "Bundle.entry[1].resource.identifier", "FF-CARDINALITY-MIN")]


def test_two_nhs_numbers_exceed_the_slice() -> None:
    b = bundle()
    patient = b["entry"][1]["resource"]
    patient["identifier"].append(copy.deepcopy(patient["identifier"][0]))
    assert issues(b) == [("error", "structure", "Bundle.entry[1].resource.identifier", "FF-CARDINALITY-MAX")]


def test_nhs_number_slice_child_required() -> None:
    b = bundle()
    del b["entry"][1]["resource"]["identifier"][0]["value"]
    assert issues(b) == [
        ("error", "required", "Bundle.entry[1].resource.identifier[0].value", "FF-CARDINALITY-MIN")
    ]


def test_fixed_value_differs() -> None:
    b = bundle()
    b["type"] = "batch"
    assert issues(b) == [("error", "value", "Bundle.type", "FF-FIXED")]


def test_nhs_check_digit_invariant() -> None:
    b = bundle()
    value = b["entry"][1]["resource"]["identifier"][0]["value"]
    b["entry"][1]["resource"]["identifier"][0]["value"] = value[:9] + str((int(value[9]) + 1) % 10)
    outcome = default_validator().validate(b)
    assert [(i["code"], i["expression"][0]) for i in outcome["issue"]] == [
        ("invariant", "Bundle.entry[1].resource.identifier[0]")
    ]
    assert outcome["issue"][0]["diagnostics"].startswith("ff-nhs-1:")


def test_complex_extension_missing_sub_extension() -> None:
    b = bundle()
    status = b["entry"][1]["resource"]["extension"][0]
    status["extension"] = [e for e in status["extension"] if e["url"] != "status"]
    assert issues(b) == [
        ("error", "required", "Bundle.entry[1].resource.extension[0].extension", "FF-CARDINALITY-MIN")
    ]


def test_sub_extension_value_type_restricted() -> None:
    b = bundle()
    status = b["entry"][1]["resource"]["extension"][0]
    for part in status["extension"]:
        if part["url"] == "childrenInHousehold":
            del part["valueUnsignedInt"]
            part["valueString"] = "3"
    assert issues(b) == [
        (
            "error",
            "value",
            "Bundle.entry[1].resource.extension[0].extension[1].value.ofType(string)",
            "FF-TYPE",
        )
    ]


def test_extension_used_outside_its_context() -> None:
    b = bundle()
    parental_status = copy.deepcopy(b["entry"][1]["resource"]["extension"][0])
    b["entry"][3]["resource"]["extension"].append(parental_status)
    assert issues(b) == [("error", "structure", "Bundle.entry[3].resource.extension[4]", "FF-EXT-CONTEXT")]


def test_unknown_extension_is_a_warning_only() -> None:
    b = bundle()
    b["entry"][1]["resource"]["extension"].append({"url": "https://vendor.example/ext/x", "valueString": "y"})
    outcome = default_validator().validate(b)
    assert not has_errors(outcome)
    # extension[0] parental-status, [1] local-authority, [2] the vendor's
    assert issues(b) == [("warning", "extension", "Bundle.entry[1].resource.extension[2]", "FF-EXT-UNKNOWN")]


def test_extensible_binding_is_a_warning() -> None:
    # Patient.maritalStatus is extensible in core
    patient = core_patient(maritalStatus={"coding": [{"system": "http://example.org/ms", "code": "x"}]})
    result = issues(patient, CORE_PATIENT)
    assert [(s, c, e) for s, c, e, _m in result] == [("warning", "code-invalid", "Patient.maritalStatus")]


def test_is_a_filter_value_set_relationship() -> None:
    b = bundle()
    b["entry"][3]["resource"]["relationship"][0]["coding"][0]["code"] = "MTH"
    assert issues(b) == [
        ("error", "code-invalid", "Bundle.entry[3].resource.relationship[0]", "FF-CODE-NOT-IN-VS")
    ]


# -- bundle rules --


def _set_child_and_reporting_date(b: dict, child_birth: str, reporting_end: str) -> None:
    b["entry"][3]["resource"]["birthDate"] = child_birth
    for part in b["meta"]["extension"]:  # the reporting period is the return's, on Bundle.meta
        if part["url"] == "https://fhir-family.uk/fhir/StructureDefinition/reporting-period":
            part["valuePeriod"] = {"start": reporting_end[:8] + "01", "end": reporting_end}


@pytest.mark.parametrize(
    ("birth", "reporting", "is_18"),
    [
        ("2008-01-31", "2026-01-31", True),  # 18th birthday on the reporting date: no longer a child
        ("2008-02-01", "2026-01-31", False),  # one day short of 18
        ("2008-02-29", "2026-02-28", False),  # leap-day birthday: 18 on 1 March in a non-leap year
        ("2008-02-29", "2026-03-01", True),
        ("2008", "2026-12-30", False),  # partial date: cannot be sure the child is 18 yet
        ("2008", "2026-12-31", True),  # ... but by 31 December 2026 even a child born then is 18
        ("2007", "2026-01-31", True),  # born in 2007 at the latest on 31 Dec: 18 by 31 Dec 2025
    ],
)
def test_child_age_on_reporting_date(birth: str, reporting: str, is_18: bool) -> None:
    b = bundle()
    _set_child_and_reporting_date(b, birth, reporting)
    expected = (
        [("error", "business-rule", "Bundle.entry[3].resource.birthDate", "FF-CHILD-AGE")] if is_18 else []
    )
    assert [i for i in issues(b) if i[3] != "FF-STATUS-COUNTS"] == expected


def test_eighteenth_birthday_of_a_leap_day_baby() -> None:
    from datetime import date

    assert eighteenth_birthday(date(2008, 2, 29)) == date(2026, 3, 1)
    assert eighteenth_birthday(date(2004, 2, 29)) == date(2022, 3, 1)
    assert eighteenth_birthday(date(2012, 2, 29)) == date(2030, 3, 1)
    assert eighteenth_birthday(date(2010, 2, 28)) == date(2028, 2, 28)


def _set_status(b: dict, code: str, in_household: int | None = None) -> None:
    for part in b["entry"][1]["resource"]["extension"][0]["extension"]:
        if part["url"] == "status":
            part["valueCodeableConcept"]["coding"][0]["code"] = code
            part["valueCodeableConcept"]["coding"][0].pop("display", None)
        if part["url"] == "childrenInHousehold" and in_household is not None:
            part["valueUnsignedInt"] = in_household


def _set_residence(b: dict, index: int, code: str) -> None:
    b["entry"][index]["resource"]["extension"][1]["valueCodeableConcept"]["coding"][0] = {
        "system": "https://fhir-family.uk/fhir/CodeSystem/child-residence",
        "code": code,
    }


@pytest.mark.parametrize(
    ("mutate", "count"),
    [
        (lambda b: _set_residence(b, 4, "other-parent"), 1),  # all live with patient, but one does not
        (lambda b: _set_status(b, "no-children-live-with-patient"), 1),
        (lambda b: _set_status(b, "all-children-live-with-patient", in_household=2), 1),
        (lambda b: _set_status(b, "some-children-live-with-patient"), 1),  # every child lives with patient
    ],
)
def test_status_counts_disagreement_is_a_warning(mutate, count: int) -> None:
    b = bundle()
    mutate(b)
    result = issues(b)
    assert (
        result
        == [("warning", "business-rule", "Bundle.entry[1].resource.extension[0]", "FF-STATUS-COUNTS")] * count
    )


@pytest.mark.parametrize(("end", "warned"), [(None, True), ("2026-01-20", False), ("2026-02-03", True)])
def test_a_child_ended_by_the_reporting_date_no_longer_counts_for_the_status(end: str | None,
                                                                              warned: bool) -> None:
    """A child listed for the last time with period.end (guide.md 0.2) is no longer the patient's dependant
    on the reporting date (2026-01-31), so a child who moved out and was ended does not contradict
    all-children-live-with-patient; an end after the reporting date is not yet an end."""
    b = bundle()
    _set_residence(b, 4, "elsewhere")
    if end is not None:
        b["entry"][4]["resource"]["period"] = {"end": end}
    counts = [i for i in issues(b) if i[3] == "FF-STATUS-COUNTS"]
    assert bool(counts) is warned


def test_not_a_parent_with_children_is_the_guide_error_not_a_count_warning() -> None:
    """Changed in 0.2: ff-bun-9 (an error in the guide) replaces the FF-STATUS-COUNTS warning here."""
    b = bundle()
    _set_status(b, "not-a-parent")
    assert issues(b) == [("error", "invariant", "Bundle", "FF-INVARIANT")]


def test_duplicate_full_url() -> None:
    b = bundle()
    b["entry"][4]["fullUrl"] = b["entry"][3]["fullUrl"]
    result = issues(b)
    assert ("error", "invariant", "Bundle.entry[4].fullUrl", "FF-FULLURL-DUPLICATE") in result


def test_full_url_disagrees_with_id() -> None:
    b = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "https://example.org/fhir/Patient/1",
                "resource": {"resourceType": "Patient", "id": "2"},
            }
        ],
    }
    assert issues(b) == [("error", "value", "Bundle.entry[0].fullUrl", "FF-FULLURL-ID")]


def test_reference_to_wrong_resource_type() -> None:
    b = bundle()
    # the episode's patient points at the organisation
    b["entry"][2]["resource"]["patient"]["reference"] = b["entry"][0]["fullUrl"]
    assert ("error", "structure", "Bundle.entry[2].resource.patient.reference", "FF-REF-TARGET") in issues(b)


@pytest.mark.parametrize(("bundle_type", "severity"), [("collection", "warning"), ("document", "error")])
def test_urn_reference_must_resolve_in_any_bundle(bundle_type: str, severity: str) -> None:
    """In a collection (a loose set of resources) an unresolved urn is a warning, as the reference validator
    reports it; in every other Bundle type an error."""
    b = {
        "resourceType": "Bundle",
        "type": bundle_type,
        "entry": [
            {
                "fullUrl": "urn:uuid:8c1a9d5e-0000-4000-8000-000000000001",
                "resource": {
                    "resourceType": "Patient",
                    "managingOrganization": {"reference": "urn:uuid:8c1a9d5e-0000-4000-8000-000000000002"},
                },
            }
        ],
    }
    assert (
        severity,
        "not-found",
        "Bundle.entry[0].resource.managingOrganization.reference",
        "FF-REF-NOT-FOUND",
    ) in issues(b)


# -- which profile applies --


def test_single_resource_validates_against_its_role_profile() -> None:
    patient = {"resourceType": "Patient", "gender": "female"}
    result = {(c, e) for _s, c, e, _m in issues(patient)}
    assert ("required", "Patient.birthDate") in result
    assert ("required", "Patient.identifier") in result


def test_single_resource_from_a_bundle_validates_alone() -> None:
    patient = bundle()["entry"][1]["resource"]
    assert issues(patient) == []


def test_resource_without_meta_profile_in_national_return_gets_role_profile() -> None:
    b = bundle()
    del b["entry"][3]["resource"]["meta"]
    del b["entry"][3]["resource"]["birthDate"]
    assert issues(b) == [("error", "required", "Bundle.entry[3].resource.birthDate", "FF-CARDINALITY-MIN")]


def test_plain_bundle_uses_core_definitions() -> None:
    patient = {"resourceType": "Patient", "gender": "female"}
    b = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": patient}]}
    assert issues(b) == []


def test_explicit_profile_by_id_name_or_url() -> None:
    patient = {"resourceType": "Patient"}
    by_id = issues(patient, "parent-patient")
    assert by_id == issues(patient, "ParentPatient")
    assert by_id == issues(patient, "https://fhir-family.uk/fhir/StructureDefinition/parent-patient")
    assert ("error", "required", "Patient.birthDate", "FF-CARDINALITY-MIN") in by_id


def test_explicit_profile_unknown_or_for_another_type() -> None:
    assert [m for *_r, m in issues({"resourceType": "Patient"}, "no-such-profile")] == ["FF-PROFILE-UNKNOWN"]
    assert [m for *_r, m in issues({"resourceType": "Patient"}, "dependent-child")] == ["FF-PROFILE-TYPE"]


def test_unknown_declared_profile_is_an_error_and_falls_back() -> None:
    """Not checked must never pass as valid: an unloaded declared profile is an error unless relaxed."""
    patient = bundle()["entry"][1]["resource"]
    patient["meta"]["profile"] = ["https://vendor.example/StructureDefinition/other"]
    assert issues(patient) == [("error", "not-found", "Patient.meta.profile[0]", "FF-PROFILE-UNKNOWN")]
    relaxed = Validator(default_validator().store, unknown_profiles="warning")
    found = [(i["severity"], i["code"], i["expression"][0]) for i in relaxed.validate(patient)["issue"]]
    assert found == [("warning", "not-found", "Patient.meta.profile[0]")]


# -- API --


def test_default_validator_is_cached() -> None:
    assert default_validator() is default_validator()


def test_validate_does_not_modify_its_input() -> None:
    b = bundle()
    before = copy.deepcopy(b)
    default_validator().validate(b)
    assert b == before


def test_concurrent_validation_gives_the_same_answers() -> None:
    validator = Validator.from_package(guide_resources_dir())  # fresh: compiles lazily under concurrency
    cases = []
    for index in range(8):
        b = bundle()
        if index % 2:
            del b["entry"][3]["resource"]["birthDate"]
        cases.append(b)
    expected = [default_validator().validate(b) for b in cases]
    results: dict[int, dict] = {}

    def run(i: int) -> None:
        for _ in range(5):
            results[i] = validator.validate(cases[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(cases))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[i] for i in range(len(cases))] == expected


def test_from_package_tgz(tmp_path: Path) -> None:
    archive = tmp_path / "guide.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(guide_resources_dir().glob("*.json")):
            data = path.read_bytes()
            info = tarfile.TarInfo(f"package/{path.name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    validator = Validator.from_package(archive)
    b = bundle()
    assert validator.validate(b) == default_validator().validate(b)
    del b["entry"][1]["resource"]["birthDate"]
    assert has_errors(validator.validate(b))


def test_snapshot_generated_from_differential() -> None:
    snapshot = default_validator().compiler.snapshot(
        "https://fhir-family.uk/fhir/StructureDefinition/parent-patient"
    )
    by_id = {e["id"]: e for e in snapshot}
    assert by_id["Patient.identifier:nhsNumber.system"]["fixedUri"] == "https://fhir.nhs.uk/Id/nhs-number"
    assert by_id["Patient.identifier:nhsNumber.value"]["min"] == 1
    assert "Patient.identifier:nhsNumber.period" in by_id  # the Identifier type was unrolled below the slice
    assert by_id["Patient.name"]["max"] == "0"
    assert by_id["Patient.birthDate"]["min"] == 1
    assert {c["key"] for c in by_id["Patient"]["constraint"]} >= {"dom-2", "dom-3"}  # inherited from core
    assert [e["id"] for e in snapshot].index("Patient.identifier:nhsNumber") > [
        e["id"] for e in snapshot
    ].index("Patient.identifier")
    ps = {e["id"]: e for e in default_validator().compiler.snapshot(PS_URL)}
    period = {e["id"]: e for e in default_validator().compiler.snapshot(REPORTING_PERIOD_URL)}
    assert period["Extension.value[x].end"]["min"] == 1  # unrolled below value[x]
    assert ps["Extension.extension:status.value[x]"]["binding"]["strength"] == "required"


def test_fuzzed_examples_never_crash_the_validator() -> None:
    """Random damage to valid and invalid examples: always an OperationOutcome, never FF-INTERNAL."""
    import random

    rng = random.Random(3)
    files = sorted((EXAMPLES / "bundles").glob("*.json")) + sorted(
        p for p in (EXAMPLES / "invalid").glob("*.json") if not p.name.endswith(".expected.json")
    )
    values: list[Any] = [
        None,
        1,
        2**40,
        1.5,
        True,
        "",
        "x",
        [],
        [1],
        {},
        {"a": 1},
        [{}],
        [None],
        {"resourceType": "Patient"},
        {"resourceType": 5},
        {"reference": 3},
        {"url": 3},
    ]

    def paths(value: Any, path: tuple = ()) -> list[tuple]:
        found = [path]
        if isinstance(value, dict):
            for key, child in value.items():
                found += paths(child, (*path, key))
        elif isinstance(value, list):
            for index, child in enumerate(value):
                found += paths(child, (*path, index))
        return found

    for _ in range(400):
        document = json.loads(rng.choice(files).read_text(encoding="utf-8"))
        for _ in range(rng.randint(1, 3)):
            path = rng.choice(paths(document)[1:])
            parent = document
            for key in path[:-1]:
                parent = parent[key]
            if isinstance(parent, dict) and rng.random() < 0.3:
                del parent[path[-1]]
            else:
                parent[path[-1]] = copy.deepcopy(rng.choice(values))
        outcome = default_validator().validate(document)
        assert outcome["resourceType"] == "OperationOutcome"
        assert "FF-INTERNAL" not in {message_id(i) for i in outcome["issue"]}, json.dumps(outcome)[:2000]


def test_a_validator_defect_is_an_error_issue_not_an_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    validator = Validator.from_package(guide_resources_dir())

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(validator.walker, "validate_resource", broken)
    outcome = validator.validate(bundle())
    assert [(i["severity"], i["code"], message_id(i)) for i in outcome["issue"]] == [
        ("error", "exception", "FF-INTERNAL")
    ]


# -- a guide of one's own: closed slicing, pattern discriminators, patterns -- (Validator.from_package)

CLOSED_PATIENT = {
    "resourceType": "StructureDefinition",
    "id": "closed-patient",
    "url": "http://example.org/StructureDefinition/closed-patient",
    "name": "ClosedPatient",
    "status": "draft",
    "kind": "resource",
    "abstract": False,
    "type": "Patient",
    "baseDefinition": CORE_PATIENT,
    "derivation": "constraint",
    "differential": {
        "element": [
            {
                "id": "Patient.identifier",
                "path": "Patient.identifier",
                "slicing": {"discriminator": [{"type": "pattern", "path": "type"}], "rules": "closed"},
            },
            {
                "id": "Patient.identifier:mrn",
                "path": "Patient.identifier",
                "sliceName": "mrn",
                "min": 1,
                "max": "1",
            },
            {
                "id": "Patient.identifier:mrn.type",
                "path": "Patient.identifier.type",
                "min": 1,
                "patternCodeableConcept": {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]
                },
            },
            {
                "id": "Patient.name",
                "path": "Patient.name",
                "slicing": {"discriminator": [{"type": "exists", "path": "period"}], "rules": "open"},
            },
            {
                "id": "Patient.name:current",
                "path": "Patient.name",
                "sliceName": "current",
                "min": 0,
                "max": "1",
            },
            {"id": "Patient.name:current.family", "path": "Patient.name.family", "maxLength": 5},
            {"id": "Patient.name:current.period", "path": "Patient.name.period", "max": "0"},
            {"id": "Patient.birthDate", "path": "Patient.birthDate", "minValueDate": "1900-01-01"},
            {
                "id": "Patient.maritalStatus",
                "path": "Patient.maritalStatus",
                "patternCodeableConcept": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M"}
                    ]
                },
            },
            {
                "id": "Patient.multipleBirth[x]",
                "path": "Patient.multipleBirth[x]",
                "minValueInteger": 1,
                "maxValueInteger": 9,
            },
        ]
    },
}
MRN = {
    "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
    "value": "1",
}


@pytest.fixture(scope="module")
def own_guide(tmp_path_factory: pytest.TempPathFactory) -> Validator:
    folder = tmp_path_factory.mktemp("guide")
    (folder / "StructureDefinition-closed-patient.json").write_text(json.dumps(CLOSED_PATIENT))
    return Validator.from_package(folder)


def _own(validator: Validator, resource: dict) -> list[tuple[str, str, str | None, str | None]]:
    outcome = validator.validate(resource, "closed-patient")
    return [
        (i["severity"], i["code"], (i.get("expression") or [None])[0], message_id(i))
        for i in outcome["issue"]
        if i["severity"] != "information"
    ]


def test_pattern_discriminator_and_closed_slicing(own_guide: Validator) -> None:
    assert _own(own_guide, {"resourceType": "Patient", "identifier": [MRN]}) == []
    other = {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "NI"}]}}
    assert _own(own_guide, {"resourceType": "Patient", "identifier": [MRN, {**other, "value": "2"}]}) == [
        ("error", "structure", "Patient.identifier[1]", "FF-SLICE-CLOSED")
    ]
    assert _own(own_guide, {"resourceType": "Patient", "identifier": [{**other, "value": "2"}]}) == [
        ("error", "required", "Patient.identifier", "FF-CARDINALITY-MIN"),
        ("error", "structure", "Patient.identifier[0]", "FF-SLICE-CLOSED"),
    ]


def test_pattern_value(own_guide: Validator) -> None:
    married = {
        "coding": [
            {"system": "http://example.org/local", "code": "m"},
            {"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M"},
        ]
    }
    assert _own(own_guide, {"resourceType": "Patient", "identifier": [MRN], "maritalStatus": married}) == []
    single = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "S"}]}
    assert _own(own_guide, {"resourceType": "Patient", "identifier": [MRN], "maritalStatus": single}) == [
        ("error", "value", "Patient.maritalStatus", "FF-PATTERN")
    ]


def test_own_guide_snapshot_unrolls_below_the_slice(own_guide: Validator) -> None:
    snapshot = own_guide.compiler.snapshot(CLOSED_PATIENT["url"])
    ids = [e["id"] for e in snapshot]
    assert "Patient.identifier:mrn.type" in ids and "Patient.identifier:mrn.value" in ids
    assert (
        ids.index("Patient.identifier:mrn")
        < ids.index("Patient.identifier:mrn.type")
        < ids.index("Patient.active")
    )


def test_extension_context_by_type_and_by_path() -> None:
    translation = {
        "url": "http://hl7.org/fhir/StructureDefinition/translation",
        "extension": [{"url": "lang", "valueCode": "cy"}, {"url": "content", "valueString": "Cymraeg"}],
    }
    # context "string": allowed on a string primitive, not on a date primitive
    assert (
        issues(
            core_patient(name=[{"family": "Jones", "_family": {"extension": [translation]}}], **{}),
            CORE_PATIENT,
        )
        == []
    )
    assert issues(
        core_patient(birthDate="2000-01-01", _birthDate={"extension": [translation]}), CORE_PATIENT
    ) == [("error", "structure", "Patient.birthDate.extension[0]", "FF-EXT-CONTEXT")]


def test_string_format_uses_ascii_classes_like_the_definitions() -> None:
    # a no-break space is not whitespace for the definitions' Java-style regexes
    assert issues(core_patient(name=[{"text": "Mary\u00a0Jones"}]), CORE_PATIENT) == []
    assert issues(core_patient(name=[{"text": ""}]), CORE_PATIENT) == [
        ("error", "value", "Patient.name[0].text", "FF-FORMAT")
    ]


def test_code_that_cannot_be_checked_locally() -> None:
    # jurisdiction is extensible to a ValueSet over ISO 3166, which is not available offline: information only
    outcome = default_validator().validate(core_patient(), CORE_PATIENT)
    assert not has_errors(outcome)
    cs = {
        "resourceType": "CodeSystem",
        "name": "Example",  # csd-0 reads name.matches(..): without a name that is empty, i.e. not satisfied
        "status": "draft",
        "content": "complete",
        "jurisdiction": [{"coding": [{"system": "urn:iso:std:iso:3166", "code": "GB"}]}],
    }
    outcome = default_validator().validate(cs)
    assert [(i["severity"], message_id(i)) for i in outcome["issue"]] == [
        ("information", "FF-CODE-UNCHECKED")
    ]


def test_every_message_id_is_documented() -> None:
    from fhir_family import messages

    readme = (Path(__file__).resolve().parent.parent / "src/fhir_family/conformance/README.md").read_text()
    assert messages.VALIDATOR_NAMES, "no message ids?"
    ids = [messages.ALL[name] for name in messages.VALIDATOR_NAMES]
    missing = [value for value in ids if f"`{value}`" not in readme]
    assert missing == []


# -- genuine core profiles (HL7-generated snapshots): type slices, nested-slice discriminators --

VITAL = {
    "resourceType": "Observation",
    "status": "final",
    "category": [
        {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                    "code": "vital-signs",
                }
            ]
        }
    ],
    "subject": {"reference": "Patient/1"},
    "effectiveDateTime": "2020-01-01",
}


def _quantity(value: float, code: str) -> dict:
    return {"value": value, "unit": code, "system": "http://unitsofmeasure.org", "code": code}


def test_core_bodyweight_profile_type_slice_and_binding() -> None:
    profile = "http://hl7.org/fhir/StructureDefinition/bodyweight"
    weight = {
        **VITAL,
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "valueQuantity": _quantity(70, "kg"),
    }
    assert issues(weight, profile) == []
    assert issues({**weight, "valueQuantity": _quantity(70, "lb")}, profile) == [
        ("error", "code-invalid", "Observation.value.ofType(Quantity).code", "FF-CODE-NOT-IN-VS")
    ]
    as_text = {key: value for key, value in weight.items() if key != "valueQuantity"}
    assert issues({**as_text, "valueString": "70 kg"}, profile) == [
        ("error", "value", "Observation.value.ofType(string)", "FF-TYPE")
    ]


def test_core_blood_pressure_component_slices() -> None:
    profile = "http://hl7.org/fhir/StructureDefinition/bp"

    def component(code: str, value: float) -> dict:
        return {
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "valueQuantity": _quantity(value, "mm[Hg]"),
        }

    bp = {
        **VITAL,
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "component": [component("8480-6", 120), component("8462-4", 80)],
    }
    assert issues(bp, profile) == []
    bp["component"] = bp["component"][:1]
    assert issues(bp, profile) == [("error", "required", "Observation.component", "FF-CARDINALITY-MIN")]


def test_exists_discriminator_max_length_and_value_bounds(own_guide: Validator) -> None:
    base = {"resourceType": "Patient", "identifier": [MRN]}
    # the name without a period is the "current" slice, where family may be 5 characters at most
    assert _own(own_guide, {**base, "name": [{"family": "Jones"}]}) == []
    assert _own(own_guide, {**base, "name": [{"family": "Jonesy"}]}) == [
        ("error", "too-long", "Patient.name[0].family", "FF-TOO-LONG")
    ]
    # a name with a period is not in the slice, so the length limit does not apply
    assert _own(own_guide, {**base, "name": [{"family": "Jonesy", "period": {"end": "2001"}}]}) == []
    assert _own(own_guide, {**base, "multipleBirthInteger": 10}) == [
        ("error", "value", "Patient.multipleBirth.ofType(integer)", "FF-VALUE-RANGE")
    ]
    assert _own(own_guide, {**base, "multipleBirthInteger": 2, "birthDate": "1899-12-31"}) == [
        ("error", "value", "Patient.birthDate", "FF-VALUE-RANGE")
    ]
    assert _own(own_guide, {**base, "birthDate": "1899"}) == []  # another precision: not comparable as text


def test_resource_invariant_not_suppressed_by_an_unrelated_error() -> None:
    b = bundle()
    b["entry"][3]["resource"]["birthDate"] = "2026-02-10"  # after the reporting date
    b["entry"][2]["resource"]["type"].append({})
    result = issues(b)
    assert ("error", "invariant", "Bundle", "FF-INVARIANT") in result  # ff-bun-5: born after reporting date
    assert ("error", "invariant", "Bundle.entry[2].resource.type[1]", "FF-INVARIANT") in result  # ele-1


def test_an_extension_slice_whose_definition_is_missing_is_a_warning_not_silence(tmp_path: Path) -> None:
    """A vendor's package that profiles an extension it does not ship: say its content went unchecked."""
    guide = tmp_path / "guide"
    shutil.copytree(guide_resources_dir(), guide)
    (guide / "StructureDefinition-young-carer.json").unlink()
    bundle = json.loads(
        (examples_dir() / "bundles" / "mother-with-pr-three-children-living-with-her.json").read_text()
    )
    issues = Validator.from_package(guide).validate(bundle)["issue"]
    young_carer = [
        i for i in issues if "young-carer" in i.get("diagnostics", "") and i["severity"] != "information"
    ]
    assert young_carer and all(i["severity"] == "warning" and i["code"] == "extension" for i in young_carer)
    children = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "RelatedPerson"]
    assert len(young_carer) == len(children)  # one warning per child carrying the extension
    assert all(i["expression"][0].startswith("Bundle.entry[") for i in young_carer)
