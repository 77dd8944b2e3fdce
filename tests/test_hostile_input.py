"""Inputs that used to be 500s are 4xx OperationOutcomes, and the facade and the collector agree on them
(issue 11): integers over 4300 digits, ``_offset`` >= 2^63, extensions nested hundreds deep, ``%00`` in a URL
(PostgreSQL text cannot hold NUL). Collector cases run on SQLite and PostgreSQL (``db_url``)."""

from __future__ import annotations

import json

import pytest

from fhir_family.collector.tokens import issue_token
from fhir_family.facade.app import create_app as create_facade
from fhir_family.jsontext import MAX_DEPTH

HUGE = "9" * 5000


@pytest.fixture
def collector(db_url, make_collector):
    app = make_collector(db_url)
    token = issue_token(app.extensions["fhir_family_collector"].sessions, "provider", "XFF01")
    return app.test_client(), {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def facade(collector_validator):
    return create_facade({"VALIDATOR": collector_validator}).test_client()


@pytest.fixture
def bundle(examples_dir) -> dict:
    return json.loads((examples_dir / "bundles" / "young-carer-daughter.json").read_text())


def _nested_extension(depth: int) -> dict:
    extension: dict = {"url": "https://example.org/leaf", "valueString": "x"}
    for level in range(depth):
        extension = {"url": f"https://example.org/level-{level}", "extension": [extension]}
    return extension


def _outcome_4xx(response, status: int = 400) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome"
    return body


def test_an_integer_over_4300_digits_is_400_at_both(facade, collector, bundle):
    text = json.dumps(bundle).replace('"type": "transaction"', f'"total": {HUGE}, "type": "transaction"', 1)
    assert HUGE in text
    for path in ("/Bundle/$validate", "/$validate"):
        answer = _outcome_4xx(facade.post(path, data=text, content_type="application/fhir+json"))
        assert "4300 digits" in answer["issue"][0]["diagnostics"]
    payload = '{"submissionId": ' + HUGE + "}"
    _outcome_4xx(facade.post("/ehr/json", data=payload, content_type="application/json"))
    client, auth = collector
    answer = _outcome_4xx(client.post("/", data=text, content_type="application/fhir+json", headers=auth))
    assert "4300 digits" in answer["issue"][0]["diagnostics"]


@pytest.mark.parametrize("offset", [str(2**63), str(2**64), str(2**31)])
def test_an_offset_beyond_the_database_integer_is_400(collector, offset):
    client, auth = collector
    answer = _outcome_4xx(client.get(f"/Bundle?_offset={offset}", headers=auth))
    assert "_offset" in answer["issue"][0]["diagnostics"]


def test_the_largest_offset_accepted_still_answers(collector):
    client, auth = collector
    response = client.get(f"/Bundle?_offset={2**31 - 1}", headers=auth)
    assert response.status_code == 200 and response.get_json()["type"] == "searchset"


@pytest.mark.parametrize("depth", [250, 330])
def test_extensions_nested_hundreds_deep_are_400_at_both(facade, collector, bundle, depth):
    patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    patient["extension"] = [_nested_extension(depth)]
    text = json.dumps(bundle)
    fhir_json = "application/fhir+json"
    at_facade = _outcome_4xx(facade.post("/Bundle/$validate", data=text, content_type=fhir_json))
    client, auth = collector
    at_collector = _outcome_4xx(client.post("/", data=text, content_type=fhir_json, headers=auth))
    for answer in (at_facade, at_collector):
        assert f"nested deeper than {MAX_DEPTH}" in answer["issue"][0]["diagnostics"]


def test_nesting_within_the_limit_is_read_by_both(facade, collector, bundle):
    patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    patient["extension"] = [_nested_extension(10)]
    text = json.dumps(bundle)
    at_facade = facade.post("/Bundle/$validate", data=text, content_type="application/fhir+json")
    client, auth = collector
    at_collector = client.post("/", data=text, content_type="application/fhir+json", headers=auth)
    for response in (at_facade, at_collector):  # read and judged (valid, or refused by the validator)
        assert response.status_code in (200, 201, 422), response.get_data(as_text=True)[:500]
        assert "nested deeper" not in response.get_data(as_text=True)
    assert (at_facade.status_code == 200) == (at_collector.status_code in (200, 201))


@pytest.mark.parametrize("url", ["/Bundle/abc%00def", "/Patient/p%00", "/Bundle?identifier=a%00b",
                                 "/Bundle?_count=1%00"])
def test_a_nul_in_the_url_is_400_at_the_collector(collector, url):
    client, auth = collector
    answer = _outcome_4xx(client.get(url, headers=auth))
    assert "NUL" in answer["issue"][0]["diagnostics"]


def test_a_nul_in_the_url_is_4xx_at_the_facade(facade):
    for url in ("/StructureDefinition/abc%00def", "/ig/a%00b", "/ehr/json%00"):
        response = facade.get(url)
        assert 400 <= response.status_code < 500, (url, response.status_code)
        if url.startswith("/ig/"):  # the guide's pages answer a browser with their HTML 404 page (issue 14)
            assert response.mimetype == "text/html", url
        else:
            assert response.get_json()["resourceType"] == "OperationOutcome"
