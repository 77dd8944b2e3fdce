"""``POST /submit`` on the facade: map and validate, then forward to a real collector over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from fhir_family.collector.schema import Submission
from fhir_family.collector.tokens import issue_token
from fhir_family.facade.app import create_app as create_facade


@pytest.fixture
def collector_url(tmp_path, make_collector, serve) -> Iterator[tuple[str, object, dict[str, str]]]:
    app = make_collector(f"sqlite:///{tmp_path / 'c.sqlite'}")
    collector = app.extensions["fhir_family_collector"]
    tokens = {ods: issue_token(collector.sessions, "provider", ods) for ods in ("XFF01", "RX4")}
    with serve(app) as url:
        yield url, collector, tokens


def stored(collector) -> int:
    with collector.sessions() as session:
        return session.scalar(select(func.count()).select_from(Submission))


def facade(url: str, token: str, validator):
    config = {"COLLECTOR_URL": url, "COLLECTOR_TOKEN": token, "VALIDATOR": validator, "COLLECTOR_RETRIES": 1}
    return create_facade(config).test_client()


def test_a_bundle_is_validated_and_forwarded(collector_url, collector_validator, examples_dir):
    url, collector, tokens = collector_url
    client = facade(url, tokens["XFF01"], collector_validator)
    bundle = (examples_dir / "bundles" / "young-carer-daughter.json").read_text()
    response = client.post("/submit", data=bundle, content_type="application/fhir+json")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["type"] == "transaction-response"
    assert response.headers["X-Collector-Status"] == "200"
    assert stored(collector) == 1
    again = client.post("/submit", data=bundle, content_type="application/fhir+json")
    assert again.status_code == 200 and stored(collector) == 1


def test_an_ehr_payload_is_mapped_then_forwarded(collector_url, collector_validator, examples_dir):
    url, collector, tokens = collector_url
    client = facade(url, tokens["RX4"], collector_validator)
    payload = (examples_dir / "ehr" / "json" / "mother-two-children.json").read_text()
    response = client.post("/submit", data=payload, content_type="application/json")
    assert response.status_code == 200, response.get_json()
    assert response.headers["X-Submission-Id"] == json.loads(payload)["submissionId"]
    assert stored(collector) == 1


def test_an_invalid_return_is_not_forwarded(collector_url, collector_validator, examples_dir):
    url, collector, tokens = collector_url
    client = facade(url, tokens["XFF01"], collector_validator)
    bad = (examples_dir / "invalid" / "bundle-type-batch.json").read_text()
    response = client.post("/submit", data=bad, content_type="application/fhir+json")
    assert response.status_code == 422
    assert response.get_json()["resourceType"] == "OperationOutcome"
    assert stored(collector) == 0


def test_the_collectors_refusal_is_relayed(collector_url, collector_validator, examples_dir):
    url, collector, tokens = collector_url
    client = facade(url, tokens["RX4"], collector_validator)  # token for RX4, bundle from XFF01
    bundle = (examples_dir / "bundles" / "young-carer-daughter.json").read_text()
    response = client.post("/submit", data=bundle, content_type="application/fhir+json")
    assert response.status_code == 502
    codes = [
        issue.get("details", {}).get("coding", [{}])[0].get("code") for issue in response.get_json()["issue"]
    ]
    assert codes[0] == "FF-FORWARD-REFUSED" and "FF-COLLECTOR-FORBIDDEN" in codes
    assert stored(collector) == 0


def test_no_collector_configured_is_503(collector_validator, examples_dir):
    client = create_facade({"VALIDATOR": collector_validator}).test_client()
    bundle = (examples_dir / "bundles" / "young-carer-daughter.json").read_text()
    response = client.post("/submit", data=bundle, content_type="application/fhir+json")
    assert response.status_code == 503
    assert response.get_json()["resourceType"] == "OperationOutcome"


def test_an_unreachable_collector_is_502(collector_validator, examples_dir):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = facade(f"http://127.0.0.1:{port}", "t", collector_validator)
    bundle = (examples_dir / "bundles" / "young-carer-daughter.json").read_text()
    response = client.post("/submit", data=bundle, content_type="application/fhir+json")
    assert response.status_code == 502
    assert response.get_json()["issue"][0]["details"]["coding"][0]["code"] == "FF-FORWARD-UNREACHABLE"
