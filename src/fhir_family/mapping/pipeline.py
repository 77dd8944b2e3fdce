"""The shared path after parsing: ReturnRecord -> Bundle (build_bundle) -> validation -> one result.

Every input format and every caller (HTTP facade, CLI, benchmark) goes through ``MappingPipeline``, so a
bundle is never forwarded without being validated and warnings gathered while parsing (a child left out, a
default applied) travel with the result instead of being lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Protocol

from fhir_family.outcome import LINE_EXTENSION, Issue, has_errors, operation_outcome

from .base import Parsed, Parser
from .bundle import build_bundle

"""Standard extension carrying the input line an issue comes from (batch items)."""


class Validator(Protocol):
    """What the pipeline needs of ``fhir_family.conformance.default_validator()``."""

    def validate(self, resource: dict[str, Any], profile: str | None = None) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Mapped:
    """The result for one input item: a conformant bundle, or an OperationOutcome saying why not.

    ``outcome`` always lists every issue (parse warnings, then validation issues). ``status`` is the HTTP
    status the item deserves on its own: 200, 400 (unreadable) or 422 (unmappable or non-conformant).
    """

    bundle: dict[str, Any] | None
    outcome: dict[str, Any]
    status: int
    line: int | None = None

    @property
    def ok(self) -> bool:
        return self.bundle is not None


def _real_issues(outcome: dict[str, Any]) -> list[dict[str, Any]]:
    """Issues of an OperationOutcome without the conventional single 'all OK' placeholder."""
    issues = outcome.get("issue", [])
    if len(issues) == 1 and issues[0].get("code") == "informational" and "expression" not in issues[0]:
        return []
    return issues


def _with_line(issues: list[Issue], line: int | None) -> list[Issue]:
    """Give every issue of a batch item a location, at least its line, so nothing is unplaceable."""
    if line is None:
        return issues
    placed = {"location": [f"line {line}"]}
    return [issue if issue.extra.get("location") else replace(issue, extra={**issue.extra, **placed})
            for issue in issues]


def _stamp_line(outcome: dict[str, Any], line: int | None) -> dict[str, Any]:
    """Mark every issue of a batch item with the standard issue-line extension (validator issues too)."""
    if line is not None:
        for issue in outcome["issue"]:
            extensions = issue.setdefault("extension", [])
            if not any(ext.get("url") == LINE_EXTENSION for ext in extensions):
                extensions.append({"url": LINE_EXTENSION, "valueInteger": line})
    return outcome


class MappingPipeline:
    """Builds and validates bundles from parsed items. ``validate=False`` skips validation (CLI option)."""

    def __init__(self, validator: Validator | None = None, validate: bool = True) -> None:
        self._validator = validator
        self.validate = validate

    @property
    def validator(self) -> Validator:
        if self._validator is None:
            from fhir_family.conformance import default_validator  # loaded once per process, on first use

            self._validator = default_validator()
        return self._validator

    def map_parsed(self, parsed: Parsed) -> Mapped:
        """One parsed item -> Mapped (never raises for bad input)."""
        if parsed.record is None:
            status = parsed.error.http_status if parsed.error else 422
            outcome = operation_outcome(_with_line(parsed.all_issues, parsed.line))
            return Mapped(None, _stamp_line(outcome, parsed.line), status, parsed.line)
        bundle = build_bundle(parsed.record)
        rendered = [issue.to_fhir() for issue in _with_line(list(parsed.issues), parsed.line)]
        if self.validate:
            rendered.extend(_real_issues(self.validator.validate(bundle)))
        outcome = operation_outcome([])
        if rendered:
            outcome = _stamp_line({"resourceType": "OperationOutcome", "issue": rendered}, parsed.line)
        if has_errors(outcome):
            return Mapped(None, outcome, 422, parsed.line)
        return Mapped(bundle, outcome, 200, parsed.line)

    def map_text(self, parser: Parser, text: str) -> Mapped:
        """A single document (JSON payload or HL7 v2 message) -> Mapped."""
        return next(self.map_stream(parser, [text]))

    def map_stream(self, parser: Parser, lines: Iterable[str]) -> Iterator[Mapped]:
        """Any format, item by item, lazily: a batch streams in constant memory."""
        for parsed in parser.iter_parse(lines):
            yield self.map_parsed(parsed)
