"""Security headers on every response of both servers (issue 11): nosniff, no-store for data, a CSP (a page
policy on HTML, ``default-src 'none'`` on data) with frame-ancestors 'none' — on answers, errors and the
automatic OPTIONS alike; error bodies stay OperationOutcomes."""

from __future__ import annotations

import pytest

from fhir_family.collector.tokens import issue_token
from fhir_family.facade.app import create_app as create_facade


@pytest.fixture(scope="module")
def facade(collector_validator):
    return create_facade({"VALIDATOR": collector_validator}).test_client()


@pytest.fixture
def collector(tmp_path, make_collector):
    app = make_collector(f"sqlite:///{tmp_path / 'c.sqlite'}")
    sessions = app.extensions["fhir_family_collector"].sessions
    tokens = {"provider": issue_token(sessions, "provider", "XFF01"),
              "analyst": issue_token(sessions, "analyst")}
    return app.test_client(), {role: {"Authorization": f"Bearer {token}"} for role, token in tokens.items()}


def assert_secured(response, html: bool = False, cached: bool = False) -> None:
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    policy = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert ("script-src 'self'" in policy) if html else policy.startswith("default-src 'none'")
    assert ("max-age" in headers["Cache-Control"]) if cached else headers["Cache-Control"] == "no-store"


def assert_outcome(response, status: int) -> None:
    assert response.status_code == status
    assert response.get_json()["resourceType"] == "OperationOutcome"
    assert_secured(response)


def test_facade_answers_errors_and_pages_carry_the_headers(facade, examples_dir):
    assert_secured(facade.get("/metadata"))
    payload = (examples_dir / "ehr" / "json" / "mother-two-children.json").read_bytes()
    assert_secured(facade.post("/ehr/json", data=payload, content_type="application/json"))
    assert_outcome(facade.get("/no/such/path"), 404)
    assert_outcome(facade.get("/submit"), 405)
    assert_outcome(facade.post("/ehr/json", data="x", content_type="text/html"), 415)
    assert_outcome(facade.post("/submit", data="{}", content_type="application/json"), 401)
    assert_secured(facade.options("/submit"))
    page = facade.get("/ig/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert_secured(page, html=True, cached=True)  # the public guide keeps its own short cache


def test_collector_answers_errors_and_pages_carry_the_headers(collector):
    client, auth = collector
    assert_secured(client.get("/metadata"))
    assert_secured(client.get("/Bundle", headers=auth["provider"]))
    assert_outcome(client.get("/Bundle"), 401)
    assert_outcome(client.get("/Bundle/missing", headers=auth["provider"]), 404)
    assert_outcome(client.get("/Bundle", headers=auth["analyst"]), 403)
    assert_outcome(client.delete("/Bundle"), 405)
    assert_secured(client.options("/Bundle"))
    page = client.get("/reports/monthly?format=html", headers=auth["analyst"])
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert_secured(page, html=True)
