"""The JSON payload contract: schema, field-by-field mapping to the Bundle, located errors, minimisation."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from fhir_family import model as t
from fhir_family.errors import InputError, MappingError
from fhir_family.mapping.bundle import build_bundle
from fhir_family.mapping.dates import calendar_month
from fhir_family.mapping.factory import PARSERS, format_for_media_type, get_parser, guess_format
from fhir_family.mapping.payload import payload_schema, payload_to_record
from fhir_family.model import age_on, is_dependent_child

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ehr" / "json" / "mother-two-children.json"


@pytest.fixture
def payload() -> dict:
    return json.loads(EXAMPLE.read_text())


def _locations(exc: MappingError) -> list[str]:
    return [issue.extra["location"][0] for issue in exc.issues]


def _resources(bundle: dict, resource_type: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type]


def _ext(resource: dict, url: str) -> list[dict]:
    return [e for e in resource.get("extension", []) if e["url"] == url]


def _code(extension: dict) -> str:
    return extension["valueCodeableConcept"]["coding"][0]["code"]


def _part(extension: dict, name: str) -> dict:
    return next(e for e in extension["extension"] if e["url"] == name)


def test_schema_is_valid_draft_2020_12_and_documents_every_field() -> None:
    schema = payload_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"

    def walk(node: dict, path: str) -> None:
        for name, sub in node.get("properties", {}).items():
            target = schema["$defs"][sub["$ref"].split("/")[-1]] if "$ref" in sub else sub
            assert sub.get("description") or target.get("description"), f"{path}/{name} has no description"
            walk(target, f"{path}/{name}")
        if "items" in node:
            walk(schema["$defs"][node["items"]["$ref"].split("/")[-1]] if "$ref" in node["items"] else
                 node["items"], f"{path}/*")

    walk(schema, "")


@pytest.mark.parametrize(
    ("pointer", "codes"),
    [
        ("/properties/parentalStatus/properties/status/enum", set(t.PARENTAL_STATUS)),
        ("/properties/parentalStatus/properties/unbornChildHelp/enum", set(t.UNBORN_HELP_CODES)),
        ("/$defs/child/properties/relationship/enum", set(t.V3_RELATIONSHIP) | set(t.UKCORE_RELATIONSHIP)),
        ("/$defs/child/properties/residence/enum", set(t.CHILD_RESIDENCE)),
        ("/$defs/child/properties/help/items/enum", set(t.CHILD_HELP_CODES)),
        ("/$defs/child/properties/parentalResponsibility/properties/basis/items/enum", set(t.PR_BASIS)),
        ("/$defs/yesNoUnknown/enum", set(t.YES_NO_UNKNOWN)),
        ("/$defs/gender/enum", set(t.ADMINISTRATIVE_GENDER)),
        ("/properties/episode/properties/status/enum", set(t.EPISODE_OF_CARE_STATUS)),
        ("/properties/episode/properties/teamType/enum", set(t.MHSDS_TEAM_TYPE)),
        ("/properties/legalBasis/enum", set(t.LEGAL_BASIS)),
        ("/properties/parentalStatus/properties/askedBy/enum", set(t.ASKED_BY_ROLE)),
        ("/properties/parentalStatus/properties/source/enum", set(t.STATUS_SOURCE)),
        ("/properties/parentalStatus/properties/supportOffered/items/enum", set(t.SUPPORT_OFFERED)),
        ("/$defs/child/properties/parentalResponsibility/properties/restriction/items/enum",
         set(t.PR_RESTRICTION)),
        ("/$defs/child/properties/thinkFamily/properties/action/enum", set(t.THINK_FAMILY_ACTION)),
        ("/$defs/child/properties/thinkFamily/properties/outcome/enum", set(t.THINK_FAMILY_OUTCOME)),
        ("/$defs/nhsNumberVerification/enum", set(t.NHS_NUMBER_VERIFICATION)),
    ],
)
def test_schema_codes_are_the_guides_codes(pointer: str, codes: set[str]) -> None:
    node = payload_schema()
    for part in pointer.strip("/").split("/"):
        node = node[part.replace("~1", "/")]
    assert set(node) == codes


def test_every_field_maps_to_its_fhir_element(payload: dict) -> None:
    bundle = build_bundle(payload_to_record(payload))
    assert bundle["identifier"] == {"system": t.SUBMISSION_SYSTEM, "value": "RX4-2026-10-0001"}
    period, legal_basis = bundle["meta"]["extension"]
    assert (period["url"], period["valuePeriod"]) == (t.EXT_REPORTING_PERIOD,
                                                      {"start": "2026-10-01", "end": "2026-10-31"})
    assert (legal_basis["url"], _code(legal_basis)) == (t.EXT_LEGAL_BASIS, "national-direction")
    (org,) = _resources(bundle, "Organization")
    assert org["identifier"] == [{"system": t.ODS_SYSTEM, "value": "RX4"}]
    assert org["name"] == "Example Mental Health NHS Foundation Trust"
    (patient,) = _resources(bundle, "Patient")
    nhs, local = patient["identifier"]
    assert (nhs["system"], nhs["value"]) == (t.NHS_NUMBER_SYSTEM, "9990000026")
    assert _code(nhs["extension"][0]) == "01"
    assert local == {"system": t.PROVIDER_RECORD_SYSTEM, "value": "RX4/RX4P-000412"}
    assert (patient["birthDate"], patient["gender"]) == ("1988-04-12", "female")
    (local_authority,) = _ext(patient, t.EXT_LOCAL_AUTHORITY)
    assert local_authority["valueCoding"] == {"system": t.GSS_SYSTEM, "code": "E08000035"}
    (status,) = _ext(patient, t.EXT_PARENTAL_STATUS)
    assert _code(_part(status, "status")) == "some-children-live-with-patient"
    assert _part(status, "childrenInHousehold")["valueUnsignedInt"] == 1
    assert _part(status, "expectingChild")["valueBoolean"] is False
    assert _part(status, "dateAsked")["valueDate"] == "2026-10-01"
    assert _code(_part(status, "askedBy")) == "care-coordinator"
    assert _code(_part(status, "source")) == "self-report"
    offered = [_code(part) for part in status["extension"] if part["url"] == "supportOffered"]
    assert offered == ["parenting-support", "think-family-discussion"]
    (episode,) = _resources(bundle, "EpisodeOfCare")
    assert episode["status"] == "active"
    assert episode["period"] == {"start": "2026-03-02"}
    assert episode["identifier"] == [{"system": t.PROVIDER_RECORD_SYSTEM, "value": "RX4/SR-2026-0412"},
                                     {"system": t.MHSDS_SERVICE_REQUEST_SYSTEM, "value": "SR-2026-0412"}]
    assert episode["type"][0]["coding"][0]["code"] == "A03"
    first, second = _resources(bundle, "RelatedPerson")
    assert first["relationship"][0]["coding"][0] == {"system": t.V3_ROLE_CODE_SYSTEM, "code": "CHILD",
                                                    "display": "child"}
    assert (first["birthDate"], first["gender"]) == ("2015-06-01", "female")
    child_nhs, child_local = first["identifier"]
    assert (child_nhs["value"], _code(child_nhs["extension"][0])) == ("9990000042", "01")
    assert child_local == {"system": t.PROVIDER_RECORD_SYSTEM, "value": "RX4/RX4P-000412/C1"}
    (pr,) = _ext(first, t.EXT_PARENTAL_RESPONSIBILITY)
    assert (_code(_part(pr, "held")), _code(_part(pr, "basis"))) == ("Y", "birth-mother")
    assert _code(_ext(first, t.EXT_CHILD_RESIDENCE)[0]) == "full-time"
    assert _code(_ext(first, t.EXT_YOUNG_CARER)[0]) == "Y"
    assert [_code(e) for e in _ext(first, t.EXT_HELP_AND_PROTECTION)] == ["early-help"]
    (referral,) = _ext(first, t.EXT_THINK_FAMILY_REFERRAL)
    assert (_code(_part(referral, "action")), _code(_part(referral, "outcome"))) == ("referred",
                                                                                  "accepted-early-help")
    assert _ext(first, t.EXT_LOCAL_AUTHORITY) == []  # the patient's local authority
    assert second["identifier"] == [{"system": t.PROVIDER_RECORD_SYSTEM, "value": "RX4/RX4P-000412/C2"}]
    assert _code(_ext(second, t.EXT_CHILD_RESIDENCE)[0]) == "other-parent"
    assert _ext(second, t.EXT_LOCAL_AUTHORITY)[0]["valueCoding"]["code"] == "E08000036"
    (referral,) = _ext(second, t.EXT_THINK_FAMILY_REFERRAL)
    assert [part["url"] for part in referral["extension"]] == ["action"]


def test_restriction_and_ended_child_reach_the_bundle(payload: dict) -> None:
    child = payload["children"][1]
    child["parentalResponsibility"]["restriction"] = ["care-order"]
    child["ended"] = "2026-10-14"
    bundle = build_bundle(payload_to_record(payload))
    second = _resources(bundle, "RelatedPerson")[1]
    (pr,) = _ext(second, t.EXT_PARENTAL_RESPONSIBILITY)
    assert [_code(part) for part in pr["extension"] if part["url"] == "restriction"] == ["care-order"]
    assert second["period"] == {"end": "2026-10-14"}


def test_expected_child_fields_and_finished_episode() -> None:
    path = EXAMPLE.with_name("expecting-first-child.json")
    record = payload_to_record(json.loads(path.read_text()))
    assert record.expecting_child is True
    assert record.expected_due_date == date(2027, 2, 11)
    assert record.unborn_child_help == "unborn-child-protection-plan"
    assert (record.episode_status, record.episode_end) == ("finished", date(2026, 10, 20))
    assert (record.service_request_id, record.team_type) == ("SR-2026-0513", "C02")
    assert record.children == ()


def test_not_asked_needs_no_date_asked_and_takes_none() -> None:
    record = payload_to_record(json.loads(EXAMPLE.with_name("not-asked.json").read_text()))
    assert (record.parental_status, record.date_asked, record.asked_by, record.status_source) == (
        "not-asked", None, None, None)
    assert record.nhs_number_verification == "02"


def test_a_version_1_payload_is_refused_with_one_issue_naming_version_2() -> None:
    old = json.loads(EXAMPLE.with_name("invalid-version-1.json").read_text())
    with pytest.raises(MappingError) as caught:
        payload_to_record(old)
    (issue,) = caught.value.issues
    assert issue.extra["location"] == ["/payloadVersion"]
    assert 'payloadVersion "2"' in issue.diagnostics and "ehr-payload-v2.schema.json" in issue.diagnostics
    assert caught.value.http_status == 422


@pytest.mark.parametrize("version", [1, True, "3"])
def test_any_other_version_is_a_schema_error_at_payload_version(payload: dict, version) -> None:
    payload["payloadVersion"] = version
    with pytest.raises(MappingError) as caught:
        payload_to_record(payload)
    assert _locations(caught.value) == ["/payloadVersion"]
    assert "payload v1" not in caught.value.issues[0].diagnostics


def test_a_payload_without_a_version_is_told_it_is_required(payload: dict) -> None:
    payload.pop("payloadVersion")
    with pytest.raises(MappingError) as caught:
        payload_to_record(payload)
    assert _locations(caught.value) == ["/payloadVersion"]


def test_names_addresses_and_phones_are_dropped(payload: dict) -> None:
    text = json.dumps(build_bundle(payload_to_record(payload)))
    for private in ("Alice", "Carys", "Example Street", "LS1", "0113", "496"):
        assert private not in text
    for element in ('"name"', '"address"', '"telecom"'):
        # the Organization's name is allowed; nothing else may carry one
        assert text.count(element) == (1 if element == '"name"' else 0)


@pytest.mark.parametrize(
    ("change", "location", "code"),
    [
        (lambda p: p.pop("submissionId"), "/submissionId", "required"),
        (lambda p: p["patient"].pop("birthDate"), "/patient/birthDate", "required"),
        (lambda p: p["patient"].update(gender="F"), "/patient/gender", "code-invalid"),
        (lambda p: p["patient"].update(birthDate="1988-02-30"), "/patient/birthDate", "value"),
        (lambda p: p["provider"].update(odsCode="rx4"), "/provider/odsCode", "value"),
        (lambda p: p["children"][1].update(relationship="MTH"), "/children/1/relationship", "code-invalid"),
        (lambda p: p["children"][0].update(help=[]), "/children/0/help", "value"),
        (lambda p: p["children"][0].update(hobby="x"), "/children/0/hobby", "structure"),
        (lambda p: p.update(extra=1), "/extra", "structure"),
        (lambda p: p["children"][0]["parentalResponsibility"].update(held="N"),
         "/children/0/parentalResponsibility/basis", "value"),
        (lambda p: p["parentalStatus"].update(expectedDueDate="2027-01-01"), "/parentalStatus", "value"),
        (lambda p: p["patient"].update(nhsNumber="9990000027"), "/patient/nhsNumber", "value"),
        (lambda p: p["children"][0].update(nhsNumber="9990000043"), "/children/0/nhsNumber", "value"),
        (lambda p: p["reportingPeriod"].update(end="2026-09-01"), "/reportingPeriod/end", "value"),
        (lambda p: p["episode"].update(end="2026-01-01"), "/episode/end", "value"),
        (lambda p: p["children"][0].update(birthDate="2008-10-31"), "/children/0/birthDate", "business-rule"),
        (lambda p: p["children"][0].update(birthDate="2026-11-01"), "/children/0/birthDate", "business-rule"),
        (lambda p: p.update(children="none"), "/children", "structure"),
        (lambda p: p.pop("legalBasis"), "/legalBasis", "required"),
        (lambda p: p.update(legalBasis="because"), "/legalBasis", "code-invalid"),
        (lambda p: p["patient"].pop("localId"), "/patient/localId", "required"),
        (lambda p: p["patient"].update(localId=" x"), "/patient/localId", "value"),
        (lambda p: p["patient"].update(localId="x" * 65), "/patient/localId", "value"),
        (lambda p: p["patient"].update(nhsNumberVerification="1"), "/patient/nhsNumberVerification",
         "code-invalid"),
        (lambda p: p["patient"].update(localAuthority="W06000015"), "/patient/localAuthority", "value"),
        (lambda p: p["episode"].pop("serviceRequestId"), "/episode/serviceRequestId", "required"),
        (lambda p: p["episode"].update(teamType="E01"), "/episode/teamType", "code-invalid"),
        (lambda p: p["episode"].update(id="EP-1"), "/episode/id", "structure"),
        (lambda p: p["parentalStatus"].pop("dateAsked"), "/parentalStatus/dateAsked", "required"),
        (lambda p: p["parentalStatus"].update(status="not-asked"), "/parentalStatus", "value"),
        (lambda p: p["parentalStatus"].update(dateRecorded="2026-10-01"), "/parentalStatus/dateRecorded",
         "structure"),
        (lambda p: p["parentalStatus"].update(askedBy="Dr Smith"), "/parentalStatus/askedBy", "code-invalid"),
        (lambda p: p["parentalStatus"].update(source="rumour"), "/parentalStatus/source", "code-invalid"),
        (lambda p: p["parentalStatus"].update(supportOffered=["none", "parenting-support"]),
         "/parentalStatus/supportOffered", "value"),
        (lambda p: p["children"][0].pop("localId"), "/children/0/localId", "required"),
        (lambda p: p["children"][1].update(localId="C1"), "/children/1/localId", "duplicate"),
        (lambda p: p["children"][1].update(nhsNumberVerification="01"), "/children/1/nhsNumber", "required"),
        (lambda p: p["children"][0]["parentalResponsibility"].update(restriction=["care-order-shared"]),
         "/children/0/parentalResponsibility/restriction/0", "code-invalid"),
        (lambda p: p["children"][0].update(help=["none", "early-help"]), "/children/0/help", "value"),
        (lambda p: p["children"][1].update(thinkFamily={"outcome": "awaited"}),
         "/children/1/thinkFamily/action", "required"),
        (lambda p: p["children"][1].update(thinkFamily={"action": "not-needed", "outcome": "awaited"}),
         "/children/1/thinkFamily", "value"),
        (lambda p: p["children"][1].update(localAuthority="E1"), "/children/1/localAuthority", "value"),
        (lambda p: p["children"][1].update(ended="2010-01-01"), "/children/1/ended", "value"),
    ],
)
def test_contract_breaches_are_located_by_json_pointer(payload: dict, change, location: str, code: str):
    broken = copy.deepcopy(payload)
    change(broken)
    with pytest.raises(MappingError) as caught:
        payload_to_record(broken)
    assert location in _locations(caught.value)
    codes = {str(issue.code) for issue in caught.value.issues if issue.extra["location"][0] == location}
    assert codes == {code}
    assert caught.value.http_status == 422


def test_all_schema_problems_are_reported_at_once(payload: dict) -> None:
    payload["patient"]["gender"] = "F"
    payload["provider"]["odsCode"] = "x"
    payload["children"][0]["residence"] = "away"
    with pytest.raises(MappingError) as caught:
        payload_to_record(payload)
    assert len(caught.value.issues) == 3


def test_too_many_children_says_the_limit(payload: dict) -> None:
    payload["children"] = [payload["children"][0]] * 51
    with pytest.raises(MappingError) as caught:
        payload_to_record(payload)
    texts = [issue.diagnostics for issue in caught.value.issues if issue.extra["location"][0] == "/children"]
    assert texts == ["Too many entries: at most 50 allowed here, found 51"]


def test_child_turning_18_the_day_after_the_reporting_date_is_accepted(payload: dict) -> None:
    payload["children"][0]["birthDate"] = "2008-11-01"
    assert payload_to_record(payload).children[0].birth_date == date(2008, 11, 1)


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        ("2008-10-31", "2026-10-31", 18),
        ("2008-11-01", "2026-10-31", 17),
        ("2008-02-29", "2026-02-28", 17),  # a leap-day child attains an age on 1 March in a common year
        ("2008-02-29", "2026-03-01", 18),
        ("2008-02-29", "2028-02-29", 20),
    ],
)
def test_age_on_follows_english_law(born: str, on: str, age: int) -> None:
    assert age_on(date.fromisoformat(born), date.fromisoformat(on)) == age
    assert is_dependent_child(date.fromisoformat(born), date.fromisoformat(on)) is (age < 18)


def test_calendar_month_handles_leap_february() -> None:
    assert calendar_month(date(2028, 2, 10)) == (date(2028, 2, 1), date(2028, 2, 29))


@pytest.mark.parametrize("text", ["{", "[1, 2", "", "not json"])
def test_unreadable_json_is_an_input_error_with_line_and_column(text: str) -> None:
    with pytest.raises(InputError) as caught:
        get_parser("json").parse(text)
    assert caught.value.issues[0].extra["location"][0].startswith("line 1, column")


def test_factory_knows_every_format_and_rejects_unknown_ones() -> None:
    assert set(PARSERS) == {"json", "hl7v2", "csv", "ndjson"}
    with pytest.raises(ValueError, match="unknown input format 'xml'.*json, hl7v2, csv, ndjson"):
        get_parser("xml")
    assert guess_format("a/b.HL7") == "hl7v2"
    assert guess_format("x.jsonl") == "ndjson"
    with pytest.raises(ValueError, match="use --from"):
        guess_format("x.xlsx")
    assert format_for_media_type("text/csv; charset=utf-8") == "csv"
    assert format_for_media_type("application/xml") is None


def test_every_payload_field_is_in_the_documented_table(repo_root: Path) -> None:
    table = (repo_root / "docs" / "payload.md").read_text()
    schema = payload_schema()

    def fields(node: dict, prefix: str):
        for name, sub in node.get("properties", {}).items():
            path = f"{prefix}{name}"
            target = schema["$defs"][sub["$ref"].split("/")[-1]] if "$ref" in sub else sub
            if "properties" not in target:  # a leaf (or a list): one row of the table
                yield path
            yield from fields(target, f"{path}.")
            if "items" in target and "$ref" in target["items"]:
                yield from fields(schema["$defs"][target["items"]["$ref"].split("/")[-1]], f"{path}[].")

    for field in fields(schema, ""):
        assert f"`{field}`" in table, field
