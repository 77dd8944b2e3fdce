"""Schemathesis drives the collector from its own OpenAPI 3.1 document (issue 11): no 5xx, and every answer
matches the document (status, content type, schema). Requests carry a provider's token, or an analyst's for
the analyst pages, so the generated cases reach past authentication into the handlers."""

from __future__ import annotations

import re

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402

from fhir_family.collector.tokens import issue_token  # noqa: E402


@schemathesis.serializer("application/x-ndjson", "application/fhir+ndjson", "application/ndjson")
def _as_text(_context, value) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else str(value).encode("utf-8")


@pytest.fixture(scope="module")
def collector(tmp_path_factory, make_collector):
    db = tmp_path_factory.mktemp("openapi") / "collector.sqlite"
    app = make_collector(f"sqlite:///{db}", WRITE_RATE=0)  # limits off: the cases should reach the handlers
    sessions = app.extensions["fhir_family_collector"].sessions
    tokens = {role: issue_token(sessions, role, "XFF01" if role == "provider" else None)
              for role in ("provider", "analyst")}
    return app, tokens


ANALYST_PAGES = ("/reports/", "/dashboard")


def test_operations_conform_to_the_openapi_document(collector) -> None:
    app, tokens = collector
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15  # 20 examples each: a few hundred requests, well under a minute
    for operation in operations:
        role = "analyst" if operation.path.startswith(ANALYST_PAGES) else "provider"
        _check(operation, {"Authorization": f"Bearer {tokens[role]}"})


def _check(operation, headers: dict[str, str]) -> None:
    @settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def check(case) -> None:
        # a schema-valid Bundle may still be refused with 422 (profiles go beyond a JSON Schema)
        excluded = [schemathesis.checks.positive_data_acceptance]
        case.call_and_validate(headers=headers, excluded_checks=excluded)

    check()


def _normalised(path: str) -> str:
    """``/a/<path:name>`` (Flask) and ``/a/{name}`` (OpenAPI) both become ``/a/{}``."""
    path = re.sub(r"<any\([^)]*\):[^>]+>", "{}", path)
    return re.sub(r"<[^>]+>", "{}", re.sub(r"\{[^}]+\}", "{}", path))


def test_the_document_lists_exactly_the_apps_routes(collector) -> None:
    app, _tokens = collector
    document = app.test_client().get("/openapi.json").get_json()
    routes = {
        (method, _normalised(rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {
        (method.upper(), _normalised(path)) for path, ops in document["paths"].items() for method in ops
    }
    assert routes == documented
