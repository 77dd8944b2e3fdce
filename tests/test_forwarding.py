"""Forwarding to a collector over real HTTP: a werkzeug server on 127.0.0.1 (ephemeral port) that fails the
first tries, times out, or is not there at all."""

from __future__ import annotations

import json
import socket
import time

import pytest
from werkzeug.wrappers import Request, Response

from conftest import serving as serve
from fhir_family.collector.client import (
    CollectorClient,
    CollectorTimeoutError,
    CollectorUnreachableError,
    ForwardingError,
    make_session,
)

OK_BODY = {"resourceType": "Bundle", "type": "transaction-response", "entry": []}
BUNDLE = {"resourceType": "Bundle", "type": "transaction", "identifier": {"value": "sub-1"}}


class Scripted:
    """Answers from a script of (status, headers, body, delay); the last entry repeats. Records requests."""

    def __init__(self, *script: tuple[int, dict, dict | None, float]) -> None:
        self.script = list(script)
        self.requests: list[tuple[float, str | None, bytes]] = []

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.requests.append((time.monotonic(), request.headers.get("Authorization"), request.get_data()))
        status, headers, body, delay = self.script[min(len(self.requests) - 1, len(self.script) - 1)]
        if delay:
            time.sleep(delay)
        payload = json.dumps(body) if body is not None else "<html>gateway</html>"
        response = Response(payload, status=status, headers=headers, content_type="application/fhir+json")
        return response(environ, start_response)


UNAVAILABLE = (503, {}, {"resourceType": "OperationOutcome", "issue": []}, 0.0)
OK = (200, {}, OK_BODY, 0.0)


def test_retries_503_twice_then_succeeds_sending_the_same_request(monkeypatch):
    monkeypatch.setenv("FHIR_FAMILY_TOKEN", "secret-token")
    app = Scripted(UNAVAILABLE, UNAVAILABLE, OK)
    with serve(app) as url, CollectorClient(url, backoff_factor=0.01) as client:
        answer = client.submit(BUNDLE)
    assert answer.status == 200 and answer.accepted
    assert answer.body == OK_BODY
    assert len(app.requests) == 3
    assert {auth for _t, auth, _b in app.requests} == {"Bearer secret-token"}
    assert len({body for _t, _a, body in app.requests}) == 1  # byte-identical resends


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_gives_back_the_collectors_answer_after_the_last_retry(status):
    app = Scripted((status, {}, {"resourceType": "OperationOutcome", "issue": []}, 0.0))
    with serve(app) as url, CollectorClient(url, retries=2, backoff_factor=0.01) as client:
        answer = client.submit(BUNDLE)
    assert answer.status == status and not answer.accepted and answer.attempts_exhausted
    assert len(app.requests) == 3


def test_respects_retry_after():
    app = Scripted((429, {"Retry-After": "1"}, {"resourceType": "OperationOutcome", "issue": []}, 0.0), OK)
    with serve(app) as url, CollectorClient(url, backoff_factor=0.01) as client:
        assert client.submit(BUNDLE).status == 200
    (first, *_), (second, *_) = app.requests
    assert second - first >= 0.9


@pytest.mark.parametrize("status", [400, 401, 403, 409, 422])
def test_client_errors_are_not_retried_and_are_relayed(status):
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "invalid"}]}
    app = Scripted((status, {}, outcome, 0.0))
    with serve(app) as url, CollectorClient(url, backoff_factor=0.01) as client:
        answer = client.submit(BUNDLE)
    assert (answer.status, answer.body) == (status, outcome)
    assert len(app.requests) == 1


def test_a_non_json_answer_becomes_an_operation_outcome():
    app = Scripted((200, {}, None, 0.0))
    with serve(app) as url, CollectorClient(url) as client:
        answer = client.submit(BUNDLE)
    assert answer.body is None
    assert answer.resource["resourceType"] == "OperationOutcome"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_is_a_forwarding_error_after_retries():
    client = CollectorClient(f"http://127.0.0.1:{_free_port()}", retries=1, backoff_factor=0.01)
    with pytest.raises(CollectorUnreachableError) as caught:
        client.submit(BUNDLE)
    assert caught.value.http_status == 502
    assert isinstance(caught.value, ForwardingError) and isinstance(caught.value, ConnectionError)
    issue = caught.value.outcome["issue"][0]
    assert issue["code"] == "transient" and "refused" in issue["diagnostics"].lower()


def test_a_slow_collector_is_a_timeout_error():
    app = Scripted((200, {}, OK_BODY, 1.5))
    with (
        serve(app) as url,
        CollectorClient(url, retries=0, timeout=(2.0, 0.3)) as client,
        pytest.raises(CollectorTimeoutError) as caught,
    ):
        client.submit(BUNDLE)
    assert caught.value.http_status == 504


def test_tls_verification_stays_on():
    assert make_session().verify is True
    assert make_session(verify="/etc/ssl/certs/ca-certificates.crt").verify.endswith(".crt")
    with pytest.raises(ValueError):
        make_session(verify=False)


def test_token_comes_from_the_environment_unless_given(monkeypatch):
    monkeypatch.setenv("FHIR_FAMILY_TOKEN", "from-env")
    assert make_session().headers["Authorization"] == "Bearer from-env"
    assert make_session(token="explicit").headers["Authorization"] == "Bearer explicit"
    monkeypatch.delenv("FHIR_FAMILY_TOKEN")
    assert "Authorization" not in make_session().headers


def test_bad_collector_url_is_an_input_error():
    from fhir_family.errors import InputError

    with pytest.raises(InputError):
        CollectorClient("collector.example")


class LosesFirstAnswers:
    """In front of the real collector: passes the first ``n`` requests through (so they are stored) but
    answers 503 instead of the collector's answer, as when a gateway drops a response."""

    def __init__(self, app, n: int) -> None:
        self.app, self.n, self.seen = app, n, 0

    def __call__(self, environ, start_response):
        self.seen += 1
        if self.seen <= self.n:
            drained = self.app(environ, lambda *_args, **_kwargs: None)
            b"".join(drained)
            return Response("{}", status=503, content_type="application/fhir+json")(environ, start_response)
        return self.app(environ, start_response)


def test_retrying_a_delivered_submission_against_the_real_collector_stores_it_once(
    db_url, collector_validator
):
    from sqlalchemy import func, select

    from fhir_family.collector.app import create_app
    from fhir_family.collector.schema import Submission
    from fhir_family.collector.synthetic import synthetic_month
    from fhir_family.collector.tokens import issue_token
    from fhir_family.mapping.bundle import build_bundle

    app = create_app({"DATABASE_URL": db_url, "PSEUDONYM_KEY": "k" * 32, "VALIDATOR": collector_validator})
    collector = app.extensions["fhir_family_collector"]
    token = issue_token(collector.sessions, "provider", "RXA")
    bundle = build_bundle(next(synthetic_month(patients_per_provider=1)))
    with serve(LosesFirstAnswers(app, 2)) as url, CollectorClient(url, token, backoff_factor=0.01) as client:
        answer = client.submit(bundle)
    assert answer.status == 200
    assert {entry["response"]["status"] for entry in answer.body["entry"]} == {"200 OK"}  # a resend's answer
    with collector.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 1
