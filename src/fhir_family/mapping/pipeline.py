"""The shared path after parsing: ReturnRecord -> Bundle (build_bundle) -> validation -> one result.

Every input format and every caller (HTTP facade, CLI, benchmark) goes through ``MappingPipeline``, so a
bundle is never forwarded without being validated and warnings gathered while parsing (a child left out, a
default applied) travel with the result instead of being lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from fhir_family.outcome import LINE_EXTENSION, Issue, operation_outcome
from fhir_family.validation import LazyValidator, Validator, ValidatorSource, any_errors

from .base import Parsed, Parser
from .bundle import build_bundle


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


def _with_line(issues: list[Issue], line: int | None) -> list[Issue]:
    """Give every issue of a batch item a location, at least its line, so nothing is unplaceable."""
    if line is None:
        return issues
    placed = {"location": [f"line {line}"]}
    return [issue if issue.extra.get("location") else replace(issue, extra={**issue.extra, **placed})
            for issue in issues]


def _stamp_line(issue: Issue, line: int | None) -> Issue:
    """Mark an issue of a batch item with the standard issue-line extension (validator issues too)."""
    extensions = issue.extra.get("extension", [])
    if line is None or any(ext.get("url") == LINE_EXTENSION for ext in extensions):
        return issue
    stamped = [*extensions, {"url": LINE_EXTENSION, "valueInteger": line}]
    return replace(issue, extra={**issue.extra, "extension": stamped})


class MappingPipeline:
    """Builds and validates bundles from parsed items. ``validate=False`` skips validation (CLI option)."""

    def __init__(self, validator: ValidatorSource = None, validate: bool = True) -> None:
        self._validator = LazyValidator(validator)
        self.validate = validate

    @property
    def validator(self) -> Validator:
        """The validator, loaded once per pipeline on first use."""
        return self._validator.get()

    def map_parsed(self, parsed: Parsed) -> Mapped:
        """One parsed item -> Mapped (never raises for bad input)."""
        if parsed.record is None:
            status = parsed.error.http_status if parsed.error else 422
            issues = [_stamp_line(issue, parsed.line) for issue in _with_line(parsed.all_issues, parsed.line)]
            return Mapped(None, operation_outcome(issues), status, parsed.line)
        return self._judged(build_bundle(parsed.record), _with_line(list(parsed.issues), parsed.line),
                            parsed.line)

    def validate_bundle(self, bundle: dict[str, Any], line: int | None = None) -> Mapped:
        """An already-built national return (posted or read from a file) through the same validation."""
        return self._judged(bundle, [], line)

    def _judged(self, bundle: dict[str, Any], issues: list[Issue], line: int | None) -> Mapped:
        """The bundle with every issue found on the way to it plus the validator's, as one result."""
        if self.validate:
            issues = [*issues, *self._validator.issues(bundle)]
        issues = [_stamp_line(issue, line) for issue in issues]
        if any_errors(issues):
            return Mapped(None, operation_outcome(issues), 422, line)
        return Mapped(bundle, operation_outcome(issues), 200, line)

    def map_text(self, parser: Parser, text: str) -> Mapped:
        """A single document (JSON payload or HL7 v2 message) -> Mapped."""
        return next(self.map_stream(parser, [text]))

    def map_stream(self, parser: Parser, lines: Iterable[str]) -> Iterator[Mapped]:
        """Any format, item by item, lazily: a batch streams in constant memory."""
        for parsed in parser.iter_parse(lines):
            yield self.map_parsed(parsed)
