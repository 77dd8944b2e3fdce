"""One way to validate: the shared Validator protocol, the lazy loader and the pipeline's validate_bundle.

The facade's /submit, its $validate, the CLI's submit and the collector all validate through these, so a
double that implements ``issues`` is enough to steer every one of them.
"""

from __future__ import annotations

import json
import threading

from fhir_family.conformance import default_validator
from fhir_family.facade.app import create_app
from fhir_family.mapping.pipeline import LINE_EXTENSION, MappingPipeline
from fhir_family.outcome import Issue, IssueSeverity, IssueType, message_id
from fhir_family.validation import LazyValidator, Validator, any_errors


class Verdict:
    """A validator double that returns the same issues for everything and counts its calls."""

    def __init__(self, *issues: Issue) -> None:
        self.found = list(issues)
        self.calls: list[str | None] = []

    def issues(self, resource, profile=None) -> list[Issue]:
        self.calls.append(profile)
        return list(self.found)


REFUSAL = Issue(
    severity=IssueSeverity.ERROR,
    code=IssueType.INVARIANT,
    diagnostics="refused by the double",
    expression="Bundle",
    message_id="FF-TEST-NO",
)
ADVICE = Issue(
    severity=IssueSeverity.WARNING,
    code=IssueType.BUSINESS_RULE,
    diagnostics="just advice",
    expression="Bundle",
    message_id="FF-TEST-ADVICE",
)


def _bundle(examples_dir) -> dict:
    return json.loads(next(iter(sorted((examples_dir / "bundles").glob("*.json")))).read_text())


def test_the_conformance_validator_is_a_validator() -> None:
    assert isinstance(default_validator(), Validator)


def test_lazy_validator_makes_its_validator_once_on_first_use() -> None:
    made: list[Verdict] = []

    def factory() -> Verdict:
        made.append(Verdict())
        return made[-1]

    lazy = LazyValidator(factory)
    assert made == []  # nothing loaded at construction
    threads = [threading.Thread(target=lazy.get) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1 and lazy.get() is made[0]


def test_lazy_validator_takes_an_instance_or_defaults_to_the_shared_one() -> None:
    double = Verdict()
    assert LazyValidator(double).get() is double
    assert LazyValidator().get() is default_validator()


def test_validate_bundle_passes_a_bundle_with_warnings_and_stops_one_with_errors(examples_dir) -> None:
    bundle = _bundle(examples_dir)
    passed = MappingPipeline(Verdict(ADVICE)).validate_bundle(bundle)
    assert passed.bundle is bundle and passed.status == 200
    assert [message_id(i) for i in passed.outcome["issue"]] == ["FF-TEST-ADVICE"]
    stopped = MappingPipeline(Verdict(ADVICE, REFUSAL)).validate_bundle(bundle, line=7)
    assert stopped.bundle is None and stopped.status == 422 and stopped.line == 7
    for issue in stopped.outcome["issue"]:
        assert {"url": LINE_EXTENSION, "valueInteger": 7} in issue["extension"]


def test_any_errors_counts_errors_and_fatals_only() -> None:
    assert not any_errors([ADVICE])
    assert any_errors([ADVICE, REFUSAL])
    assert any_errors([Issue(severity=IssueSeverity.FATAL, code=IssueType.EXCEPTION, diagnostics="boom")])


def test_the_facade_validates_submit_and_dollar_validate_with_the_configured_validator(
    examples_dir, feed_tokens
) -> None:
    double = Verdict(REFUSAL)
    config = {
        "VALIDATOR": double,
        "COLLECTOR_URL": "http://127.0.0.1:9/unused",
        "FEED_TOKENS_FILE": feed_tokens[0],
    }
    client = create_app(config).test_client()
    bundle = _bundle(examples_dir)
    submitted = client.post("/submit", json=bundle, headers=feed_tokens[1])
    assert submitted.status_code == 422  # refused before any attempt to forward
    assert message_id(submitted.get_json()["issue"][0]) == "FF-TEST-NO"
    checked = client.post("/Bundle/$validate", json=bundle)
    assert checked.status_code == 422
    assert message_id(checked.get_json()["issue"][0]) == "FF-TEST-NO"
    assert len(double.calls) == 2
