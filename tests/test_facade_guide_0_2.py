"""Guide 0.2 over HTTP: every input format carries the new fields end to end, into the Bundle the facade
answers with (``/ehr/json``, ``/ehr/hl7v2``, ``/ehr/batch``) and the one ``/submit`` forwards.

These tests check that the fields arrive, element by element; the facade runs with ``VALIDATE`` off so they
do not depend on the guide's profiles. Conformance of the same inputs is test_facade.py's and
test_mapping_examples.py's job, with the real validator (which needs the guide 0.2 FSH).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request

from fhir_family import model as t
from fhir_family.facade.app import create_app

EHR = Path(__file__).resolve().parent.parent / "examples" / "ehr"
FHIR_JSON = "application/fhir+json"
HL7 = "x-application/hl7-v2+er7"
Resource = dict[str, Any]


@pytest.fixture(scope="module")
def client():
    return create_app({"TESTING": True, "VALIDATE": False}).test_client()


def _resources(bundle: Resource, kind: str) -> list[Resource]:
    return [entry["resource"] for entry in bundle["entry"] if entry["resource"]["resourceType"] == kind]


def _ext(element: Resource, url: str) -> Resource | None:
    return next((ext for ext in element.get("extension", []) if ext["url"] == url), None)


def _code(element: Resource | None) -> str | None:
    return element["valueCodeableConcept"]["coding"][0]["code"] if element else None


def _key(resource: Resource) -> str:
    return next(i["value"] for i in resource["identifier"] if i["system"] == t.PROVIDER_RECORD_SYSTEM)


def facts(bundle: Resource) -> dict[str, Any]:
    """The guide 0.2 facts of a Bundle, read back from the FHIR elements they belong in."""
    (patient,) = _resources(bundle, "Patient")
    (episode,) = _resources(bundle, "EpisodeOfCare")
    status = _ext(patient, t.EXT_PARENTAL_STATUS)
    parts: dict[str, list[Resource]] = {}
    for part in status["extension"]:
        parts.setdefault(part["url"], []).append(part)
    nhs = next(i for i in patient["identifier"] if i["system"] == t.NHS_NUMBER_SYSTEM)
    local_authority = _ext(patient, t.EXT_LOCAL_AUTHORITY)
    return {
        "legalBasis": _code(_ext(bundle["meta"], t.EXT_LEGAL_BASIS)),
        "reportingPeriod": _ext(bundle["meta"], t.EXT_REPORTING_PERIOD)["valuePeriod"],
        "patient": _key(patient),
        "verification": _code(_ext(nhs, t.NHS_NUMBER_VERIFICATION_EXT)),
        "localAuthority": local_authority["valueCoding"]["code"] if local_authority else None,
        "status": _code(parts["status"][0]),
        "dateAsked": parts["dateAsked"][0]["valueDate"] if "dateAsked" in parts else None,
        "askedBy": _code(parts.get("askedBy", [None])[0]),
        "source": _code(parts.get("source", [None])[0]),
        "supportOffered": [_code(part) for part in parts.get("supportOffered", [])],
        "serviceRequest": next(i["value"] for i in episode["identifier"]
                               if i["system"] == t.MHSDS_SERVICE_REQUEST_SYSTEM),
        "episode": _key(episode),
        "teamType": episode["type"][0]["coding"][0]["code"],
        "children": [_child(person) for person in _resources(bundle, "RelatedPerson")],
        "requests": [entry["request"]["method"] + " " + entry["request"]["url"] for entry in bundle["entry"]],
    }


def _child(person: Resource) -> dict[str, Any]:
    referral = _ext(person, t.EXT_THINK_FAMILY_REFERRAL)
    local_authority = _ext(person, t.EXT_LOCAL_AUTHORITY)
    responsibility = _ext(person, t.EXT_PARENTAL_RESPONSIBILITY)
    nhs = [i for i in person["identifier"] if i["system"] == t.NHS_NUMBER_SYSTEM]
    return {
        "key": _key(person),
        "verification": _code(_ext(nhs[0], t.EXT_CHILD_NHS_NUMBER_VERIFICATION)) if nhs else None,
        "restriction": [_code(p) for p in responsibility["extension"] if p["url"] == "restriction"],
        "thinkFamily": [_code(part) for part in referral["extension"]] if referral else [],
        "localAuthority": local_authority["valueCoding"]["code"] if local_authority else None,
        "ended": person.get("period", {}).get("end"),
    }


PROVIDER_KEY = f"identifier={t.PROVIDER_RECORD_SYSTEM}|"
MOTHER_TWO_CHILDREN = {
    "legalBasis": "national-direction",
    "reportingPeriod": {"start": "2026-10-01", "end": "2026-10-31"},
    "patient": "RX4/RX4P-000412",
    "verification": "01",
    "localAuthority": "E08000035",
    "status": "some-children-live-with-patient",
    "dateAsked": "2026-10-01",
    "askedBy": "care-coordinator",
    "source": "self-report",
    "supportOffered": ["parenting-support", "think-family-discussion"],
    "serviceRequest": "SR-2026-0412",
    "episode": "RX4/SR-2026-0412",
    "teamType": "A03",
    "children": [
        {"key": "RX4/RX4P-000412/C1", "verification": "01", "restriction": [],
         "thinkFamily": ["referred", "accepted-early-help"], "localAuthority": None, "ended": None},
        {"key": "RX4/RX4P-000412/C2", "verification": None, "restriction": [],
         "thinkFamily": ["already-known"], "localAuthority": "E08000036", "ended": None},
    ],
    "requests": [
        "POST Organization",
        f"PUT Patient?{PROVIDER_KEY}RX4/RX4P-000412",
        f"PUT EpisodeOfCare?{PROVIDER_KEY}RX4/SR-2026-0412",
        f"PUT RelatedPerson?{PROVIDER_KEY}RX4/RX4P-000412/C1",
        f"PUT RelatedPerson?{PROVIDER_KEY}RX4/RX4P-000412/C2",
    ],
}


def test_json_payload_v2_fields_arrive_in_the_bundle(client) -> None:
    body = (EHR / "json" / "mother-two-children.json").read_bytes()
    response = client.post("/ehr/json", data=body, content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert facts(response.get_json()) == MOTHER_TWO_CHILDREN


def test_a_not_asked_payload_arrives_without_date_asked(client) -> None:
    body = (EHR / "json" / "not-asked.json").read_bytes()
    response = client.post("/ehr/json", data=body, content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)
    got = facts(response.get_json())
    assert (got["status"], got["dateAsked"]) == ("not-asked", None)
    assert (got["askedBy"], got["source"]) == (None, None)
    assert (got["verification"], got["teamType"], got["children"]) == ("02", "A02", [])


def test_a_version_1_payload_is_a_422_naming_version_2(client) -> None:
    body = (EHR / "json" / "invalid-version-1.json").read_bytes()
    response = client.post("/ehr/json", data=body, content_type="application/json")
    assert response.status_code == 422
    (issue,) = response.get_json()["issue"]
    assert issue["location"] == ["/payloadVersion"] and 'payloadVersion "2"' in issue["diagnostics"]


def test_hl7v2_fields_arrive_in_the_bundle(client) -> None:
    body = (EHR / "hl7v2" / "a04-register-mother-two-children.hl7").read_bytes()
    response = client.post("/ehr/hl7v2", data=body, content_type=HL7)
    assert response.status_code == 200, response.get_data(as_text=True)
    got = facts(response.get_json())
    assert (got["patient"], got["verification"], got["localAuthority"]) == ("RX4/MRN4401", "01", "E08000035")
    assert (got["status"], got["dateAsked"], got["askedBy"], got["source"]) == (
        "all-children-live-with-patient", "2026-10-01", "care-coordinator", "self-report")
    assert got["supportOffered"] == ["parenting-support", "think-family-discussion"]
    assert (got["legalBasis"], got["teamType"]) == ("national-direction", "A03")
    assert got["serviceRequest"] == "SR-2026-0401"
    first, second = got["children"]
    assert (first["key"], first["verification"], first["thinkFamily"]) == (
        "RX4/MRN4401/C1", "01", ["referred", "accepted-early-help"])
    assert (second["key"], second["localAuthority"], second["thinkFamily"]) == (
        "RX4/MRN4401/C3", "E08000036", ["not-needed"])


def test_hl7v2_ended_child_and_not_asked_arrive(client) -> None:
    repeated = client.post("/ehr/hl7v2", data=(EHR / "hl7v2" / "edge-repeated-nk1.hl7").read_bytes(),
                           content_type=HL7)
    assert repeated.status_code == 200, repeated.get_data(as_text=True)
    assert [child["ended"] for child in facts(repeated.get_json())["children"]] == [None, None, "2026-10-20"]
    no_one_asked = client.post("/ehr/hl7v2", data=(EHR / "hl7v2" / "edge-no-nk1.hl7").read_bytes(),
                               content_type=HL7)
    got = facts(no_one_asked.get_json())
    assert (got["status"], got["dateAsked"], got["teamType"]) == ("not-asked", None, "A02")


def _batch(client, name: str, content_type: str) -> dict[str, Resource]:
    response = client.post("/ehr/batch", data=(EHR / name).read_bytes(), content_type=content_type)
    assert response.status_code == 200
    items = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    return {item["identifier"]["value"]: item for item in items if item["resourceType"] == "Bundle"}


def test_csv_batch_fields_arrive_in_each_bundle(client) -> None:
    bundles = _batch(client, "csv/returns.csv", "text/csv")
    assert sorted(bundles) == ["RX4-CSV-0001", "RX4-CSV-0002", "RX4-CSV-0004", "RX4-CSV-0005"]
    first = facts(bundles["RX4-CSV-0001"])
    assert first["children"][0]["thinkFamily"] == ["referred", "accepted-early-help"]
    assert first["supportOffered"] == ["parenting-support", "think-family-discussion"]
    kinship = facts(bundles["RX4-CSV-0004"])
    assert kinship["children"][1] == {"key": "RX4/RX4P-2004/K2", "verification": None, "restriction": [],
                                      "thinkFamily": [], "localAuthority": "E08000036", "ended": "2026-10-18"}
    assert (kinship["askedBy"], kinship["source"]) == ("social-worker", "other-agency")
    not_asked = facts(bundles["RX4-CSV-0005"])
    assert (not_asked["status"], not_asked["dateAsked"]) == ("not-asked", None)
    assert not_asked["verification"] == "07"


def test_ndjson_batch_fields_arrive_in_each_bundle(client) -> None:
    bundles = _batch(client, "ndjson/returns.ndjson", "application/x-ndjson")
    assert facts(bundles["RX4-ND-0002"])["status"] == "not-asked"
    kinship = facts(bundles["RX4-ND-0005"])
    assert kinship["children"][0]["thinkFamily"] == ["referred", "accepted-cin"]
    assert kinship["children"][0]["localAuthority"] == "E08000036"
    assert (kinship["patient"], kinship["episode"]) == ("RX4/RX4P-1005", "RX4/SR-1005")


# --- /submit: what is forwarded carries the fields ---------------------------------------------------------


@pytest.fixture
def collector(serve):
    """A stand-in collector that records what the facade forwards and answers as a collector does."""
    received: list[Resource] = []
    app = Flask("fake-collector")

    @app.post("/")
    def transaction():
        received.append(json.loads(request.get_data()))
        answer = {"resourceType": "Bundle", "type": "transaction-response", "entry": []}
        return app.response_class(json.dumps(answer), 200, mimetype=FHIR_JSON)

    with serve(app) as url:
        yield url, received


@pytest.fixture
def submit_client(collector, feed_tokens, monkeypatch):
    monkeypatch.setenv("FHIR_FAMILY_FEED_TOKENS", feed_tokens[0])
    url, _received = collector
    config = {"TESTING": True, "VALIDATE": False, "COLLECTOR_URL": url, "COLLECTOR_TOKEN": "t",
              "COLLECTOR_RETRIES": 1}
    client = create_app(config).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = feed_tokens[1]["Authorization"]
    return client


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("json/mother-two-children.json", "application/json"),
        ("hl7v2/a04-register-mother-two-children.hl7", HL7),
    ],
)
def test_submit_forwards_a_bundle_carrying_the_fields(submit_client, collector, name, content_type) -> None:
    response = submit_client.post("/submit", data=(EHR / name).read_bytes(), content_type=content_type)
    assert response.status_code == 200, response.get_data(as_text=True)
    (forwarded,) = collector[1]
    got = facts(forwarded)
    if content_type == "application/json":
        assert got == MOTHER_TWO_CHILDREN
    else:
        assert (got["patient"], got["serviceRequest"]) == ("RX4/MRN4401", "SR-2026-0401")
        assert got["legalBasis"] == "national-direction"
        assert got["children"][0]["thinkFamily"] == ["referred", "accepted-early-help"]
