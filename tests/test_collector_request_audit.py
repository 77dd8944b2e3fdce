"""A full audit row for every request to the collector (issue 11): time, request id (also the X-Request-ID
answer header), source address, token id (never the token), method, path without query values, status and
bytes; the audit table is append-only, refused by the database itself; a ``%00`` URL on PostgreSQL gets its
row. SQLite and PostgreSQL (``db_url``)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from fhir_family.collector.schema import AuditEvent
from fhir_family.collector.tokens import authenticate, issue_token
from fhir_family.mapping.bundle import build_bundle
from test_collector_ingest import make_record

SRC = Path(__file__).resolve().parent.parent / "src" / "fhir_family"


@pytest.fixture
def app(db_url, make_collector):
    return make_collector(db_url)


def _rows(collector, **where) -> list[AuditEvent]:
    with collector.sessions() as session:
        query = select(AuditEvent).order_by(AuditEvent.id)
        for name, value in where.items():
            query = query.where(getattr(AuditEvent, name) == value)
        return list(session.scalars(query))


def test_every_kind_of_request_leaves_one_full_row(app):
    collector = app.extensions["fhir_family_collector"]
    token = issue_token(collector.sessions, "provider", "RXA")
    analyst = issue_token(collector.sessions, "analyst")
    provider_id = authenticate(collector.sessions, token).token_id
    bearer = {"Authorization": f"Bearer {token}"}
    bundle = json.dumps(build_bundle(make_record()))
    bad = build_bundle(make_record(2))
    bad["entry"][1]["resource"]["birthDate"] = "not-a-date"
    client = app.test_client()
    requests = [
        ("GET", "/health", {}, None, 200),
        ("GET", "/metadata", {}, None, 200),
        ("GET", "/", {"Accept": "application/json"}, None, 200),
        ("POST", "/", bearer, bundle, 200),
        ("POST", "/", bearer, json.dumps(bad), 422),
        ("POST", "/", {}, bundle, 401),
        ("POST", "/", {"Authorization": "Bearer ffc_not-a-token"}, bundle, 401),
        ("GET", "/Bundle/sub-RXA-1", bearer, None, 200),
        ("GET", "/Bundle/never", bearer, None, 404),
        ("GET", "/Bundle?identifier=9434765919&_count=5", bearer, None, 200),
        ("GET", "/reports/monthly?format=json", {"Authorization": f"Bearer {analyst}"}, None, 200),
        ("GET", "/no-such-route", {}, None, 404),
        ("DELETE", "/Bundle/sub-RXA-1", bearer, None, 405),
        ("GET", "/$import-status/nope", bearer, None, 404),
        ("POST", "/", bearer, "{not json", 400),
    ]
    answers = []
    for method, path, headers, body, status in requests:
        response = client.open(path, method=method, headers=headers, data=body,
                               content_type="application/fhir+json" if body else None)
        assert response.status_code == status, (method, path, response.get_data(as_text=True)[:300])
        answers.append(response)
    rows = _rows(collector, action="request")
    assert len(rows) == len(requests)  # one row per request, whatever it ended with
    for (method, path, _headers, body, status), response, row in zip(requests, answers, rows, strict=True):
        request_id = response.headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f-]{36}", request_id)
        assert (row.request_id, row.method, row.outcome) == (request_id, method, status)
        bare, _, query = path.partition("?")
        names = sorted(name for name, _value in parse_qsl(query))
        assert row.path == bare + ("?" + "&".join(f"{name}=" for name in names) if names else "")
        assert row.source == "127.0.0.1" and row.at is not None
        assert row.bytes_out == len(response.get_data())
        assert row.bytes_in == (len(body.encode()) if body else None)
    by_path = {(row.method, row.path, row.outcome): row for row in rows}
    assert by_path[("GET", "/Bundle?_count=&identifier=", 200)].token_id == provider_id
    assert by_path[("POST", "/", 401)].token_id is None
    assert by_path[("GET", "/health", 200)].actor == "anonymous"
    # The rows of what a request did share its request id: the submission, the 404 read.
    submitted = _rows(collector, action="submit", outcome=201)[0]
    assert submitted.request_id == answers[3].headers["X-Request-ID"] and submitted.token_id == provider_id
    everything = " ".join(str(value) for row in _rows(collector) for value in vars(row).values())
    assert token not in everything and analyst not in everything  # never a token
    assert "9434765919" not in everything  # never a query value


def test_the_audit_table_is_append_only_in_the_database(app):
    collector = app.extensions["fhir_family_collector"]
    app.test_client().get("/health")
    for statement in ("UPDATE audit_log SET outcome = 200", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), collector.engine.begin() as connection:
            connection.execute(text(statement))
    if collector.engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), collector.engine.begin() as connection:
            connection.execute(text("TRUNCATE audit_log"))
    assert len(_rows(collector)) == 1


def test_no_code_updates_or_deletes_audit_rows():
    """Append-only from the application's side too: no statement in the package changes an audit row."""
    offending = []
    for path in SRC.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for pattern in (r"update\(\s*(AuditEvent|_AUDIT)", r"delete\(\s*(AuditEvent|_AUDIT)",
                        r"(?i)(UPDATE|DELETE FROM)\s+audit_log"):
            if re.search(pattern, source) and "migrations" not in path.parts:
                offending.append(f"{path.relative_to(SRC)}: {pattern}")
    assert offending == []


def test_a_nul_in_the_url_is_a_400_with_its_audit_row(app):
    collector = app.extensions["fhir_family_collector"]
    token = issue_token(collector.sessions, "provider", "RXA")
    response = app.test_client().get("/Bundle/a%00b", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400 and response.get_json()["resourceType"] == "OperationOutcome"
    [row] = _rows(collector, action="request")
    assert (row.outcome, row.path, row.request_id) == (400, "/Bundle/a%00b", response.headers["X-Request-ID"])
