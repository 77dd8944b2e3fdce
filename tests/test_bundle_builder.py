"""build_bundle: ReturnRecord -> NationalReturnBundle, field by field, deterministic, minimal, parseable."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from fhir_family import model as t
from fhir_family.guide import guide_resources_dir
from fhir_family.mapping.bundle import build_bundle, identifier_query, provider_record_value
from fhir_family.mapping.ids import entry_full_url
from fhir_family.mapping.nhs_number import check_digit, is_valid_nhs_number, synthetic_nhs_number
from fhir_family.mapping.record import ChildRecord, ReturnRecord

PS = t.EXT_PARENTAL_STATUS


@pytest.fixture
def record() -> ReturnRecord:
    return ReturnRecord(
        submission_id="RX4-2026-01-0001",
        ods_code="RX4",
        local_patient_id="P-77",
        nhs_number=synthetic_nhs_number(1),
        nhs_number_verification="01",
        birth_date=date(1988, 4, 12),
        gender="female",
        local_authority="E08000035",
        parental_status="some-children-live-with-patient",
        reporting_period_start=date(2026, 1, 1),
        reporting_period_end=date(2026, 1, 31),
        legal_basis="national-direction",
        service_request_id="SR-77",
        team_type="A03",
        episode_start=date(2025, 11, 3),
        episode_status="active",
        organisation_name="Example Mental Health NHS Foundation Trust",
        children_in_household=1,
        expecting_child=True,
        expected_due_date=date(2026, 5, 20),
        unborn_child_help="early-help",
        date_asked=date(2026, 1, 14),
        asked_by="nurse",
        status_source="self-report",
        support_offered=("parenting-support", "carers-assessment"),
        children=(
            ChildRecord(
                local_id="C-1",
                relationship="DAU",
                birth_date=date(2014, 2, 1),
                pr_held="Y",
                pr_basis=("birth-mother",),
                residence="full-time",
                young_carer="Y",
                help=("early-help", "child-in-need"),
                nhs_number=synthetic_nhs_number(2),
                gender="female",
            ),
            ChildRecord(
                local_id="C-2", relationship="Dependant", birth_date=date(2010, 7, 30), pr_held="N",
                residence="other-parent",
            ),
        ),
    )


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _sub(extension: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [part for part in extension["extension"] if part["url"] == name]


def _ext(resource: dict[str, Any], url: str) -> list[dict[str, Any]]:
    return [ext for ext in resource.get("extension", []) if ext["url"] == url]


def _code(concept: dict[str, Any]) -> tuple[str, str]:
    (coding,) = concept["coding"]
    return coding["system"], coding["code"]


def _walk(node: Any, path: str = ""):
    """Every (path, key, value) in a JSON tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key, value
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}[{index}]")


def test_bundle_envelope(record):
    bundle = build_bundle(record)
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "transaction"
    assert bundle["identifier"] == {"system": t.SUBMISSION_SYSTEM, "value": "RX4-2026-01-0001"}
    assert bundle["meta"]["profile"] == [t.NATIONAL_RETURN_BUNDLE]
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == [
        "Organization",
        "Patient",
        "EpisodeOfCare",
        "RelatedPerson",
        "RelatedPerson",
    ]
    profiles = [e["resource"]["meta"]["profile"] for e in bundle["entry"]]
    assert profiles == [
        [t.REPORTING_PROVIDER],
        [t.PARENT_PATIENT],
        [t.MENTAL_HEALTH_EPISODE],
        [t.DEPENDENT_CHILD],
        [t.DEPENDENT_CHILD],
    ]


def test_the_returns_facts_are_on_bundle_meta(record):
    meta = build_bundle(record)["meta"]
    period, legal_basis = meta["extension"]
    assert period == {"url": t.EXT_REPORTING_PERIOD,
                      "valuePeriod": {"start": "2026-01-01", "end": "2026-01-31"}}
    assert legal_basis["url"] == t.EXT_LEGAL_BASIS
    assert _code(legal_basis["valueCodeableConcept"]) == (t.LEGAL_BASIS_SYSTEM, "national-direction")


def test_every_entry_but_the_organization_is_a_conditional_update_on_its_provider_key(record):
    requests = [e["request"] for e in build_bundle(record)["entry"]]
    assert requests[0] == {
        "method": "POST",
        "url": "Organization",
        "ifNoneExist": f"identifier={t.ODS_SYSTEM}|RX4",
    }
    key = f"identifier={t.PROVIDER_RECORD_SYSTEM}|"
    assert requests[1:] == [
        {"method": "PUT", "url": f"Patient?{key}RX4/P-77"},
        {"method": "PUT", "url": f"EpisodeOfCare?{key}RX4/SR-77"},
        {"method": "PUT", "url": f"RelatedPerson?{key}RX4/P-77/C-1"},
        {"method": "PUT", "url": f"RelatedPerson?{key}RX4/P-77/C-2"},
    ]


@pytest.mark.parametrize(
    ("system", "value", "query"),
    [
        (t.NHS_NUMBER_SYSTEM, "9990000018", "identifier=https://fhir.nhs.uk/Id/nhs-number|9990000018"),
        ("urn:oid:1.2.3", "EP 7&8", "identifier=urn:oid:1.2.3|EP%207%268"),
        (
            "https://x.example/id",
            "a|b,c$d\\e",
            "identifier=https://x.example/id|a%5C%7Cb%5C%2Cc%5C%24d%5C%5Ce",
        ),
        ("https://x.example/id?v=1#f", "x", "identifier=https://x.example/id%3Fv%3D1%23f|x"),
    ],
)
def test_identifier_query_escapes_search_and_url_specials(system, value, query):
    assert identifier_query(system, value) == query


def test_a_service_request_id_with_specials_gives_a_safe_conditional_url(record):
    bundle = build_bundle(replace(record, service_request_id="EP 7&8|9"))
    episode = bundle["entry"][2]
    assert episode["resource"]["identifier"] == [
        {"system": t.PROVIDER_RECORD_SYSTEM, "value": "RX4/EP%207%268%7C9"},
        {"system": t.MHSDS_SERVICE_REQUEST_SYSTEM, "value": "EP 7&8|9"},
    ]
    # the key's own % is percent-encoded again in the URL, so the server's decoding gives the key back
    assert episode["request"]["url"] == (
        f"EpisodeOfCare?identifier={t.PROVIDER_RECORD_SYSTEM}|RX4/EP%25207%25268%257C9"
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [(("a/b",), ("a", "b")), (("a%2Fb",), ("a/b",)), (("P1", "C/2"), ("P1/C", "2"))],
)
def test_provider_keys_of_different_local_ids_never_collide(first, second):
    assert provider_record_value("RX4", *first) != provider_record_value("RX4", *second)


def test_organization_fields(record):
    (org,) = _resources(build_bundle(record), "Organization")
    assert org["identifier"] == [{"system": t.ODS_SYSTEM, "value": "RX4"}]
    assert org["name"] == "Example Mental Health NHS Foundation Trust"
    (org,) = _resources(build_bundle(replace(record, organisation_name=None)), "Organization")
    assert "name" not in org


def test_patient_fields_round_trip(record):
    bundle = build_bundle(record)
    (patient,) = _resources(bundle, "Patient")
    nhs, local = patient["identifier"]
    assert (nhs["system"], nhs["value"]) == (t.NHS_NUMBER_SYSTEM, record.nhs_number)
    (verification,) = nhs["extension"]
    assert verification["url"] == t.NHS_NUMBER_VERIFICATION_EXT
    assert _code(verification["valueCodeableConcept"]) == (t.NHS_NUMBER_VERIFICATION_SYSTEM, "01")
    assert local == {"system": t.PROVIDER_RECORD_SYSTEM, "value": "RX4/P-77"}
    assert _ext(patient, t.EXT_LOCAL_AUTHORITY) == [
        {"url": t.EXT_LOCAL_AUTHORITY, "valueCoding": {"system": t.GSS_SYSTEM, "code": "E08000035"}}
    ]
    assert patient["birthDate"] == "1988-04-12"
    assert patient["gender"] == "female"
    assert patient["managingOrganization"] == {"reference": bundle["entry"][0]["fullUrl"]}
    (status,) = _ext(patient, PS)
    assert [part["url"] for part in status["extension"]] == [
        "status",
        "childrenInHousehold",
        "expectingChild",
        "expectedDueDate",
        "unbornChildHelp",
        "dateAsked",
        "askedBy",
        "source",
        "supportOffered",
        "supportOffered",
    ]
    assert _sub(status, "status")[0]["valueCodeableConcept"] == {
        "coding": [
            {
                "system": t.PARENTAL_STATUS_SYSTEM,
                "code": "some-children-live-with-patient",
                "display": "Parent: some of the children live with the patient",
            }
        ]
    }
    assert _sub(status, "childrenInHousehold")[0]["valueUnsignedInt"] == 1
    assert _sub(status, "expectingChild")[0]["valueBoolean"] is True
    assert _sub(status, "expectedDueDate")[0]["valueDate"] == "2026-05-20"
    assert _code(_sub(status, "unbornChildHelp")[0]["valueCodeableConcept"]) == (
        t.HELP_AND_PROTECTION_SYSTEM,
        "early-help",
    )
    assert _sub(status, "dateAsked")[0]["valueDate"] == "2026-01-14"
    assert _code(_sub(status, "askedBy")[0]["valueCodeableConcept"]) == (t.ASKED_BY_ROLE_SYSTEM, "nurse")
    assert _code(_sub(status, "source")[0]["valueCodeableConcept"]) == (t.STATUS_SOURCE_SYSTEM, "self-report")
    assert [_code(p["valueCodeableConcept"]) for p in _sub(status, "supportOffered")] == [
        (t.SUPPORT_OFFERED_SYSTEM, "parenting-support"),
        (t.SUPPORT_OFFERED_SYSTEM, "carers-assessment"),
    ]


def test_optional_parental_status_parts_are_left_out(record):
    minimal = replace(
        record,
        children_in_household=None,
        expecting_child=None,
        expected_due_date=None,
        unborn_child_help=None,
        date_asked=None,
        asked_by=None,
        status_source=None,
        support_offered=(),
        local_authority=None,
        nhs_number_verification=None,
    )
    (patient,) = _resources(build_bundle(minimal), "Patient")
    (status,) = _ext(patient, PS)
    assert [part["url"] for part in status["extension"]] == ["status"]
    assert [ext["url"] for ext in patient["extension"]] == [PS]
    assert "extension" not in patient["identifier"][0]


def test_zero_and_false_are_kept_not_dropped(record):
    (patient,) = _resources(
        build_bundle(replace(record, children_in_household=0, expecting_child=False)), "Patient"
    )
    (status,) = _ext(patient, PS)
    assert _sub(status, "childrenInHousehold")[0]["valueUnsignedInt"] == 0
    assert _sub(status, "expectingChild")[0]["valueBoolean"] is False


def test_episode_fields(record):
    bundle = build_bundle(replace(record, episode_end=date(2026, 1, 20), episode_status="finished"))
    (episode,) = _resources(bundle, "EpisodeOfCare")
    assert episode["status"] == "finished"
    assert episode["period"] == {"start": "2025-11-03", "end": "2026-01-20"}
    assert episode["patient"] == {"reference": bundle["entry"][1]["fullUrl"]}
    assert episode["managingOrganization"] == {"reference": bundle["entry"][0]["fullUrl"]}
    assert episode["identifier"] == [
        {"system": t.PROVIDER_RECORD_SYSTEM, "value": "RX4/SR-77"},
        {"system": t.MHSDS_SERVICE_REQUEST_SYSTEM, "value": "SR-77"},
    ]
    assert [_code(concept) for concept in episode["type"]] == [(t.MHSDS_TEAM_TYPE_SYSTEM, "A03")]
    (episode,) = _resources(build_bundle(record), "EpisodeOfCare")
    assert episode["period"] == {"start": "2025-11-03"}


def test_child_fields_round_trip(record):
    bundle = build_bundle(record)
    first, second = _resources(bundle, "RelatedPerson")
    patient_url = bundle["entry"][1]["fullUrl"]
    assert first["patient"] == {"reference": patient_url}
    assert first["relationship"] == [
        {"coding": [{"system": t.V3_ROLE_CODE_SYSTEM, "code": "DAU", "display": "natural daughter"}]}
    ]
    assert first["birthDate"] == "2014-02-01"
    assert first["gender"] == "female"
    assert first["identifier"] == [
        {"system": t.NHS_NUMBER_SYSTEM, "value": record.children[0].nhs_number},
        {"system": t.PROVIDER_RECORD_SYSTEM, "value": "RX4/P-77/C-1"},
    ]
    (pr,) = _ext(first, t.EXT_PARENTAL_RESPONSIBILITY)
    assert [part["url"] for part in pr["extension"]] == ["held", "basis"]
    assert _code(_sub(pr, "held")[0]["valueCodeableConcept"]) == (t.YES_NO_UNKNOWN_SYSTEM, "Y")
    assert _code(_sub(pr, "basis")[0]["valueCodeableConcept"]) == (t.PR_BASIS_SYSTEM, "birth-mother")
    (residence,) = _ext(first, t.EXT_CHILD_RESIDENCE)
    assert _code(residence["valueCodeableConcept"]) == (t.CHILD_RESIDENCE_SYSTEM, "full-time")
    (carer,) = _ext(first, t.EXT_YOUNG_CARER)
    assert _code(carer["valueCodeableConcept"]) == (t.YES_NO_UNKNOWN_SYSTEM, "Y")
    helps = [_code(e["valueCodeableConcept"]) for e in _ext(first, t.EXT_HELP_AND_PROTECTION)]
    assert helps == [
        (t.HELP_AND_PROTECTION_SYSTEM, "early-help"),
        (t.HELP_AND_PROTECTION_SYSTEM, "child-in-need"),
    ]
    # Extensions in the documented order, so expressions like extension[2] mean the same thing everywhere.
    assert [e["url"] for e in first["extension"]] == [
        t.EXT_PARENTAL_RESPONSIBILITY,
        t.EXT_CHILD_RESIDENCE,
        t.EXT_YOUNG_CARER,
        t.EXT_HELP_AND_PROTECTION,
        t.EXT_HELP_AND_PROTECTION,
    ]

    assert "period" not in first

    # The second child: defaults, no NHS number, no gender, no basis when PR is not held.
    assert second["identifier"] == [{"system": t.PROVIDER_RECORD_SYSTEM, "value": "RX4/P-77/C-2"}]
    assert "gender" not in second
    (pr,) = _ext(second, t.EXT_PARENTAL_RESPONSIBILITY)
    assert [part["url"] for part in pr["extension"]] == ["held"]
    assert _code(_ext(second, t.EXT_YOUNG_CARER)[0]["valueCodeableConcept"]) == (
        t.YES_NO_UNKNOWN_SYSTEM,
        "UNK",
    )
    assert [_code(e["valueCodeableConcept"])[1] for e in _ext(second, t.EXT_HELP_AND_PROTECTION)] == [
        "not-known"
    ]


def test_the_0_2_child_facts_reach_their_elements(record):
    child = replace(
        record.children[0], pr_restriction=("care-order",), nhs_number_verification="02",
        local_authority="E09000033", think_family_action="referred", think_family_outcome="s47-enquiry",
        ended=date(2026, 1, 20),
    )
    (person, _) = _resources(build_bundle(replace(record, children=(child, record.children[1]))),
                             "RelatedPerson")
    (pr,) = _ext(person, t.EXT_PARENTAL_RESPONSIBILITY)
    assert [part["url"] for part in pr["extension"]] == ["held", "basis", "restriction"]
    (restriction,) = _sub(pr, "restriction")
    assert _code(restriction["valueCodeableConcept"]) == (t.PR_RESTRICTION_SYSTEM, "care-order")
    assert _code(person["identifier"][0]["extension"][0]["valueCodeableConcept"])[1] == "02"
    (referral,) = _ext(person, t.EXT_THINK_FAMILY_REFERRAL)
    assert [(p["url"], _code(p["valueCodeableConcept"])[1]) for p in referral["extension"]] == [
        ("action", "referred"), ("outcome", "s47-enquiry")
    ]
    assert _ext(person, t.EXT_LOCAL_AUTHORITY)[0]["valueCoding"]["code"] == "E09000033"
    assert person["period"] == {"end": "2026-01-20"}
    urls = [e["url"] for e in person["extension"]]
    assert urls[-2:] == [t.EXT_THINK_FAMILY_REFERRAL, t.EXT_LOCAL_AUTHORITY]


@pytest.mark.parametrize(
    ("code", "system", "display"),
    [
        ("Dependant", t.UKCORE_REL_SYSTEM, "Dependant of patient"),
        ("CHILD", t.V3_ROLE_CODE_SYSTEM, "child"),
        ("GRNDCHILD", t.V3_ROLE_CODE_SYSTEM, "grandchild"),
        ("STPCHLD", t.V3_ROLE_CODE_SYSTEM, "step child"),
        ("NIENEPH", t.V3_ROLE_CODE_SYSTEM, "niece/nephew"),
    ],
)
def test_relationship_system_and_display(record, code, system, display):
    child = replace(record.children[0], relationship=code)
    bundle = build_bundle(replace(record, children=(child,)))
    (person,) = _resources(bundle, "RelatedPerson")
    assert person["relationship"][0]["coding"] == [{"system": system, "code": code, "display": display}]


def test_unknown_codes_are_carried_for_the_validator_to_report(record):
    child = replace(record.children[0], relationship="MTH", residence="sofa")
    (person,) = _resources(build_bundle(replace(record, children=(child,))), "RelatedPerson")
    assert person["relationship"][0]["coding"] == [{"system": t.V3_ROLE_CODE_SYSTEM, "code": "MTH"}]
    (residence,) = _ext(person, t.EXT_CHILD_RESIDENCE)
    assert residence["valueCodeableConcept"]["coding"] == [
        {"system": t.CHILD_RESIDENCE_SYSTEM, "code": "sofa"}
    ]


def test_a_bare_string_is_one_code_not_a_sequence_of_letters(record):
    child = replace(record.children[0], help="early-help", pr_basis="birth-mother")
    (person, _) = _resources(
        build_bundle(replace(record, children=(child, record.children[1]))), "RelatedPerson"
    )
    assert [_code(e["valueCodeableConcept"])[1] for e in _ext(person, t.EXT_HELP_AND_PROTECTION)] == [
        "early-help"
    ]
    (pr,) = _ext(person, t.EXT_PARENTAL_RESPONSIBILITY)
    assert [_code(p["valueCodeableConcept"])[1] for p in _sub(pr, "basis")] == ["birth-mother"]


def test_no_children_gives_three_entries(record):
    bundle = build_bundle(replace(record, children=()))
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == [
        "Organization",
        "Patient",
        "EpisodeOfCare",
    ]


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        (datetime(2026, 2, 1, 9, 30, tzinfo=UTC), "2026-02-01T09:30:00Z"),
        (datetime(2026, 2, 1, 9, 30), "2026-02-01T09:30:00Z"),
        (datetime(2026, 7, 1, 9, 30, tzinfo=timezone(timedelta(hours=1))), "2026-07-01T09:30:00+01:00"),
    ],
)
def test_timestamp(record, timestamp, expected):
    assert build_bundle(replace(record, timestamp=timestamp))["timestamp"] == expected


def test_timestamp_without_one_in_the_record_is_when_the_bundle_was_assembled(record):
    """The guide: Bundle.timestamp is when the return was assembled, an instant with a time zone; not the
    reporting end date (a midnight that may still be in the future)."""
    before = datetime.now(UTC).replace(microsecond=0)
    stamped = datetime.fromisoformat(build_bundle(replace(record, timestamp=None))["timestamp"])
    assert stamped.tzinfo is not None and before <= stamped <= datetime.now(UTC)


def test_same_record_gives_byte_identical_json(record):
    record = replace(record, timestamp=datetime(2026, 2, 1, 9, 30, tzinfo=UTC))  # else: now, per call
    first = json.dumps(build_bundle(record), sort_keys=True)
    second = json.dumps(build_bundle(replace(record)), sort_keys=True)
    assert first == second


def test_full_urls_are_unique_uuid_urns_derived_from_the_submission(record):
    bundle = build_bundle(record)
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(urls)) == len(urls)
    assert all(u.startswith("urn:uuid:") and len(u) == len("urn:uuid:") + 36 for u in urls)
    assert urls[3:] == [entry_full_url(record.submission_id, "child", i) for i in range(2)]
    other = build_bundle(replace(record, submission_id="RX4-2026-01-0002"))
    assert not set(urls) & {e["fullUrl"] for e in other["entry"]}


def test_every_reference_resolves_to_a_full_url(record):
    bundle = build_bundle(record)
    urls = {e["fullUrl"] for e in bundle["entry"]}
    references = [value for _, key, value in _walk(bundle) if key == "reference"]
    # managingOrganization, episode patient + organisation, each child's patient
    assert len(references) == 3 + len(record.children)
    assert set(references) <= urls


@pytest.mark.parametrize("forbidden", ["name", "telecom", "address", "text", "photo", "contact"])
def test_no_identifying_or_free_text_elements(record, forbidden):
    bundle = build_bundle(record)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Organization" and forbidden == "name":
            continue  # the provider's own name is allowed (ReportingProvider name 0..1)
        assert forbidden not in {key for _, key, _ in _walk(resource)}, (resource["resourceType"], forbidden)


def test_bundle_parses_in_fhir_resources_r4b(record):
    parsed = Bundle.model_validate(build_bundle(record))
    assert parsed.type == "transaction"
    assert len(parsed.entry) == 5
    assert [e.resource.get_resource_type() for e in parsed.entry] == [
        "Organization",
        "Patient",
        "EpisodeOfCare",
        "RelatedPerson",
        "RelatedPerson",
    ]


# --- NHS numbers ---


@pytest.mark.parametrize("number", ["9434765919", "9990000018", "4010232137", "9999999999"])
def test_valid_nhs_numbers(number):
    assert is_valid_nhs_number(number)


@pytest.mark.parametrize(
    "number",
    [
        "9434765918",  # wrong check digit
        "9990000010",  # check value would be 10: never valid
        "943476591",  # nine digits
        "94347659190",  # eleven digits
        "943 476 5919",  # spaces
        "943476591X",
        "",
        "９４３４７６５９１９",  # full-width digits are digits to str.isdigit, not to the NHS
    ],
)
def test_invalid_nhs_numbers(number):
    assert not is_valid_nhs_number(number)


def test_non_string_is_not_an_nhs_number():
    assert not is_valid_nhs_number(9434765919)  # type: ignore[arg-type]


def test_modulus_11_agrees_with_the_nhs_number_package():
    """An independent implementation (PyPI ``nhs-number``) as the oracle, on bare ASCII numbers outside the
    Scottish CHI range, where its extra date rule applies (see the module docstring)."""
    import random

    import nhs_number

    rng = random.Random(15)
    numbers = [f"{rng.randrange(10**10):010d}" for _ in range(20_000)] + ["9434765919", "9990000010"]
    checked = [n for n in numbers if not nhs_number.REGION_SCOTLAND.contains_number(n)]
    assert len(checked) > 12_000  # the CHI range is about 31% of all ten-digit strings
    assert sum(is_valid_nhs_number(n) for n in checked) > 1_000
    assert [n for n in checked if is_valid_nhs_number(n) != nhs_number.is_valid(n)] == []


def test_check_digit_ten_is_none():
    assert check_digit("999000000") is None
    with pytest.raises(ValueError):
        check_digit("12345678")


def test_synthetic_numbers_are_valid_distinct_and_in_the_test_range():
    numbers = [synthetic_nhs_number(seed) for seed in range(2000)]
    assert len(set(numbers)) == len(numbers)
    assert all(is_valid_nhs_number(n) and n.startswith("999") for n in numbers)
    assert synthetic_nhs_number(7) == synthetic_nhs_number(7)
    with pytest.raises(ValueError):
        synthetic_nhs_number(-1)


# --- code tables agree with the guide's generated CodeSystems ---


@pytest.mark.parametrize(
    ("cs_id", "table"),
    [
        ("parental-status", t.PARENTAL_STATUS),
        ("yes-no-unknown", t.YES_NO_UNKNOWN),
        ("parental-responsibility-basis", t.PR_BASIS),
        ("child-residence", t.CHILD_RESIDENCE),
        ("help-and-protection", t.HELP_AND_PROTECTION),
    ],
)
def test_code_tables_match_generated_code_systems(cs_id, table):
    path = guide_resources_dir() / f"CodeSystem-{cs_id}.json"
    if not path.exists():
        pytest.skip(f"{path.name} not generated yet (SUSHI output)")
    code_system = json.loads(path.read_text(encoding="utf-8"))
    assert code_system["url"] == t.code_system_url(cs_id)
    assert {c["code"]: c["display"] for c in code_system["concept"]} == dict(table)


@pytest.mark.parametrize(
    ("vs_id", "expected"),
    [
        (
            "dependent-child-relationship",
            {(t.V3_ROLE_CODE_SYSTEM, c) for c in t.V3_RELATIONSHIP}
            | {(t.UKCORE_REL_SYSTEM, c) for c in t.UKCORE_RELATIONSHIP},
        ),
        ("child-help-and-protection", {(t.HELP_AND_PROTECTION_SYSTEM, c) for c in t.CHILD_HELP_CODES}),
        ("unborn-help-and-protection", {(t.HELP_AND_PROTECTION_SYSTEM, c) for c in t.UNBORN_HELP_CODES}),
    ],
)
def test_code_sets_match_generated_value_sets(vs_id, expected):
    path = guide_resources_dir() / f"ValueSet-{vs_id}.json"
    if not path.exists():
        pytest.skip(f"{path.name} not generated yet (SUSHI output)")
    value_set = json.loads(path.read_text(encoding="utf-8"))
    listed = {(inc["system"], c["code"]) for inc in value_set["compose"]["include"] for c in inc["concept"]}
    assert listed == expected


# --- what the builder emits conforms to the guide (the project's own validator) ---


@pytest.fixture(scope="module")
def validator():
    from fhir_family.conformance import default_validator
    from fhir_family.guide import core_package_dir

    if not (core_package_dir() / "StructureDefinition-Bundle.json").exists():
        pytest.skip("hl7.fhir.r4.core 4.0.1 not in the FHIR package cache")
    return default_validator()


def _problems(validator, bundle: dict[str, Any], severities=("error", "fatal")) -> list[tuple[str, str, str]]:
    outcome = validator.validate(bundle)
    return [
        (i["severity"], i["code"], (i.get("expression") or [""])[0])
        for i in outcome["issue"]
        if i["severity"] in severities
    ]


def _one_child(record: ReturnRecord, **changes: Any) -> ReturnRecord:
    child = replace(record.children[0], **changes)
    return replace(
        record, children=(child,), parental_status="all-children-live-with-patient", children_in_household=1
    )


CHILD_VARIANTS = (
    [("relationship", code) for code in [*t.V3_RELATIONSHIP, *t.UKCORE_RELATIONSHIP]]
    + [("residence", code) for code in t.CHILD_RESIDENCE]
    + [("help", (code,)) for code in sorted(t.CHILD_HELP_CODES)]
    + [("young_carer", code) for code in t.YES_NO_UNKNOWN]
    + [("pr_basis", (code,)) for code in t.PR_BASIS]
    + [("gender", code) for code in sorted(t.ADMINISTRATIVE_GENDER)]
)


@pytest.mark.parametrize(("field", "value"), CHILD_VARIANTS, ids=[f"{f}={v}" for f, v in CHILD_VARIANTS])
def test_every_child_code_builds_a_conformant_bundle(validator, record, field, value):
    changes: dict[str, Any] = {field: value}
    if field == "relationship":  # the base child's birth-mother basis fits only a birth child (ff-pr-3)
        changes["pr_basis"] = ()
    bundle = build_bundle(_one_child(record, **changes))
    assert _problems(validator, bundle) == []


@pytest.mark.parametrize("status", list(t.PARENTAL_STATUS))
def test_every_parental_status_builds_a_conformant_bundle(validator, record, status):
    # a not-a-parent, declined or not-asked return lists no children (ff-bun-8, ff-bun-9), and nobody asked a
    # not-asked patient: no date asked, asked by or source (ff-ps-2)
    children = () if status not in t.STATUS_WITH_CHILDREN else record.children
    changed = replace(record, parental_status=status, children=children)
    if status == t.NOT_ASKED:
        changed = replace(changed, date_asked=None, asked_by=None, status_source=None)
    assert _problems(validator, build_bundle(changed)) == []


@pytest.mark.parametrize("help_code", sorted(t.UNBORN_HELP_CODES))
def test_every_unborn_help_code_builds_a_conformant_bundle(validator, record, help_code):
    assert _problems(validator, build_bundle(replace(record, unborn_child_help=help_code))) == []


@pytest.mark.parametrize("status", sorted(t.EPISODE_OF_CARE_STATUS))
def test_every_episode_status_builds_a_conformant_bundle(validator, record, status):
    assert _problems(validator, build_bundle(replace(record, episode_status=status))) == []


def test_the_valid_base_record_has_no_issues_at_all(validator, record):
    assert _problems(validator, build_bundle(record), ("error", "fatal", "warning")) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"residence": "sofa"},
            ("error", "code-invalid", "Bundle.entry[3].resource.extension[1].value.ofType(CodeableConcept)"),
        ),
        ({"relationship": "MTH"}, ("error", "code-invalid", "Bundle.entry[3].resource.relationship[0]")),
        (
            {"help": ("unborn-child-protection-plan",)},
            ("error", "code-invalid", "Bundle.entry[3].resource.extension[3].value.ofType(CodeableConcept)"),
        ),
    ],
)
def test_a_bad_code_is_carried_to_the_validator_and_reported_there(validator, record, changes, expected):
    child = replace(record.children[0], **changes)
    bundle = build_bundle(replace(record, children=(child, record.children[1])))
    assert _problems(validator, bundle) == [expected]


@pytest.mark.parametrize("submission_id", ["RXX-123", "ü/é|x", "x" * 300, ""])
def test_entry_full_urls_are_rfc_4122_name_based_uuids(submission_id: str) -> None:
    """``entry_full_url`` hashes by hand for speed: it must stay exactly ``uuid.uuid5`` (a resend's fullUrls,
    and every committed example, depend on it)."""
    import uuid

    from fhir_family.mapping.ids import _NAMESPACE, entry_full_url

    for role in ("organization", "patient", "child"):
        for position in range(3):
            expected = uuid.uuid5(_NAMESPACE, f"{submission_id}|{role}|{position}")
            assert entry_full_url(submission_id, role, position) == f"urn:uuid:{expected}"
