"""Collector tokens expire, rotate and record their last use (issue 11): an expired token is a 401 exactly
like an unknown one; ``rotate-token`` issues a new secret and keeps the old one for a grace period (or revokes
it); ``list-tokens`` shows the last use, written at most once a minute per token. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import event, update

from fhir_family.cli import main
from fhir_family.collector.schema import ApiToken
from fhir_family.collector.tokens import authenticate, issue_token
from fhir_family.expiry import parse_expiry
from test_collector_ingest import auth


@pytest.fixture
def app(db_url, make_collector):
    return make_collector(db_url)


def _cli(*args: str):
    return CliRunner().invoke(main, ["collector", *args])


def _answer(client, token: str):
    response = client.get("/Bundle", headers=auth(token))
    return response.status_code, response.get_data(as_text=True)


def _expire(collector, token_id: int) -> None:
    with collector.sessions.begin() as session:
        session.execute(
            update(ApiToken).where(ApiToken.id == token_id).values(
                expires_at=datetime.now(UTC) - timedelta(seconds=1)
            )
        )


def test_an_expired_token_answers_exactly_as_an_unknown_one(app, db_url):
    collector = app.extensions["fhir_family_collector"]
    added = _cli("add-token", "--ods", "RXA", "--expires-in", "90d", "--db", db_url)
    assert added.exit_code == 0, added.output
    token = added.stdout.strip()
    client = app.test_client()
    assert client.get("/Bundle", headers=auth(token)).status_code == 200
    listed = _cli("list-tokens", "--db", db_url).output
    expected = parse_expiry("90d").strftime("%Y-%m-%d")
    assert f"active until {expected}" in listed
    [principal_id] = [int(line.split()[0]) for line in listed.splitlines()]
    _expire(collector, principal_id)
    assert _answer(client, token) == _answer(client, "ffc_never-issued")
    assert _answer(client, token)[0] == 401
    assert "expired" in _cli("list-tokens", "--db", db_url).output


@pytest.mark.parametrize("text", ["90x", "yesterday", "2020-01-01", "2030-01-01T09:00:00"])
def test_a_bad_expiry_is_a_one_line_error(db_url, text):
    result = _cli("add-token", "--ods", "RXA", "--expires-in", text, "--db", db_url)
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert "Traceback" not in result.output


def test_rotation_keeps_the_old_token_for_the_grace_period_then_refuses_it(app, db_url):
    collector = app.extensions["fhir_family_collector"]
    old = issue_token(collector.sessions, "provider", "RXA", label="ehr-feed")
    client = app.test_client()
    rotated = _cli("rotate-token", "1", "--grace", "2h", "--db", db_url)
    assert rotated.exit_code == 0, rotated.output
    new = rotated.stdout.strip()
    assert new != old and "token 2 replaces token 1" in rotated.stderr
    assert client.get("/Bundle", headers=auth(old)).status_code == 200  # within the grace period
    assert client.get("/Bundle", headers=auth(new)).status_code == 200
    principal = authenticate(collector.sessions, new)
    assert (principal.role, principal.ods_code, principal.label) == ("provider", "RXA", "ehr-feed")
    listed = _cli("list-tokens", "--db", db_url).output.splitlines()
    assert "active until" in listed[0] and listed[1].split()[-3:] != ["never", "used"]
    _expire(collector, 1)  # the grace period over
    assert _answer(client, old) == _answer(client, "ffc_never-issued")
    assert client.get("/Bundle", headers=auth(new)).status_code == 200
    # --grace 0 revokes the old token at once; an inactive token cannot be rotated.
    at_once = _cli("rotate-token", "2", "--grace", "0", "--db", db_url)
    assert at_once.exit_code == 0, at_once.output
    assert client.get("/Bundle", headers=auth(new)).status_code == 401
    assert client.get("/Bundle", headers=auth(at_once.stdout.strip())).status_code == 200
    again = _cli("rotate-token", "2", "--db", db_url)
    assert again.exit_code == 2 and "No active token with id 2" in again.output


def test_last_use_is_recorded_without_a_write_per_request(app, db_url):
    collector = app.extensions["fhir_family_collector"]
    token = issue_token(collector.sessions, "provider", "RXA")
    assert "never used" in _cli("list-tokens", "--db", db_url).output
    writes: list[str] = []

    @event.listens_for(collector.engine, "before_cursor_execute")
    def count(_conn, _cursor, statement, _params, _context, _many):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("UPDATE API_TOKENS"):
            writes.append(statement)

    client = app.test_client()
    before = datetime.now(UTC).replace(second=0, microsecond=0)
    for _ in range(40):
        assert client.get("/Bundle", headers=auth(token)).status_code == 200
    assert len(writes) == 1  # 40 requests within the minute: one write
    listed = _cli("list-tokens", "--db", db_url).output
    assert f"last used {before:%Y-%m-%d}" in listed
    # A minute later the next request records the use again, once.
    with collector.sessions.begin() as session:
        session.execute(update(ApiToken).values(last_used_at=datetime.now(UTC) - timedelta(minutes=2)))
    writes.clear()
    for _ in range(5):
        client.get("/Bundle", headers=auth(token))
    assert len(writes) == 1
    event.remove(collector.engine, "before_cursor_execute", count)
