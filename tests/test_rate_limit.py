"""Rate limits on writes (issue 11): a token bucket per source address and per bearer token, 429 with
Retry-After and an OperationOutcome, refused before anything else runs (no database row), reads untouched."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from fhir_family import messages as msg
from fhir_family.collector.schema import AuditEvent
from fhir_family.collector.tokens import issue_token
from fhir_family.facade.app import create_app as create_facade
from fhir_family.outcome import message_id
from fhir_family.rate_limit import RateLimiter

FHIR = {"Content-Type": "application/fhir+json"}


class Clock:
    """Stands in for ``time.time`` (the ``limits`` library's clock): the window passes without sleeping."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_key_gets_its_burst_then_waits_for_the_window(monkeypatch) -> None:
    clock = Clock(1_000_000.0)
    monkeypatch.setattr(time, "time", clock)
    limiter = RateLimiter(rate=2, burst=3)  # 3 writes per 2 s, on average 2 a second
    assert limiter.window == 2
    assert [limiter.retry_after("a") for _ in range(3)] == [0, 0, 0]
    wait = limiter.retry_after("a")
    assert 0 < wait <= limiter.window
    assert limiter.retry_after("b") == 0  # another key has its own count
    clock.now += 2 * limiter.window  # two windows later the count has slid out
    assert [limiter.retry_after("a") for _ in range(4)][:3] == [0, 0, 0]
    assert limiter.retry_after("a") > 0  # and the burst is the most a quiet key gets


def test_refusals_are_written_once_a_minute_per_address_with_a_count() -> None:
    from fhir_family.collector.request_audit import SUMMARY_SECONDS, RefusalCounter

    clock = Clock(0.0)
    counter = RefusalCounter(clock)
    assert counter.note("10.0.0.1") == 0  # the first refusal is written
    assert [counter.note("10.0.0.1") for _ in range(9)] == [None] * 9  # counted, not written
    assert counter.note("10.0.0.2") == 0  # another address is its own
    clock.now = SUMMARY_SECONDS
    assert counter.note("10.0.0.1") == 9  # the next row says how many went unwritten


def test_the_limiter_is_the_maintained_library() -> None:
    """Issue 11 asks for a maintained library, not a hand-rolled bucket."""
    import limits

    assert isinstance(RateLimiter(rate=50, burst=200).item, limits.RateLimitItem)


def _assert_429(response) -> None:
    assert response.status_code == 429, response.get_data(as_text=True)[:300]
    assert int(response.headers["Retry-After"]) >= 1
    body = response.get_json(force=True)
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == "throttled"
    assert message_id(body["issue"][0]) == msg.http_status(429)
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_facade_submit_is_limited_per_address_and_per_token(feed_tokens, examples_dir) -> None:
    path, headers = feed_tokens
    app = create_facade({"FEED_TOKENS_FILE": path, "WRITE_RATE": 0.01, "WRITE_BURST": 2})
    client = app.test_client()
    body = (examples_dir / "bundles" / "young-carer-daughter.json").read_bytes()
    statuses = [client.post("/submit", data=body, headers={**headers, **FHIR}).status_code for _ in range(2)]
    assert 429 not in statuses  # the burst goes through (to 502/503: no collector here)
    _assert_429(client.post("/submit", data=body, headers={**headers, **FHIR}))
    other = {"REMOTE_ADDR": "10.0.0.9"}
    same_token = client.post("/submit", data=body, headers={**headers, **FHIR}, environ_base=other)
    _assert_429(same_token)
    fresh = client.post("/submit", data=body, headers={"Authorization": "Bearer other", **FHIR},
                        environ_base=other)
    assert fresh.status_code == 401  # a new address with a new token is not limited (and then refused)
    assert client.post("/ehr/json", data=b"{}", headers=FHIR).status_code != 429  # mapping is not a write
    assert client.get("/metadata").status_code == 200


@pytest.fixture
def collector(db_url, make_collector):
    app = make_collector(db_url, WRITE_RATE=0.01, WRITE_BURST=2)
    sessions = app.extensions["fhir_family_collector"].sessions
    token = issue_token(sessions, "provider", "XFF01")
    return app.test_client(), {"Authorization": f"Bearer {token}", **FHIR}, sessions


def test_collector_writes_are_limited_and_refusals_cost_no_database_write_each(
    collector, examples_dir
) -> None:
    """A refused write does no work: no token look-up, no submission, no action row, and no audit row of its
    own: a flood of refusals from one address is one audit row a minute (issue 11: the audit still says who
    was refused and how often, and refusals do not each cost a database write)."""
    client, headers, sessions = collector
    body = json.loads((examples_dir / "bundles" / "young-carer-daughter.json").read_text())
    for _ in range(2):
        assert client.post("/", json=body, headers=headers).status_code in (200, 201)

    def audit_rows() -> dict[str, int]:
        with sessions() as session:
            rows = session.execute(
                select(AuditEvent.action, func.count()).group_by(AuditEvent.action)
            ).all()
        return {action: count for action, count in rows}

    before = audit_rows()
    for _ in range(5):
        _assert_429(client.post("/", json=body, headers=headers))
        _assert_429(client.post("/", json=body, headers={"Authorization": "Bearer made-up", **FHIR}))
    after = audit_rows()
    assert after.pop("request") == before.pop("request") + 1  # the first refusal of the minute
    assert after == before
    with sessions() as session:
        throttled = session.scalars(select(AuditEvent).where(AuditEvent.outcome == 429)).all()
    detail = "rate limited; 0 earlier refusal(s) from this address not written one by one"
    assert [(row.action, row.source, row.detail) for row in throttled] == [("request", "127.0.0.1", detail)]
    assert client.get("/health").status_code == 200  # reads are not limited
