"""Generic FHIR R4 rules the validator applies to any resource (issue 10), each with small valid and invalid
instances and the exact issues expected (severity, code, expression, message id)."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fhir_family.cli import main
from fhir_family.conformance import Validator, default_validator
from fhir_family.conformance.extension_policy import ExtensionPolicy
from fhir_family.conformance.guide_fast_paths import nhs_check_digit
from fhir_family.conformance.invariants import Invariant
from fhir_family.conformance.packages import DefinitionStore
from fhir_family.outcome import SOURCE_EXTENSION, message_id

CORE = "http://hl7.org/fhir/StructureDefinition/"


Found = set[tuple[str, str, str | None, str | None]]


def issues(resource: dict[str, Any], profile: str | None = None) -> Found:
    """(severity, code, expression, message id) of every non-information issue; a resource on its own is
    validated against its R4 core definition (not the guide's role profile) unless a profile is named."""
    outcome = default_validator().validate(resource, profile or CORE + resource["resourceType"])
    return {
        (i["severity"], i["code"], (i.get("expression") or [None])[0], message_id(i))
        for i in outcome["issue"]
        if i["severity"] != "information"
    }


def rendered(resource: dict[str, Any], profile: str | None = None) -> list[dict[str, Any]]:
    outcome = default_validator().validate(resource, profile or CORE + resource["resourceType"])
    return [i for i in outcome["issue"] if i["severity"] != "information"]


# -- %resource, %rootResource and date comparisons (FHIRPath) ---------------------------------------------


def _patient_with_period(start: str, end: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "identifier": [{"value": "x", "period": {"start": start, "end": end}}]}


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2020", "2020-01-01"),  # equal as far as both go, different precision: empty, so not satisfied
        ("2020-01-01", "2020"),
        ("2020-01-01T10:00:00Z", "2020-01-01"),
        ("2020-01-02", "2020-01-01"),
        ("2020-01-01T10:00:00+00:00", "2020-01-01T09:59:59Z"),
    ],
)
def test_per1_fails_when_the_comparison_is_false_or_empty(start: str, end: str) -> None:
    assert issues(_patient_with_period(start, end)) == {
        ("error", "invariant", "Patient.identifier[0].period", "FF-INVARIANT")
    }


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2020", "2021-01-01"),  # decided at the year
        ("2019-12", "2020"),
        ("2020-01-01", "2020-01-01"),
        ("2020-01-01T10:00:00+01:00", "2020-01-01T09:30:00Z"),  # 09:00 UTC before 09:30 UTC
        ("2020-01-01T10:00:00Z", "2020-01-01T10:00:00.000Z"),  # seconds and milliseconds: one precision
    ],
)
def test_per1_passes_when_start_is_not_after_end(start: str, end: str) -> None:
    assert issues(_patient_with_period(start, end)) == set()


def _patient_referring_to_contained() -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": "p",
        "contained": [{"resourceType": "Practitioner", "id": "gp", "name": [{"family": "Jones"}]}],
        "generalPractitioner": [{"reference": "#gp"}],
    }


def test_root_resource_of_a_bundle_entry_is_the_entry_resource_not_the_bundle() -> None:
    """ref-1 reads %rootResource.contained: inside a Bundle entry that is the entry's resource."""
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "http://example.org/fhir/Patient/p", "resource": _patient_referring_to_contained()}
        ],
    }
    assert issues(bundle) == set()


def test_root_resource_of_a_parameters_resource_is_that_resource() -> None:
    parameters = {
        "resourceType": "Parameters",
        "parameter": [{"name": "patient", "resource": _patient_referring_to_contained()}],
    }
    assert issues(parameters) == set()


def test_root_resource_of_a_contained_resource_is_its_container() -> None:
    """A contained resource may refer to a sibling contained resource (ref-1 via the container)."""
    patient = _patient_referring_to_contained()
    patient["contained"].append(
        {"resourceType": "PractitionerRole", "id": "role", "practitioner": {"reference": "#gp"}}
    )
    patient["generalPractitioner"].append({"reference": "#role"})
    assert issues(patient) == set()


def test_reference_to_a_missing_contained_resource_fails_ref1() -> None:
    patient = _patient_referring_to_contained()
    patient["generalPractitioner"] = [{"reference": "#gp"}, {"reference": "#nobody"}]
    assert ("error", "invariant", "Patient.generalPractitioner[1]", "FF-INVARIANT") in issues(patient)


def test_dom3_a_contained_resource_nothing_refers_to_is_an_error() -> None:
    """dom-3 is evaluated (natively: fhirpathpy cannot run its expression), never reported as unchecked."""
    patient = _patient_referring_to_contained()
    patient["contained"].append({"resourceType": "Practitioner", "id": "orphan", "name": [{"family": "X"}]})
    assert ("error", "invariant", "Patient", "FF-INVARIANT") in issues(patient)
    outcome = default_validator().validate(_patient_referring_to_contained(), CORE + "Patient")
    assert not [i for i in outcome["issue"] if "dom-3" in i["diagnostics"]], outcome
    for fast in (True, False):
        dom3 = Invariant.from_constraint(
            next(
                c
                for c in default_validator().store.structure_definition("DomainResource")["snapshot"][
                    "element"
                ][0]["constraint"]
                if c["key"] == "dom-3"
            ),
            fast_paths=fast,
        )
        assert dom3.skip_reason is None


def test_per1_follows_fhirpath_also_without_native_fast_paths() -> None:
    """per-1 is always native: fhirpathpy pads the coarser date and would pass 2020 <= 2020-01-01."""
    per1 = Invariant.from_constraint(
        {
            "key": "per-1",
            "severity": "error",
            "human": "If present, start SHALL have a lower value than end",
            "expression": "start.hasValue().not() or end.hasValue().not() or (start <= end)",
        },
        fast_paths=False,
    )
    assert per1.evaluate({"start": "2020", "end": "2020-01-01"}, "Period", None, None) is False
    assert per1.evaluate({"start": "2020", "end": "2021-01-01"}, "Period", None, None) is True


# -- Bundle rules for every Bundle type ----------------------------------------------------------------------

BASE = "http://example.org/fhir/"
UUID1 = "urn:uuid:0b0b1f6c-1c3d-4e5f-8a9b-000000000001"
UUID2 = "urn:uuid:0b0b1f6c-1c3d-4e5f-8a9b-000000000002"


def _bundle(bundle_type: str, *entries: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": bundle_type, **extra, "entry": list(entries)}


def _org(org_id: str, **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Organization", "id": org_id, "name": "Clinic", **extra}


def _patient(patient_id: str | None, org_ref: str) -> dict[str, Any]:
    patient: dict[str, Any] = {"resourceType": "Patient", "managingOrganization": {"reference": org_ref}}
    if patient_id:
        patient["id"] = patient_id
    return patient


@pytest.mark.parametrize(
    "full_url",
    [
        "Organization/1",
        "urn:uuid:0B0B1F6C-1C3D-4E5F-8A9B-000000000001",
        "urn:uuid:not-a-uuid",
        "urn:oid:1.2.x",
    ],
)
def test_bundle_full_url_must_be_absolute(full_url: str) -> None:
    b = _bundle("collection", {"fullUrl": full_url, "resource": _org("1")})
    assert issues(b) == {("error", "value", "Bundle.entry[0].fullUrl", "FF-FULLURL-ABSOLUTE")}


@pytest.mark.parametrize("full_url", [BASE + "Organization/1", UUID1, "urn:oid:1.2.826.0.1"])
def test_bundle_absolute_full_urls_pass(full_url: str) -> None:
    assert issues(_bundle("collection", {"fullUrl": full_url, "resource": _org("1")})) == set()


def test_bundle_duplicate_full_url_in_any_bundle_type() -> None:
    b = _bundle(
        "collection",
        {"fullUrl": BASE + "Organization/1", "resource": _org("1")},
        {"fullUrl": BASE + "Organization/1", "resource": _org("1")},
    )
    assert issues(b) == {("error", "invariant", "Bundle.entry[1].fullUrl", "FF-FULLURL-DUPLICATE")}


def test_bundle_same_full_url_with_different_versions_is_a_history() -> None:
    b = _bundle(
        "history",
        {
            "fullUrl": BASE + "Organization/1",
            "resource": _org("1", meta={"versionId": "1"}),
            "request": {"method": "POST", "url": "Organization"},
            "response": {"status": "201"},
        },
        {
            "fullUrl": BASE + "Organization/1",
            "resource": _org("1", meta={"versionId": "2"}),
            "request": {"method": "PUT", "url": "Organization/1"},
            "response": {"status": "200"},
        },
    )
    assert issues(b) == set()


def test_bundle_history_may_repeat_a_full_url_without_versions() -> None:
    """bdl-7 exempts history Bundles: one resource's updates and its deletion share a fullUrl."""
    b = _bundle(
        "history",
        {
            "fullUrl": BASE + "Organization/1",
            "resource": _org("1"),
            "request": {"method": "PUT", "url": "Organization/1"},
            "response": {"status": "200"},
        },
        {
            "fullUrl": BASE + "Organization/1",
            "request": {"method": "DELETE", "url": "Organization/1"},
            "response": {"status": "204"},
        },
    )
    assert issues(b) == set()
    b["type"] = "collection"
    for entry in b["entry"]:
        entry.pop("request")
        entry.pop("response")
    b["entry"][1]["resource"] = _org("1")
    assert issues(b) == {("error", "invariant", "Bundle.entry[1].fullUrl", "FF-FULLURL-DUPLICATE")}


def test_bundle_relative_reference_resolves_against_the_referring_entrys_base() -> None:
    patient = {"fullUrl": BASE + "Patient/p", "resource": _patient("p", "Organization/1")}
    same_base = _bundle("document", patient, {"fullUrl": BASE + "Organization/1", "resource": _org("1")})
    other_base = _bundle(
        "collection", patient, {"fullUrl": "http://elsewhere.org/fhir/Organization/1", "resource": _org("1")}
    )
    reference = "Bundle.entry[0].resource.managingOrganization.reference"
    # resolved: the target's type is checked (a Patient may be managed by an Organization)
    assert not {i for i in issues(same_base) if i[3] == "FF-REF-NOT-FOUND" or i[2] == reference}
    # on another server: not this Bundle's entry, so a wrong-type check cannot apply and nothing is reported
    assert issues(other_base) == set()
    wrong_type = _bundle(
        "collection", patient, {"fullUrl": BASE + "Organization/1", "resource": _patient("1", UUID1)}
    )
    wrong_type["entry"][1]["fullUrl"] = BASE + "Patient/1"
    wrong_type["entry"][0]["resource"]["managingOrganization"]["reference"] = "Patient/1"
    assert ("error", "structure", reference, "FF-REF-TARGET") in issues(wrong_type)


def test_bundle_versioned_reference_needs_that_version() -> None:
    def bundle_with(reference: str) -> dict[str, Any]:
        return _bundle(
            "transaction",
            {
                "fullUrl": UUID1,
                "resource": _patient(None, reference),
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": UUID2,
                "resource": _org("1", meta={"versionId": "3"}),
                "request": {"method": "PUT", "url": "Organization/1"},
            },
        )

    assert issues(bundle_with(UUID2)) == set()
    mismatch = "urn:uuid:0b0b1f6c-1c3d-4e5f-8a9b-000000000003"
    assert issues(bundle_with(mismatch)) == {
        ("error", "not-found", "Bundle.entry[0].resource.managingOrganization.reference", "FF-REF-NOT-FOUND")
    }
    b = _bundle(
        "collection",
        {"fullUrl": BASE + "Patient/p", "resource": _patient("p", "Organization/1/_history/3")},
        {"fullUrl": BASE + "Organization/1", "resource": _org("1", meta={"versionId": "3"})},
    )
    wrong = copy.deepcopy(b)
    wrong["entry"][1]["resource"]["resourceType"] = "Patient"
    wrong["entry"][1]["fullUrl"] = BASE + "Patient/1"
    wrong["entry"][0]["resource"]["managingOrganization"]["reference"] = "Patient/1/_history/3"
    assert issues(b) == set()
    expression = "Bundle.entry[0].resource.managingOrganization.reference"
    assert ("error", "structure", expression, "FF-REF-TARGET") in issues(wrong)
    wrong["entry"][0]["resource"]["managingOrganization"]["reference"] = "Patient/1/_history/4"
    assert ("error", "structure", expression, "FF-REF-TARGET") not in issues(wrong)


def test_bundle_unresolved_urn_reference_is_a_warning_in_a_collection_only() -> None:
    entry = {"fullUrl": UUID1, "resource": _patient(None, UUID2)}
    expression = "Bundle.entry[0].resource.managingOrganization.reference"
    assert issues(_bundle("collection", entry)) == {("warning", "not-found", expression, "FF-REF-NOT-FOUND")}
    transaction = _bundle("transaction", {**entry, "request": {"method": "POST", "url": "Patient"}})
    assert issues(transaction) == {("error", "not-found", expression, "FF-REF-NOT-FOUND")}


def test_bundle_reference_from_a_contained_resource_resolves_from_its_entry() -> None:
    patient = _patient("p", "#org")
    patient["contained"] = [_org("org", partOf={"reference": UUID2})]
    post = {"method": "POST", "url": "Patient"}
    b = _bundle("transaction", {"fullUrl": UUID1, "resource": patient, "request": post})
    assert issues(b) == {
        ("error", "not-found", "Bundle.entry[0].resource.contained[0].partOf.reference", "FF-REF-NOT-FOUND")
    }


def test_bundle_link_relations_appear_once_and_a_searchset_has_self() -> None:
    links = [
        {"relation": "self", "url": BASE + "Organization?name=x"},
        {"relation": "next", "url": BASE + "p2"},
    ]
    result = {"fullUrl": BASE + "Organization/1", "resource": _org("1"), "search": {"mode": "match"}}
    assert issues(_bundle("searchset", result, link=links)) == set()
    doubled = links + [{"relation": "next", "url": BASE + "p3"}]
    assert issues(_bundle("searchset", result, link=doubled)) == {
        ("error", "structure", "Bundle.link[2].relation", "FF-BUNDLE-LINK")
    }
    assert issues(_bundle("searchset", result, link=links[1:])) == {
        ("warning", "structure", "Bundle", "FF-BUNDLE-LINK")
    }


def test_bundle_search_results_have_ids_and_outcome_entries_are_operation_outcomes() -> None:
    links = [{"relation": "self", "url": BASE + "Organization?name=x"}]
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "warning", "code": "processing", "diagnostics": "name searched as text"}],
    }
    good = _bundle(
        "searchset",
        {"fullUrl": BASE + "Organization/1", "resource": _org("1"), "search": {"mode": "match"}},
        {"resource": outcome, "search": {"mode": "outcome"}},
        link=links,
    )
    assert issues(good) == set()
    no_id = {"resourceType": "Organization", "name": "Clinic"}
    bad = _bundle(
        "searchset",
        {"resource": no_id, "search": {"mode": "match"}},
        {"fullUrl": BASE + "Organization/2", "resource": _org("2"), "search": {"mode": "outcome"}},
        link=links,
    )
    assert issues(bad) == {
        ("error", "required", "Bundle.entry[0].resource", "FF-SEARCH-ENTRY"),
        ("error", "required", "Bundle.entry[0]", "FF-SEARCH-ENTRY"),
        ("error", "structure", "Bundle.entry[1].resource", "FF-SEARCH-ENTRY"),
    }


@pytest.mark.parametrize(
    ("method", "url", "ok"),
    [
        ("POST", "Organization", True),
        ("POST", "Patient", False),
        ("PUT", "Organization/1", True),
        ("PUT", "Organization/2", False),
        ("PUT", "Patient/1", False),
        ("PUT", "Organization?identifier=x|1", True),
        ("PUT", "Patient?identifier=x|1", False),
    ],
)
def test_bundle_transaction_request_url_agrees_with_the_resource(method: str, url: str, ok: bool) -> None:
    request = {"method": method, "url": url}
    b = _bundle("transaction", {"fullUrl": UUID1, "resource": _org("1"), "request": request})
    expected = set() if ok else {("error", "value", "Bundle.entry[0].request.url", "FF-BUNDLE-REQUEST")}
    assert issues(b) == expected


def test_bundle_transaction_put_needs_a_resource() -> None:
    b = _bundle("batch", {"request": {"method": "PUT", "url": "Organization/1"}})
    assert issues(b) == {("error", "required", "Bundle.entry[0]", "FF-BUNDLE-REQUEST")}


# -- messages a person can act on ---------------------------------------------------------------------------

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "invalid"


def test_code_not_in_a_required_value_set_lists_the_allowed_codes() -> None:
    [issue] = rendered({"resourceType": "Patient", "gender": "F"})
    assert message_id(issue) == "FF-CODE-NOT-IN-VS"
    assert issue["diagnostics"] == (
        "Patient.gender has a required binding: 'F' is not in ValueSet "
        "http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1; the allowed codes of "
        "http://hl7.org/fhir/administrative-gender are 'male' (Male), 'female' (Female), 'other' (Other), "
        "'unknown' (Unknown)"
    )


def test_a_long_value_set_lists_the_first_ten_and_names_the_value_set() -> None:
    bundle = json.loads((EXAMPLES / "child-relationship-mother.json").read_text(encoding="utf-8"))
    [issue] = [i for i in default_validator().validate(bundle)["issue"] if i["severity"] == "error"]
    text = issue["diagnostics"]
    role_code = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
    assert f"the first 10 of 30 allowed codes are '{role_code}|CHILD'" in text
    assert text.count("|") == 11  # the code given and the ten listed
    assert text.endswith(
        "the full list is ValueSet https://fhir-family.uk/fhir/ValueSet/dependent-child-relationship"
    )


def test_invariant_failure_states_the_rule_in_words_and_puts_the_fhirpath_in_issue_source() -> None:
    bundle = json.loads((EXAMPLES / "child-nhs-number-bad-check-digit.json").read_text(encoding="utf-8"))
    [issue] = [i for i in default_validator().validate(bundle)["issue"] if i["severity"] == "error"]
    number = bundle["entry"][3]["resource"]["identifier"][0]["value"]
    expected = nhs_check_digit(number[:9])
    assert issue["diagnostics"] == (
        "ff-nhs-1: NHS number must be 10 digits with a valid modulus-11 check digit; the check digit "
        f"(10th digit) must be {expected} for the first nine digits given, not {number[9]}"
    )
    assert number not in issue["diagnostics"]  # the number identifies a person: not echoed into logs
    [source] = [e for e in issue["extension"] if e["url"] == SOURCE_EXTENSION]
    assert source["valueString"].startswith("value.matches('^[0-9]{10}$') and ((11 - ")
    assert "matches(" not in issue["diagnostics"]


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ("943 476 5919", "an NHS number is exactly 10 digits, found 12 character(s) including non-digits"),
        ("123456789", "an NHS number is exactly 10 digits, found 9 character(s)"),
    ],
)
def test_nhs_number_message_says_what_is_wrong(value: str, detail: str) -> None:
    patient = json.loads((EXAMPLES / "child-nhs-number-bad-check-digit.json").read_text(encoding="utf-8"))
    patient["entry"][3]["resource"]["identifier"][0]["value"] = value
    errors = [i for i in default_validator().validate(patient)["issue"] if i["severity"] == "error"]
    assert [detail in i["diagnostics"] for i in errors] == [True]


def test_per1_message_explains_precision() -> None:
    [issue] = rendered(_patient_with_period("2020", "2020-01-01"))
    assert issue["diagnostics"] == (
        "per-1: If present, start SHALL have a lower value than end; start '2020' and end '2020-01-01' are "
        "given to different precisions and agree as far as both go, so which comes first is unknown: give "
        "both to the same precision"
    )
    assert issue["extension"][0]["valueString"] == (
        "start.hasValue().not() or end.hasValue().not() or (start <= end)"
    )


# -- core rules on data types -------------------------------------------------------------------------------


def _observation(**extra: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "status": "final", "code": {"text": "note"}, **extra}


@pytest.mark.parametrize(
    ("system", "why"),
    [
        ("http://hl7.org/fhir/ValueSet/observation-category", "is a ValueSet, not a code system"),
        ("https://fhir-family.uk/fhir/ValueSet/dependent-child-relationship", "is a ValueSet"),
        ("observation-category", "must be an absolute URI"),
    ],
)
def test_coding_system_must_be_an_absolute_code_system(system: str, why: str) -> None:
    observation = _observation(category=[{"coding": [{"system": system, "code": "vital-signs"}]}])
    [issue] = rendered(observation)
    assert (issue["severity"], issue["code"], issue["expression"], message_id(issue)) == (
        "error",
        "value",
        ["Observation.category[0].coding[0].system"],
        "FF-CODING-SYSTEM",
    )
    assert why in issue["diagnostics"]


def test_coding_system_that_is_a_code_system_passes() -> None:
    category = {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}
    assert issues(_observation(category=[{"coding": [category]}])) == set()


def _document_reference(attachment: dict[str, Any]) -> dict[str, Any]:
    attachment = {"contentType": "text/plain", **attachment}  # att-1: data needs a contentType
    return {"resourceType": "DocumentReference", "status": "current", "content": [{"attachment": attachment}]}


def checked(resource: dict[str, Any]) -> Found:
    """The issues but FF-CODE-UNCHECKED (contentType is bound to BCP-13 mime types, not available here)."""
    return {i for i in issues(resource) if i[3] != "FF-CODE-UNCHECKED"}


def test_attachment_size_and_hash_describe_the_decoded_data() -> None:
    data = base64.b64encode(b"hello world").decode()
    digest = base64.b64encode(hashlib.sha1(b"hello world").digest()).decode()
    assert checked(_document_reference({"data": data, "size": 11, "hash": digest})) == set()
    assert checked(_document_reference({"data": data, "size": 16})) == {
        ("error", "value", "DocumentReference.content[0].attachment.size", "FF-ATTACHMENT")
    }
    assert checked(_document_reference({"data": data, "hash": base64.b64encode(b"x" * 20).decode()})) == {
        ("error", "value", "DocumentReference.content[0].attachment.hash", "FF-ATTACHMENT")
    }


def test_strings_longer_than_one_megabyte_are_errors() -> None:
    within = _observation(code={"text": "é" * (512 * 1024)})  # 1 MB exactly in UTF-8
    assert issues(within) == set()
    beyond = _observation(code={"text": "é" * (512 * 1024) + "x"})
    assert issues(beyond) == {("error", "too-long", "Observation.code.text", "FF-TOO-LONG")}


def _narrative(div: str, **extra: Any) -> dict[str, Any]:
    return _observation(text={"status": "generated", "div": div}, **extra)


def test_narrative_internal_links_resolve() -> None:
    good = _narrative(
        '<div xmlns="http://www.w3.org/1999/xhtml"><a href="#n1">note</a> <p id="n1">x</p>'
        ' <a href="#dev">device</a> <a href="http://example.org/#x">elsewhere</a></div>',
        contained=[{"resourceType": "Device", "id": "dev"}],
        device={"reference": "#dev"},
    )
    assert issues(good) == set()
    bad = _narrative('<div xmlns="http://www.w3.org/1999/xhtml"><a href="#nowhere">note</a></div>')
    assert issues(bad) == {("error", "value", "Observation.text.div", "FF-NARRATIVE-LINK")}


def _weight(**extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "subject": {"reference": "Patient/1"},
        "effectiveDateTime": "2020-01-01",
        "valueQuantity": {"value": 70, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"},
        **extra,
    }


OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
VITAL_SIGNS_CATEGORY = {"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs"}]}


def test_vital_signs_profile_applies_by_loinc_code() -> None:
    """R4: an Observation with a vital-sign LOINC code SHALL conform to its vital signs profile."""
    assert issues(_weight()) == {("error", "required", "Observation.category", "FF-CARDINALITY-MIN")}
    [issue] = rendered(_weight())
    assert "observation-bodyweight" in issue["diagnostics"]
    assert issues(_weight(category=[VITAL_SIGNS_CATEGORY])) == set()
    other_code = _weight(code={"coding": [{"system": "http://loinc.org", "code": "2339-0"}]})  # glucose
    assert issues(other_code) == set()


def test_vital_signs_profile_applies_inside_a_bundle() -> None:
    b = _bundle("collection", {"fullUrl": BASE + "Observation/w", "resource": _weight(id="w")})
    assert issues(b) == {("error", "required", "Bundle.entry[0].resource.category", "FF-CARDINALITY-MIN")}


# -- unknown extensions: the policy -------------------------------------------------------------------------

VENDOR = "https://vendor.example/fhir/StructureDefinition/"


def _with_vendor_extension(name: str = "colour") -> dict[str, Any]:
    return _observation(extension=[{"url": VENDOR + name, "valueString": "blue"}])


@pytest.fixture(scope="module")
def lenient() -> Validator:
    return Validator(DefinitionStore.default(), unknown_extensions="warning")


@pytest.fixture(scope="module")
def allow_vendor() -> Validator:
    return Validator(DefinitionStore.default(), unknown_extensions=["https://vendor.example/"])


def _found(validator: Validator, resource: dict[str, Any]) -> Found:
    outcome = validator.validate(resource, CORE + resource["resourceType"])
    found = outcome["issue"]
    return {(i["severity"], i["code"], (i.get("expression") or [None])[0], message_id(i)) for i in found}


def test_unknown_extension_is_an_error_by_default_as_the_reference_validator() -> None:
    expected = {("error", "extension", "Observation.extension[0]", "FF-EXT-UNKNOWN")}
    assert issues(_with_vendor_extension()) == expected
    b = _bundle("collection", {"fullUrl": BASE + "Observation/o", "resource": _with_vendor_extension()})
    assert issues(b) == {("error", "extension", "Bundle.entry[0].resource.extension[0]", "FF-EXT-UNKNOWN")}


def test_unknown_extension_on_the_guides_profiles_keeps_its_documented_warning() -> None:
    bundle = json.loads((EXAMPLES / "unknown-extension-warning.json").read_text(encoding="utf-8"))
    assert issues(bundle, "national-return-bundle") == {
        ("warning", "extension", "Bundle.entry[1].resource.extension[2]", "FF-EXT-UNKNOWN")
    }


def test_unknown_extension_policy_warning(lenient: Validator) -> None:
    assert _found(lenient, _with_vendor_extension()) == {
        ("warning", "extension", "Observation.extension[0]", "FF-EXT-UNKNOWN")
    }


def test_unknown_extension_policy_allowed_domains(allow_vendor: Validator) -> None:
    assert _found(allow_vendor, _with_vendor_extension()) == {
        ("information", "extension", "Observation.extension[0]", "FF-EXT-UNKNOWN")
    }
    elsewhere = _observation(extension=[{"url": "https://other.example/ext", "valueString": "x"}])
    assert _found(allow_vendor, elsewhere) == {
        ("error", "extension", "Observation.extension[0]", "FF-EXT-UNKNOWN")
    }


@pytest.mark.parametrize("setting", ["errors", [], [""]])
def test_unknown_extension_policy_rejects_a_bad_setting(setting: Any) -> None:
    with pytest.raises(ValueError, match="unknown_extensions"):
        ExtensionPolicy.of(setting)


# -- minValue/maxValue of Quantity and Duration, bindings on Quantity ---------------------------------------

UCUM = "http://unitsofmeasure.org"
EXAMPLE = "http://example.org/fhir/"


def _profile(name: str, resource_type: str, elements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "StructureDefinition",
        "id": name,
        "url": f"{EXAMPLE}StructureDefinition/{name}",
        "name": name.title().replace("-", ""),
        "status": "active",
        "kind": "resource",
        "abstract": False,
        "type": resource_type,
        "baseDefinition": CORE + resource_type,
        "derivation": "constraint",
        "differential": {"element": [{"id": resource_type, "path": resource_type}, *elements]},
    }


def _ucum(value: float, code: str) -> dict[str, Any]:
    return {"value": value, "unit": code, "system": UCUM, "code": code}


@pytest.fixture(scope="module")
def quantity_profiles(tmp_path_factory: pytest.TempPathFactory) -> Validator:
    folder = tmp_path_factory.mktemp("quantity-guide")
    weight = _profile(
        "weight-limits",
        "Observation",
        [
            {
                "id": "Observation.value[x]",
                "path": "Observation.value[x]",
                "type": [{"code": "Quantity"}],
                "minValueQuantity": _ucum(0.5, "kg"),
                "maxValueQuantity": _ucum(300, "kg"),
                "binding": {"strength": "required", "valueSet": f"{EXAMPLE}ValueSet/weight-units"},
            }
        ],
    )
    supply = _profile(
        "supply-limit",
        "MedicationRequest",
        [
            {
                "id": "MedicationRequest.dispenseRequest.expectedSupplyDuration",
                "path": "MedicationRequest.dispenseRequest.expectedSupplyDuration",
                "maxValueQuantity": {"value": 90, "unit": "days", "system": UCUM, "code": "d"},
            }
        ],
    )
    units = {
        "resourceType": "ValueSet",
        "id": "weight-units",
        "url": f"{EXAMPLE}ValueSet/weight-units",
        "status": "active",
        "compose": {
            "include": [{"system": UCUM, "concept": [{"code": "kg"}, {"code": "g"}, {"code": "[lb_av]"}]}]
        },
    }
    for resource in (weight, supply, units):
        (folder / f"{resource['resourceType']}-{resource['id']}.json").write_text(json.dumps(resource))
    return Validator.from_package(folder)


def _weighed(quantity: dict[str, Any]) -> dict[str, Any]:
    return _observation(valueQuantity=quantity)


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        (_ucum(70, "kg"), set()),
        (_ucum(300, "kg"), set()),
        (_ucum(301, "kg"), {("error", "value", "Observation.value.ofType(Quantity)", "FF-VALUE-RANGE")}),
        (_ucum(600, "g"), set()),  # 0.6 kg
        (_ucum(400, "g"), {("error", "value", "Observation.value.ofType(Quantity)", "FF-VALUE-RANGE")}),
        (_ucum(700, "[lb_av]"), {("error", "value", "Observation.value.ofType(Quantity)", "FF-VALUE-RANGE")}),
        (_ucum(150, "[lb_av]"), set()),
        # not comparable: said so, never passed in silence
        (
            {"value": 70, "unit": "kg"},
            {("warning", "value", "Observation.value.ofType(Quantity)", "FF-VALUE-UNCHECKED")},
        ),
    ],
)
def test_quantity_min_max_value_with_ucum_conversion(
    quantity_profiles: Validator, quantity: dict[str, Any], expected: Found
) -> None:
    outcome = quantity_profiles.validate(_weighed(quantity), f"{EXAMPLE}StructureDefinition/weight-limits")
    found = {
        (i["severity"], i["code"], i["expression"][0], message_id(i))
        for i in outcome["issue"]
        if "expression" in i
    }
    assert found == expected


def test_quantity_binding_checks_system_and_code(quantity_profiles: Validator) -> None:
    in_range = _weighed(_ucum(0.07, "t"))  # 70 kg, but in tonnes, which the ValueSet does not allow
    outcome = quantity_profiles.validate(in_range, f"{EXAMPLE}StructureDefinition/weight-limits")
    [issue] = [i for i in outcome["issue"] if i["severity"] == "error"]
    assert (issue["code"], issue["expression"], message_id(issue)) == (
        "code-invalid",
        ["Observation.value.ofType(Quantity)"],
        "FF-CODE-NOT-IN-VS",
    )
    assert issue["diagnostics"].endswith(
        "'http://unitsofmeasure.org|t' is not in ValueSet http://example.org/fhir/ValueSet/weight-units; "
        "the allowed codes of http://unitsofmeasure.org are '[lb_av]', 'g', 'kg'"
    )


@pytest.mark.parametrize(("weeks", "ok"), [(12, True), (13, False)])
def test_duration_max_value_in_other_units(quantity_profiles: Validator, weeks: int, ok: bool) -> None:
    request = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": "aspirin"},
        "subject": {"reference": "Patient/1"},
        "dispenseRequest": {"expectedSupplyDuration": _ucum(weeks, "wk")},
    }
    outcome = quantity_profiles.validate(request, f"{EXAMPLE}StructureDefinition/supply-limit")
    errors = [(i["expression"][0], message_id(i)) for i in outcome["issue"] if i["severity"] == "error"]
    expected = [("MedicationRequest.dispenseRequest.expectedSupplyDuration", "FF-VALUE-RANGE")]
    assert errors == ([] if ok else expected)


# -- slicing, and profiles reached through a containing profile ---------------------------------------------


def _sd_url(name: str) -> str:
    return f"{EXAMPLE}StructureDefinition/{name}"


def _entry_slicing(kind: str) -> dict[str, Any]:
    return {
        "id": "Bundle.entry",
        "path": "Bundle.entry",
        "slicing": {"discriminator": [{"type": kind, "path": "resource"}], "rules": "open"},
    }


def _entry_slice(name: str, resource_type: str, profile: str | None, minimum: int) -> list[dict[str, Any]]:
    resource_type_rule: dict[str, Any] = {"code": resource_type}
    if profile:
        resource_type_rule["profile"] = [_sd_url(profile)]
    return [
        {"id": f"Bundle.entry:{name}", "path": "Bundle.entry", "sliceName": name, "min": minimum, "max": "1"},
        {
            "id": f"Bundle.entry:{name}.resource",
            "path": "Bundle.entry.resource",
            "type": [resource_type_rule],
        },
    ]


@pytest.fixture(scope="module")
def slicing_profiles(tmp_path_factory: pytest.TempPathFactory) -> Validator:
    folder = tmp_path_factory.mktemp("slicing-guide")
    named = _profile("named-patient", "Patient", [{"id": "Patient.name", "path": "Patient.name", "min": 1}])
    by_type = _profile(
        "typed-bundle",
        "Bundle",
        [
            _entry_slicing("type"),
            *_entry_slice("patient", "Patient", "named-patient", 1),
            *_entry_slice("org", "Organization", None, 0),
        ],
    )
    by_profile = _profile(
        "profiled-bundle",
        "Bundle",
        [_entry_slicing("profile"), *_entry_slice("named", "Patient", "named-patient", 1)],
    )
    two_patterns = _profile(
        "two-pattern-patient",
        "Patient",
        [
            {
                "id": "Patient.identifier",
                "path": "Patient.identifier",
                "slicing": {
                    "discriminator": [
                        {"type": "pattern", "path": "system"},
                        {"type": "pattern", "path": "type"},
                    ],
                    "rules": "closed",
                },
            },
            {
                "id": "Patient.identifier:nhs",
                "path": "Patient.identifier",
                "sliceName": "nhs",
                "min": 1,
                "max": "1",
            },
            {
                "id": "Patient.identifier:nhs.system",
                "path": "Patient.identifier.system",
                "patternUri": "https://fhir.nhs.uk/Id/nhs-number",
            },
        ],
    )
    parameters = _profile(
        "patient-parameters",
        "Parameters",
        [
            {
                "id": "Parameters.parameter.resource",
                "path": "Parameters.parameter.resource",
                "type": [{"code": "Patient", "profile": [_sd_url("named-patient")]}],
            }
        ],
    )
    unknown_parameters = _profile(
        "unknown-parameters",
        "Parameters",
        [
            {
                "id": "Parameters.parameter.resource",
                "path": "Parameters.parameter.resource",
                "type": [{"code": "Patient", "profile": [_sd_url("not-loaded")]}],
            }
        ],
    )
    subject = _profile(
        "named-subject-observation",
        "Observation",
        [
            {
                "id": "Observation.subject",
                "path": "Observation.subject",
                "type": [{"code": "Reference", "targetProfile": [_sd_url("named-patient")]}],
            },
            {
                "id": "Observation.performer",
                "path": "Observation.performer",
                "type": [{"code": "Reference", "targetProfile": [_sd_url("not-loaded-practitioner")]}],
            },
        ],
    )
    for sd in (named, by_type, by_profile, two_patterns, parameters, unknown_parameters, subject):
        (folder / f"StructureDefinition-{sd['id']}.json").write_text(json.dumps(sd))
    return Validator.from_package(folder)


def _found_against(validator: Validator, resource: dict[str, Any], name: str) -> Found:
    outcome = validator.validate(resource, _sd_url(name))
    return {
        (i["severity"], i["code"], (i.get("expression") or [None])[0], message_id(i))
        for i in outcome["issue"]
        if i["severity"] != "information"
    }


NAMED = {"resourceType": "Patient", "id": "p", "name": [{"family": "Jones"}]}
UNNAMED = {"resourceType": "Patient", "id": "p", "gender": "female"}


def _collection(*resources: dict[str, Any]) -> dict[str, Any]:
    entries = [{"fullUrl": f"{BASE}{r['resourceType']}/{r['id']}", "resource": r} for r in resources]
    return _bundle("collection", *entries)


def test_slicing_bundle_entries_by_resource_type_applies_the_slice_profile(
    slicing_profiles: Validator,
) -> None:
    org = _org("o")
    weight = _observation(id="w")  # matches no slice: allowed, the slicing is open
    assert _found_against(slicing_profiles, _collection(NAMED, org, weight), "typed-bundle") == set()
    # the Patient slice's resource type names profile named-patient: applied (name 1..*)
    assert _found_against(slicing_profiles, _collection(UNNAMED, org), "typed-bundle") == {
        ("error", "required", "Bundle.entry[0].resource.name", "FF-CARDINALITY-MIN")
    }
    assert _found_against(slicing_profiles, _collection(org), "typed-bundle") == {
        ("error", "required", "Bundle.entry", "FF-CARDINALITY-MIN")
    }


def test_slicing_by_profile_discriminator(slicing_profiles: Validator) -> None:
    assert _found_against(slicing_profiles, _collection(NAMED), "profiled-bundle") == set()
    # an unnamed Patient does not conform to named-patient, so the required slice is missing
    assert _found_against(slicing_profiles, _collection(UNNAMED), "profiled-bundle") == {
        ("error", "required", "Bundle.entry", "FF-CARDINALITY-MIN")
    }


def test_slice_that_leaves_one_of_two_pattern_discriminators_open(slicing_profiles: Validator) -> None:
    nhs = {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}
    typed = {**nhs, "type": {"text": "NHS number"}}
    for identifier in (nhs, typed):
        patient = {"resourceType": "Patient", "identifier": [identifier]}
        assert _found_against(slicing_profiles, patient, "two-pattern-patient") == set()
    other = {"resourceType": "Patient", "identifier": [{"system": "urn:oid:1.2.3", "value": "x"}]}
    assert _found_against(slicing_profiles, other, "two-pattern-patient") == {
        ("error", "required", "Patient.identifier", "FF-CARDINALITY-MIN"),
        ("error", "structure", "Patient.identifier[0]", "FF-SLICE-CLOSED"),
    }


def test_parameters_resource_gets_the_profile_its_element_names(slicing_profiles: Validator) -> None:
    def parameters(patient: dict[str, Any]) -> dict[str, Any]:
        return {"resourceType": "Parameters", "parameter": [{"name": "patient", "resource": patient}]}

    assert _found_against(slicing_profiles, parameters(NAMED), "patient-parameters") == set()
    assert _found_against(slicing_profiles, parameters(UNNAMED), "patient-parameters") == {
        ("error", "required", "Parameters.parameter[0].resource.name", "FF-CARDINALITY-MIN")
    }
    assert _found_against(slicing_profiles, parameters(NAMED), "unknown-parameters") == {
        ("warning", "not-found", "Parameters.parameter[0].resource", "FF-PROFILE-UNKNOWN")
    }


def test_target_profile_is_checked_on_the_target_and_an_unknown_one_is_reported(
    slicing_profiles: Validator,
) -> None:
    def bundle(patient: dict[str, Any]) -> dict[str, Any]:
        observation = _observation(
            id="o",
            meta={"profile": [_sd_url("named-subject-observation")]},
            subject={"reference": "Patient/p"},
            performer=[{"reference": "Practitioner/x"}],
        )
        return _collection(patient, observation)

    performer = "Bundle.entry[1].resource.performer[0].reference"
    unknown_target = ("warning", "not-found", performer, "FF-PROFILE-UNKNOWN")
    assert _found_against(slicing_profiles, bundle(NAMED), "typed-bundle") == {unknown_target}
    # the Patient is valid as a Patient (validated against core), but not as the named-patient the
    # Observation's subject requires
    assert _found_against(slicing_profiles, bundle(UNNAMED), "typed-bundle") == {
        unknown_target,
        ("error", "required", "Bundle.entry[0].resource.name", "FF-CARDINALITY-MIN"),
    }
    assert _found_against(slicing_profiles, bundle(UNNAMED), "profiled-bundle") == {
        unknown_target,
        ("error", "required", "Bundle.entry", "FF-CARDINALITY-MIN"),
        ("error", "structure", "Bundle.entry[1].resource.subject.reference", "FF-REF-TARGET"),
    }


@pytest.fixture(scope="module")
def type_slice_profiles(tmp_path_factory: pytest.TempPathFactory) -> Validator:
    folder = tmp_path_factory.mktemp("type-slice-guide")

    def sliced(name: str, rules: str) -> dict[str, Any]:
        return _profile(
            name,
            "Observation",
            [
                {
                    "id": "Observation.value[x]",
                    "path": "Observation.value[x]",
                    "slicing": {"discriminator": [{"type": "type", "path": "$this"}], "rules": rules},
                },
                {
                    "id": "Observation.value[x]:valueQuantity",
                    "path": "Observation.value[x]",
                    "sliceName": "valueQuantity",
                    "type": [{"code": "Quantity"}],
                },
                {
                    "id": "Observation.value[x]:valueQuantity.system",
                    "path": "Observation.value[x].system",
                    "min": 1,
                    "fixedUri": UCUM,
                },
            ],
        )

    for sd in (sliced("open-value", "open"), sliced("closed-value", "closed")):
        (folder / f"StructureDefinition-{sd['id']}.json").write_text(json.dumps(sd))
    return Validator.from_package(folder)


def test_open_type_slice_constrains_its_type_and_leaves_the_others(type_slice_profiles: Validator) -> None:
    quantity = _observation(valueQuantity=_ucum(70, "kg"))
    not_ucum = _observation(valueQuantity={"value": 70, "system": "http://example.org/units", "code": "kg"})
    text = _observation(valueString="seventy kilograms")
    assert _found_against(type_slice_profiles, quantity, "open-value") == set()
    assert _found_against(type_slice_profiles, not_ucum, "open-value") == {
        ("error", "value", "Observation.value.ofType(Quantity).system", "FF-FIXED")
    }
    assert _found_against(type_slice_profiles, text, "open-value") == set()  # open: other types allowed
    assert _found_against(type_slice_profiles, text, "closed-value") == {
        ("error", "value", "Observation.value.ofType(string)", "FF-TYPE")
    }


# -- StructureDefinitions as input --------------------------------------------------------------------------


def _sd_issues(sd: dict[str, Any]) -> Found:
    return {i for i in issues(sd) if i[3] != "FF-INVARIANT" or i[0] == "error"}


def _extension_sd(url_fixed: str, contexts: list[dict[str, str]]) -> dict[str, Any]:
    url = f"{EXAMPLE}StructureDefinition/favourite-colour"
    return {
        "resourceType": "StructureDefinition",
        "url": url,
        "name": "FavouriteColour",
        "status": "active",
        "kind": "complex-type",
        "abstract": False,
        "context": contexts,
        "type": "Extension",
        "baseDefinition": CORE + "Extension",
        "derivation": "constraint",
        "differential": {
            "element": [
                {"id": "Extension", "path": "Extension"},
                {"id": "Extension.url", "path": "Extension.url", "fixedUri": url_fixed},
                {"id": "Extension.value[x]", "path": "Extension.value[x]", "type": [{"code": "string"}]},
            ]
        },
    }


EXTENSION_URL = f"{EXAMPLE}StructureDefinition/favourite-colour"


def test_structure_definition_differential_paths_must_exist_in_the_base() -> None:
    good = _profile("named-patient", "Patient", [{"id": "Patient.name", "path": "Patient.name", "min": 1}])
    assert _sd_issues(good) == set()
    bad = _profile(
        "bad-patient",
        "Patient",
        [
            {"id": "Patient.favouriteColour", "path": "Patient.favouriteColour", "min": 1},
            {"id": "Observation.status", "path": "Observation.status", "min": 1},
            {"id": "Patient.identifier.system", "path": "Patient.identifier.system", "min": 1},
        ],
    )
    assert _sd_issues(bad) == {
        ("error", "structure", "StructureDefinition.differential.element[1]", "FF-SD-INVALID"),
        # sdf-8a: a path outside the type (Observation.status)
        ("error", "invariant", "StructureDefinition.differential", "FF-INVARIANT"),
    }


def test_structure_definition_discriminator_paths_must_lead_somewhere() -> None:
    def sliced(path: str) -> dict[str, Any]:
        return _profile(
            "sliced-patient",
            "Patient",
            [
                {
                    "id": "Patient.identifier",
                    "path": "Patient.identifier",
                    "slicing": {"discriminator": [{"type": "value", "path": path}], "rules": "open"},
                }
            ],
        )

    for path in ("system", "type.coding.code", "$this", "assigner.resolve()", "extension('http://x').value"):
        assert _sd_issues(sliced(path)) == set(), path
    assert _sd_issues(sliced("colour")) == {
        (
            "error",
            "structure",
            "StructureDefinition.differential.element[1].slicing.discriminator[0].path",
            "FF-SD-INVALID",
        )
    }


def test_derived_extension_keeps_its_url_and_valid_contexts() -> None:
    element = [{"type": "element", "expression": "Patient"}]
    assert _sd_issues(_extension_sd(EXTENSION_URL, element)) == set()
    assert _sd_issues(_extension_sd(f"{EXAMPLE}other", element)) == {
        ("error", "structure", "StructureDefinition.differential.element[1].fixedUri", "FF-SD-INVALID")
    }


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"type": "element", "expression": "Patient.identifier"}, None),
        ({"type": "element", "expression": "Element"}, None),
        ({"type": "element", "expression": "StructureDefinition.snapshot.element.binding"}, None),
        ({"type": "element", "expression": "Questionnaire.item.item.code"}, None),
        ({"type": "extension", "expression": CORE + "patient-birthPlace"}, None),
        ({"type": "fhirpath", "expression": "Patient.name.where(use = 'official')"}, None),
        ({"type": "element", "expression": "Patient.favouriteColour"}, ("error", "FF-SD-INVALID")),
        ({"type": "element", "expression": "Patiant"}, ("error", "FF-SD-INVALID")),
        ({"type": "fhirpath", "expression": "Patient.name.where("}, ("error", "FF-SD-INVALID")),
        ({"type": "extension", "expression": f"{EXAMPLE}not-loaded"}, ("warning", "FF-PROFILE-UNKNOWN")),
    ],
)
def test_extension_contexts_as_r4_core_uses_them(
    context: dict[str, str], expected: tuple[str, str] | None
) -> None:
    found = {(s, m) for s, _c, e, m in _sd_issues(_extension_sd(EXTENSION_URL, [context]))}
    assert found == (set() if expected is None else {expected})


# -- the core bdl invariants (fhirpathpy evaluates all but bdl-7, which is native) --------------------------

PATIENT = {"resourceType": "Patient", "id": "p"}


def _typed(bundle_type: str, entry: dict[str, Any]) -> dict[str, Any]:
    return {"type": bundle_type, "entry": [entry]}


@pytest.mark.parametrize(
    ("key", "bundle", "expression"),
    [
        ("bdl-1", {"type": "collection", "total": 1}, "Bundle"),
        ("bdl-2", _typed("collection", {"resource": PATIENT, "search": {"mode": "match"}}), "Bundle"),
        ("bdl-3", {"type": "transaction", "entry": [{"fullUrl": UUID1, "resource": PATIENT}]}, "Bundle"),
        ("bdl-4", {"type": "batch-response", "entry": [{"resource": PATIENT}]}, "Bundle"),
        ("bdl-5", {"type": "collection", "entry": [{"fullUrl": BASE + "Patient/p"}]}, "Bundle.entry[0]"),
        (
            "bdl-8",
            _typed("collection", {"fullUrl": BASE + "Patient/p/_history/1", "resource": PATIENT}),
            "Bundle.entry[0]",
        ),
        ("bdl-12", _typed("message", {"fullUrl": BASE + "Patient/p", "resource": PATIENT}), "Bundle"),
    ],
)
def test_core_bundle_invariants(key: str, bundle: dict[str, Any], expression: str) -> None:
    found = [
        i
        for i in rendered({"resourceType": "Bundle", **bundle})
        if message_id(i) == "FF-INVARIANT" and i["diagnostics"].startswith(f"{key}:")
    ]
    assert [(i["severity"], i["expression"][0]) for i in found] == [("error", expression)]


# -- the same rules through the command line users run ------------------------------------------------------


def _cli(resource: dict[str, Any], *args: str) -> tuple[int, dict[str, Any]]:
    command = ["validate", "--format", "json", *args, "-"]
    result = CliRunner().invoke(main, command, input=json.dumps(resource))
    return result.exit_code, json.loads(result.output)


def test_cli_reports_generic_r4_rules() -> None:
    code, outcome = _cli(_bundle("collection", {"fullUrl": "Organization/1", "resource": _org("1")}))
    assert code == 1
    assert [message_id(i) for i in outcome["issue"]] == ["FF-FULLURL-ABSOLUTE"]
    code, outcome = _cli(_with_vendor_extension(), "--profile", CORE + "Observation")
    assert code == 1
    assert [(i["severity"], message_id(i)) for i in outcome["issue"]] == [("error", "FF-EXT-UNKNOWN")]
    code, outcome = _cli(_bundle("collection", {"fullUrl": UUID1, "resource": _patient(None, UUID2)}))
    assert code == 0  # an unresolved urn in a collection: a warning only
    assert [(i["severity"], message_id(i)) for i in outcome["issue"]] == [("warning", "FF-REF-NOT-FOUND")]


# -- other core comparisons fhirpathpy gets wrong, evaluated natively ---------------------------------------


@pytest.mark.parametrize(
    ("low", "high", "holds"),
    [
        (_ucum(1, "g"), _ucum(2, "g"), True),
        (_ucum(3, "g"), _ucum(2, "g"), False),
        (_ucum(1, "g"), _ucum(0.5, "kg"), True),
        (_ucum(600, "g"), _ucum(0.5, "kg"), False),
        ({"value": 3}, {"value": 2}, False),
        (_ucum(1, "g"), _ucum(1, "h"), False),  # not comparable: FHIRPath's empty, not satisfied
    ],
)
def test_rng2_compares_quantities_with_units(low: dict[str, Any], high: dict[str, Any], holds: bool) -> None:
    expected = set() if holds else {("error", "invariant", "Observation.value.ofType(Range)", "FF-INVARIANT")}
    assert issues(_observation(valueRange={"low": low, "high": high})) == expected


@pytest.mark.parametrize(
    ("prepared", "handed_over", "holds"),
    [("2020-01-01", "2020-01-02", True), ("2020-01-02", "2020-01-01", False), ("2020-01-01", "2020", False)],
)
def test_mdd1_compares_dates_by_fhirpath_precision(prepared: str, handed_over: str, holds: bool) -> None:
    dispense = {
        "resourceType": "MedicationDispense",
        "status": "completed",
        "medicationCodeableConcept": {"text": "aspirin"},
        "whenPrepared": prepared,
        "whenHandedOver": handed_over,
    }
    expected = set() if holds else {("error", "invariant", "MedicationDispense", "FF-INVARIANT")}
    assert issues(dispense) == expected


def test_invariant_the_engine_cannot_evaluate_is_reported_as_not_checked(tmp_path: Path) -> None:
    """Never a silent pass: a constraint fhirpathpy fails on is reported as information: not checked."""
    broken = {"key": "ex-1", "severity": "error", "human": "Names are checked", "expression": "name.where()"}
    profile = _profile(
        "checked-names", "Patient", [{"id": "Patient", "path": "Patient", "constraint": [broken]}]
    )
    (tmp_path / "StructureDefinition-checked-names.json").write_text(json.dumps(profile))
    outcome = Validator.from_package(tmp_path).validate(NAMED, _sd_url("checked-names"))
    [issue] = outcome["issue"]
    assert (issue["severity"], message_id(issue), issue["expression"]) == (
        "information",
        "FF-INVARIANT-UNCHECKED",
        ["Patient"],
    )
    assert issue["diagnostics"].startswith("ex-1 could not be evaluated")
