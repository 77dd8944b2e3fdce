"""NDJSON batches: one JSON payload (contract v2) per line, read one line at a time.

Every non-blank line yields exactly one Parsed, carrying its line number, so a sender can match each output
(bundle or OperationOutcome) to its input line; blank lines are not items and are skipped. Memory use does
not depend on the file's size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from fhir_family.errors import FhirFamilyError
from fhir_family.jsontext import parse_json

from .base import Parsed, Parser
from .payload import MSG_JSON, payload_to_record


class NdjsonParser(Parser):
    """Newline-delimited JSON payloads."""

    name = "ndjson"
    media_types = ("application/x-ndjson", "application/ndjson", "application/jsonl")
    extensions = (".ndjson", ".jsonl")
    batch = True

    def iter_parse(self, lines: Iterable[str]) -> Iterator[Parsed]:
        return map(self.check, self.iter_read(lines))

    def iter_read(self, lines: Iterable[str]) -> Iterator[tuple[int, str]]:
        """(line number, text) of each non-blank line."""
        return ((number, line) for number, line in enumerate(lines, 1) if line.strip())

    def check(self, item: tuple[int, str]) -> Parsed:
        number, line = item
        try:
            record = payload_to_record(_load_line(line, number), _locator(number))
            return Parsed(record=record, line=number)
        except FhirFamilyError as exc:
            return Parsed(record=None, line=number, error=exc)

    def describe(self) -> str:
        return "NDJSON: one JSON payload per line"


def _locator(number: int):
    return lambda pointer: f"line {number} {pointer}"


def _load_line(line: str, number: int) -> object:
    return parse_json(line.rstrip("\r\n"), MSG_JSON, first_line=number)
