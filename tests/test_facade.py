"""The facade over HTTP (Flask test client): each input format end to end, FHIR endpoints, errors, ids.

Bundles are checked with the real validator: the facade must never answer 200 with a non-conformant Bundle.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flask import Flask
from jsonschema import Draft202012Validator

from fhir_family.conformance import default_validator
from fhir_family.facade.app import BLUEPRINTS, create_app
from fhir_family.mapping.pipeline import LINE_EXTENSION
from fhir_family.outcome import Issue, IssueSeverity, IssueType, has_errors, message_id

EHR = Path(__file__).resolve().parent.parent / "examples" / "ehr"
BUNDLES = Path(__file__).resolve().parent.parent / "examples" / "bundles"
FHIR_JSON = "application/fhir+json"
HL7 = "x-application/hl7-v2+er7"


@pytest.fixture(scope="module")
def app() -> Flask:
    return create_app({"TESTING": True, "MAX_CONTENT_LENGTH": 64 * 1024})


@pytest.fixture
def client(app: Flask):
    return app.test_client()


def payload(name: str = "mother-two-children") -> dict:
    return json.loads((EHR / "json" / f"{name}.json").read_text())


def hl7(name: str) -> bytes:
    return (EHR / "hl7v2" / f"{name}.hl7").read_bytes()


def assert_outcome(response, status: int, issue_code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == FHIR_JSON
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"]
    if issue_code:
        assert issue_code in [issue["code"] for issue in body["issue"]]
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def assert_conformant_bundle(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == FHIR_JSON
    bundle = response.get_json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "transaction"
    assert not has_errors(default_validator().validate(bundle))
    return bundle


# --- /ehr/json ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["application/json", FHIR_JSON, "application/json; charset=utf-8"])
def test_json_payload_end_to_end(client, content_type: str) -> None:
    response = client.post("/ehr/json", data=json.dumps(payload()), content_type=content_type)
    bundle = assert_conformant_bundle(response)
    assert bundle["identifier"]["value"] == "RX4-2026-10-0001"
    assert len(bundle["entry"]) == 5
    text = response.get_data(as_text=True)
    assert "Alice" not in text and "Example Street" not in text and "0113" not in text


def test_json_payload_is_identical_on_resend_but_for_when_it_was_assembled(client) -> None:
    # Bundle.timestamp is when the facade assembled the return (the guide's meaning), so it alone may differ.
    first = client.post("/ehr/json", json=payload()).get_json()
    second = client.post("/ehr/json", json=payload()).get_json()
    assert {**second, "timestamp": None} == {**first, "timestamp": None}
    assert first["timestamp"] <= second["timestamp"]


def test_prefer_operation_outcome_returns_the_issues_instead(client) -> None:
    response = client.post("/ehr/json", json=payload(), headers={"Prefer": "return=OperationOutcome"})
    assert_outcome(response, 200)


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ("{not json", "application/json", 400, "structure"),
        (b"\xff\xfe\x00", "application/json", 400, "invalid"),
        (json.dumps({"submissionId": "x"}), "application/json", 422, "required"),
        (json.dumps([1, 2]), "application/json", 422, "structure"),
        (json.dumps(payload()), "text/csv", 415, "not-supported"),
        (json.dumps(payload()), "", 415, "not-supported"),
    ],
)
def test_json_payload_errors(client, body, content_type: str, status: int, code: str) -> None:
    assert_outcome(client.post("/ehr/json", data=body, content_type=content_type), status, code)


def test_unmappable_json_payload_locates_every_problem(client) -> None:
    body = assert_outcome(client.post("/ehr/json", json=payload("invalid-contract")), 422)
    locations = {issue["location"][0] for issue in body["issue"]}
    assert {"/provider/odsCode", "/patient/gender", "/children/0/relationship"} <= locations


def test_bundle_failing_validation_is_422_not_200() -> None:
    class Refuses:
        def issues(self, resource, profile=None):
            return [
                Issue(
                    severity=IssueSeverity.ERROR,
                    code=IssueType.INVARIANT,
                    diagnostics="no",
                    expression="Bundle",
                )
            ]

    response = create_app({"VALIDATOR": Refuses()}).test_client().post("/ehr/json", json=payload())
    body = assert_outcome(response, 422, "invariant")
    assert body["issue"][0]["expression"] == ["Bundle"]


def test_over_the_size_limit_is_413(client) -> None:
    big = payload()
    big["patient"]["name"] = "x" * 70_000
    body = assert_outcome(client.post("/ehr/json", json=big), 413, "too-long")
    assert "65536" in body["issue"][0]["diagnostics"]


@pytest.mark.parametrize(
    ("accept", "status", "media_type"),
    [
        (None, 200, FHIR_JSON),
        ("application/fhir+json", 200, FHIR_JSON),
        ("application/json", 200, "application/json"),
        ("*/*", 200, FHIR_JSON),
        ("application/fhir+xml", 406, FHIR_JSON),
    ],
)
def test_content_negotiation(client, accept, status: int, media_type: str) -> None:
    headers = {"Accept": accept} if accept else {}
    response = client.post("/ehr/json", json=payload(), headers=headers)
    assert (response.status_code, response.mimetype) == (status, media_type)


def test_format_parameter_overrides_accept(client) -> None:
    response = client.post("/ehr/json?_format=json", json=payload(), headers={"Accept": "text/html"})
    assert (response.status_code, response.mimetype) == (200, FHIR_JSON)
    assert client.post("/ehr/json?_format=xml", json=payload()).status_code == 406


# --- /ehr/hl7v2 --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "a04-register-mother-two-children",
        "a08-update-father-without-pr",
        "a28-add-person-kinship-grandmother",
        "a31-update-person-mllp-foster-child",
        "edge-no-nk1",
        "edge-repeated-nk1",
    ],
)
@pytest.mark.parametrize("content_type", [HL7, "text/plain"])
def test_hl7v2_end_to_end(client, name: str, content_type: str) -> None:
    expected = json.loads((EHR / "hl7v2" / f"{name}.expected.json").read_text())["items"][0]
    bundle = assert_conformant_bundle(client.post("/ehr/hl7v2", data=hl7(name), content_type=content_type))
    children = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "RelatedPerson"]
    assert [c["birthDate"] for c in children] == [c["birthDate"] for c in expected["children"]]
    assert "Example" not in json.dumps(bundle)


def test_hl7v2_warnings_are_counted_in_a_header_and_shown_on_request(client) -> None:
    response = client.post("/ehr/hl7v2", data=hl7("edge-missing-dob"), content_type=HL7)
    assert response.status_code == 200 and int(response.headers["X-Mapping-Warnings"]) >= 1
    body = assert_outcome(
        client.post(
            "/ehr/hl7v2",
            data=hl7("edge-missing-dob"),
            content_type=HL7,
            headers={"Prefer": "return=OperationOutcome"},
        ),
        200,
    )
    assert "NK1[1]-16" in [issue.get("location", [None])[0] for issue in body["issue"]]


def test_hl7v2_in_iso_8859_1_is_read(client) -> None:
    message = hl7("edge-no-nk1").replace(b"Example^Alice", "Ésmé^Zoë".encode("latin-1"))
    assert_conformant_bundle(client.post("/ehr/hl7v2", data=message, content_type=HL7))


@pytest.mark.parametrize(
    ("body", "content_type", "status", "location"),
    [
        (b"hello", HL7, 400, "MSH"),
        (hl7("invalid-no-zps"), HL7, 422, "ZPS"),
        (hl7("invalid-bad-nhs-number"), HL7, 422, "PID-3[1]"),
        (hl7("invalid-unsupported-event"), HL7, 422, "MSH-9"),
        (hl7("edge-no-nk1"), "application/json", 415, None),
    ],
)
def test_hl7v2_errors_name_segment_and_field(client, body: bytes, content_type, status, location) -> None:
    outcome = assert_outcome(client.post("/ehr/hl7v2", data=body, content_type=content_type), status)
    if location:
        assert location in [issue.get("location", [None])[0] for issue in outcome["issue"]]


# --- /ehr/batch --------------------------------------------------------------------------------------------


def _ndjson_lines(response) -> list[dict]:
    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    return [json.loads(line) for line in response.get_data(as_text=True).splitlines()]


@pytest.mark.parametrize(
    ("path", "content_type"),
    [(EHR / "csv" / "returns.csv", "text/csv"), (EHR / "ndjson" / "returns.ndjson", "application/x-ndjson")],
)
def test_batch_end_to_end(client, path: Path, content_type: str) -> None:
    expected = json.loads(path.with_name(path.stem + ".expected.json").read_text())["items"]
    lines = _ndjson_lines(client.post("/ehr/batch", data=path.read_bytes(), content_type=content_type))
    *items, summary = lines
    assert len(items) == len(expected)
    for item, want in zip(items, expected, strict=True):
        if want["status"] == 200:
            assert item["resourceType"] == "Bundle"
            assert item["identifier"]["value"] == want["submissionId"]
            assert not has_errors(default_validator().validate(item))
        else:
            assert item["resourceType"] == "OperationOutcome"
            lines_seen = {
                ext["valueInteger"]
                for issue in item["issue"]
                for ext in issue.get("extension", [])
                if ext["url"] == LINE_EXTENSION
            }
            # Each issue's own line: the row its location names (CSV), else the item's first line.
            named = {re.match(r"line (\d+)", issue["location"]) for issue in want["issues"]}
            assert lines_seen == {int(found[1]) if found else want["line"] for found in named}
    failed = sum(1 for want in expected if want["status"] != 200)
    assert message_id(summary["issue"][0]) == "FF-BATCH-SUMMARY"
    assert f"{len(expected) - failed} bundles, {failed} items failed" in summary["issue"][0]["diagnostics"]


def test_batch_with_bad_encoding_reports_where_it_stopped(client) -> None:
    body = json.dumps(payload()).encode() + b"\n\xff\xff\n"
    *_items, stopped, summary = _ndjson_lines(
        client.post("/ehr/batch", data=body, content_type="application/x-ndjson")
    )
    assert message_id(stopped["issue"][0]) == "FF-MAP-ENCODING"
    assert "1 items failed" in summary["issue"][0]["diagnostics"]


def test_batch_has_its_own_size_limit() -> None:
    app = create_app({"MAX_CONTENT_LENGTH": 10, "BATCH_MAX_CONTENT_LENGTH": 1_000_000})
    response = app.test_client().post(
        "/ehr/batch", data=json.dumps(payload()), content_type="application/x-ndjson"
    )
    assert _ndjson_lines(response)[0]["resourceType"] == "Bundle"
    small = create_app({"BATCH_MAX_CONTENT_LENGTH": 10})
    response = small.test_client().post("/ehr/batch", data=json.dumps(payload()), content_type="text/csv")
    assert_outcome(response, 413, "too-long")


def test_batch_wrong_media_type_is_415(client) -> None:
    assert_outcome(client.post("/ehr/batch", data="x", content_type="application/json"), 415)


# --- $validate ---------------------------------------------------------------------------------------------


def example_bundle() -> dict:
    return json.loads(next(iter(sorted(BUNDLES.glob("*.json")))).read_text())


@pytest.mark.parametrize("path", ["/$validate", "/Bundle/$validate"])
def test_validate_a_conformant_bundle(client, path: str) -> None:
    assert_outcome(client.post(path, json=example_bundle(), content_type=FHIR_JSON), 200)


def test_validate_accepts_parameters_with_a_resource_part(client) -> None:
    parameters = {
        "resourceType": "Parameters",
        "parameter": [{"name": "resource", "resource": example_bundle()}],
    }
    assert_outcome(client.post("/$validate", json=parameters), 200)


def test_validate_a_non_conformant_bundle_is_422_with_fhirpath(client) -> None:
    bundle = example_bundle()
    bundle["entry"][1]["resource"]["birthDate"] = "not a date"
    body = assert_outcome(client.post("/Bundle/$validate", json=bundle), 422)
    assert "Bundle.entry[1].resource.birthDate" in [e for i in body["issue"] for e in i.get("expression", [])]


def test_validate_places_each_issue_at_its_line_and_column(client) -> None:
    bundle = example_bundle()
    bundle["entry"][1]["resource"]["birthDate"] = "not a date"
    text = json.dumps(bundle, indent=2)
    body = assert_outcome(client.post("/Bundle/$validate", data=text, content_type=FHIR_JSON), 422)
    [issue] = [i for i in body["issue"] if i["severity"] == "error"]
    position = {e["url"].rsplit("-", 1)[1]: e["valueInteger"] for e in issue["extension"]}
    row = text.splitlines()[position["line"] - 1]
    assert row[position["col"] - 1 :].startswith('"birthDate": "not a date"')


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/$validate", "{", 400),
        ("/$validate", "[]", 400),
        ("/$validate", json.dumps({"resourceType": "Parameters", "parameter": []}), 400),
        ("/Bundle/$validate", json.dumps({"resourceType": "Patient"}), 400),
        ("/$validate", '{"resourceType": "Patient", "extension": ' + "[" * 20_000 + "]" * 20_000 + "}", 400),
        ("/Bundle/$validate", "[" * 20_000, 400),
    ],
    ids=["truncated", "array", "empty-parameters", "wrong-type", "nested-too-deep", "unclosed-deep"],
)
def test_validate_bad_requests(client, path: str, body: str, status: int) -> None:
    assert_outcome(client.post(path, data=body, content_type=FHIR_JSON), status)


# --- metadata, conformance resources, OpenAPI ------------------------------------------------------------


def test_capability_statement(client) -> None:
    response = client.get("/metadata")
    statement = response.get_json()
    assert response.status_code == 200 and statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.0.1"
    assert {op["name"] for op in statement["rest"][0]["operation"]} == {"validate"}
    assert not has_errors(default_validator().validate(statement))


@pytest.mark.parametrize(
    ("path", "url"),
    [
        (
            "/StructureDefinition/parent-patient",
            "https://fhir-family.uk/fhir/StructureDefinition/parent-patient",
        ),
        ("/ValueSet/child-residence", "https://fhir-family.uk/fhir/ValueSet/child-residence"),
        (
            "/ConceptMap/v2-0063-to-dependent-child-relationship",
            "https://fhir-family.uk/fhir/ConceptMap/v2-0063-to-dependent-child-relationship",
        ),
        ("/StructureDefinition/Patient", "http://hl7.org/fhir/StructureDefinition/Patient"),
    ],
)
def test_read_conformance_resource(client, path: str, url: str) -> None:
    response = client.get(path)
    assert response.status_code == 200 and response.get_json()["url"] == url


@pytest.mark.parametrize(
    ("query", "total"),
    [
        ("url=https://fhir-family.uk/fhir/StructureDefinition/dependent-child", 1),
        ("url=https://fhir-family.uk/fhir/StructureDefinition/dependent-child|0.2.0", 1),
        ("url=https://fhir-family.uk/fhir/StructureDefinition/dependent-child&version=9", 0),
        ("url=http://hl7.org/fhir/StructureDefinition/RelatedPerson", 1),
        ("url=https://example.org/nothing", 0),
    ],
)
def test_search_by_canonical(client, query: str, total: int) -> None:
    bundle = client.get(f"/StructureDefinition?{query}").get_json()
    assert bundle["type"] == "searchset" and bundle["total"] == total == len(bundle.get("entry", []))


def test_conformance_resources_come_from_the_apps_guide_dir(tmp_path) -> None:
    """GUIDE_DIR is what the FHIR API serves (through the validator's DefinitionStore), R4 core behind it."""
    value_set = {
        "resourceType": "ValueSet",
        "id": "only-here",
        "url": "https://example.org/ValueSet/only-here",
    }
    (tmp_path / "ValueSet-only-here.json").write_text(json.dumps(value_set))
    local = create_app({"GUIDE_DIR": str(tmp_path), "VALIDATE": False}).test_client()
    assert local.get("/ValueSet/only-here").get_json() == value_set
    assert local.get("/ValueSet").get_json()["total"] == 1
    assert local.get(f"/ValueSet?url={value_set['url']}").get_json()["total"] == 1
    assert local.get("/ValueSet/administrative-gender").status_code == 200
    assert_outcome(local.get("/StructureDefinition/dependent-child"), 404, "not-found")


@pytest.mark.parametrize("path", ["/StructureDefinition/nope", "/Patient/1", "/nowhere"])
def test_unknown_resources_are_404_outcomes(client, path: str) -> None:
    assert_outcome(client.get(path), 404, "not-found")


def test_wrong_method_is_405_with_allow(client) -> None:
    response = client.delete("/ehr/json")
    assert_outcome(response, 405)
    assert "POST" in response.headers["Allow"]


def test_openapi_document_is_openapi_3_1_and_its_payload_schema_is_the_contract(client) -> None:
    document = client.get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    for path in ("/ehr/json", "/ehr/hl7v2", "/ehr/batch", "/$validate", "/Bundle/$validate", "/metadata"):
        assert path in document["paths"]
    # the payload schema resolves from the document root and accepts the examples it should
    root = {**document, "$ref": "#/components/schemas/EhrPayloadV2"}
    validator = Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert validator.is_valid(payload()) and validator.is_valid(payload("expecting-first-child"))
    assert not validator.is_valid(payload("invalid-contract"))


# --- request ids, errors, wiring ---------------------------------------------------------------------------


def test_request_id_is_echoed_or_generated(client) -> None:
    assert client.get("/metadata", headers={"X-Request-ID": "trace-42"}).headers["X-Request-ID"] == "trace-42"
    generated = client.get("/metadata", headers={"X-Request-ID": "bad id <script>"}).headers["X-Request-ID"]
    assert generated != "bad id <script>" and len(generated) == 32


def test_unexpected_errors_are_a_generic_500_outcome_with_the_request_id(caplog) -> None:
    class Broken:
        def issues(self, resource, profile=None):
            raise RuntimeError("secret internal detail")

    client = create_app({"VALIDATOR": Broken()}).test_client()
    response = client.post("/ehr/json", json=payload(), headers={"X-Request-ID": "req-500"})
    body = assert_outcome(response, 500, "exception")
    text = response.get_data(as_text=True)
    assert "secret internal detail" not in text and "RuntimeError" not in text
    assert "req-500" in body["issue"][0]["diagnostics"]
    assert any("req-500" in record.getMessage() for record in caplog.records)


def test_blueprints_are_listed_in_one_place() -> None:
    app = create_app()
    assert {"ehr", "fhir", "openapi"} <= set(app.blueprints)
    assert len(app.blueprints) == len(BLUEPRINTS)


def test_a_bug_in_the_middle_of_a_batch_is_reported_in_band() -> None:
    class BreaksOnSecond:
        calls = 0

        def issues(self, resource, profile=None):
            BreaksOnSecond.calls += 1
            if BreaksOnSecond.calls == 2:
                raise RuntimeError("secret internal detail")
            return []

    body = (EHR / "ndjson" / "returns.ndjson").read_bytes()
    client = create_app({"VALIDATOR": BreaksOnSecond()}).test_client()
    response = client.post(
        "/ehr/batch", data=body, content_type="application/x-ndjson", headers={"X-Request-ID": "b-1"}
    )
    first, stopped, summary = _ndjson_lines(response)
    assert first["resourceType"] == "Bundle"
    assert message_id(stopped["issue"][0]) == "FF-HTTP-500" and "b-1" in stopped["issue"][0]["diagnostics"]
    assert "secret" not in response.get_data(as_text=True)
    assert message_id(summary["issue"][0]) == "FF-BATCH-SUMMARY"


def test_validate_against_a_named_profile(client) -> None:
    patient = {"resourceType": "Patient", "gender": "female"}
    profile = "https://fhir-family.uk/fhir/StructureDefinition/parent-patient"
    body = assert_outcome(client.post(f"/$validate?profile={profile}", json=patient), 422, "required")
    parameters = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "resource", "resource": patient},
            {"name": "profile", "valueCanonical": profile},
        ],
    }
    # Same issues; only the bare resource (the whole body) can be given line/column positions.
    without_positions = [{k: v for k, v in issue.items() if k != "extension"} for issue in body["issue"]]
    assert assert_outcome(client.post("/$validate", json=parameters), 422)["issue"] == without_positions


def test_bundle_validate_judges_a_bundle_without_profile_as_a_national_return(client) -> None:
    bundle = example_bundle()
    del bundle["meta"]
    del bundle["identifier"]  # optional in R4 core, required by NationalReturnBundle
    assert_outcome(client.post("/Bundle/$validate", json=bundle), 422)
    assert_outcome(client.post("/$validate", json=bundle), 200)


def test_every_request_is_logged_with_its_request_id(client, caplog) -> None:
    caplog.set_level("INFO", logger="fhir_family.facade")
    client.post("/ehr/json", json=payload(), headers={"X-Request-ID": "log-me-1"})
    lines = [record for record in caplog.records if "log-me-1" in record.getMessage()]
    assert lines and "POST /ehr/json -> 200" in lines[0].getMessage()
    assert lines[0].request_id == "log-me-1"  # the filter stamps it for log formats too


def test_the_root_is_a_page_for_browsers_and_json_for_programs(client) -> None:
    browser = client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert browser.status_code == 200 and browser.mimetype == "text/html"
    page = browser.get_data(as_text=True)
    for href in ('href="ig/"', 'href="openapi.json"', 'href="metadata"', "POST ehr/json"):
        assert href in page
    program = client.get("/", headers={"Accept": "*/*"})
    assert program.mimetype == "application/json"
    assert program.get_json()["guide"]["href"] == "ig/" and program.headers["Vary"] == "Accept"
    # The GET links answer (the guide's pages are built on first use: tests/test_pages covers /ig/).
    for link in ("openapi.json", "metadata"):
        assert client.get(f"/{link}").status_code == 200
