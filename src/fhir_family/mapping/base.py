"""The one interface every input format's parser implements, and the issue helpers they share.

A parser turns text into ``ReturnRecord``s (mapping/record.py); everything after that (build the Bundle,
validate, forward) is shared, so formats differ only here. Problems are reported as OperationOutcome issues
whose ``location`` names the place in the *input* (a JSON pointer, an HL7 segment and field such as
``NK1[2]-16``, a CSV line and column, an NDJSON line), because the sender fixes its input, not our Bundle.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from fhir_family.errors import FhirFamilyError, InputError
from fhir_family.outcome import Issue, IssueSeverity, IssueType

from .record import ReturnRecord


def located(
    severity: IssueSeverity,
    code: IssueType,
    diagnostics: str,
    location: str | None,
    message_id: str,
) -> Issue:
    """An issue pointing at a place in the input (``OperationOutcome.issue.location``, not a FHIRPath)."""
    extra = {"location": [location]} if location else {}
    return Issue(severity=severity, code=code, diagnostics=diagnostics, message_id=message_id, extra=extra)


def error(code: IssueType, diagnostics: str, location: str | None, message_id: str) -> Issue:
    return located(IssueSeverity.ERROR, code, diagnostics, location, message_id)


def warning(code: IssueType, diagnostics: str, location: str | None, message_id: str) -> Issue:
    return located(IssueSeverity.WARNING, code, diagnostics, location, message_id)


@dataclass(frozen=True)
class Parsed:
    """One item read from the input: a record (plus any warnings), or the error that stopped it.

    ``line`` is the 1-based line where the item starts in a batch (None for single documents), so a sender
    can find every failed item; a batch never stops at the first bad line.
    """

    record: ReturnRecord | None
    issues: tuple[Issue, ...] = ()
    line: int | None = None
    error: FhirFamilyError | None = None

    @property
    def all_issues(self) -> list[Issue]:
        """Warnings gathered while parsing followed by the error's issues, if it failed."""
        return list(self.issues) + (list(self.error.issues) if self.error else [])


class Parser(ABC):
    """Reads one input format. Single-document formats implement ``parse``; batch formats ``iter_parse``."""

    name: ClassVar[str]
    """The name used by ``--from`` and the factory."""
    media_types: ClassVar[tuple[str, ...]]
    """HTTP Content-Types this format arrives as (the first is the canonical one)."""
    extensions: ClassVar[tuple[str, ...]]
    """File name endings that select this format when ``--from`` is omitted."""
    batch: ClassVar[bool] = False
    """True when one input holds many returns (one Parsed per item, errors captured, never raised)."""

    def parse(self, text: str) -> Parsed:
        """Parse a single document; raise InputError (unreadable) or MappingError (unmappable)."""
        raise InputError(f"{self.name} input holds many returns; read it with iter_parse")

    def iter_parse(self, lines: Iterable[str]) -> Iterator[Parsed]:
        """Yield one Parsed per return, errors captured so one bad item never hides the rest.

        The default, for single-document formats, joins the lines and parses once.
        """
        try:
            yield self.parse("".join(lines))
        except FhirFamilyError as exc:
            yield Parsed(record=None, error=exc)

    def iter_read(self, lines: Iterable[str]) -> Iterator[Any]:
        """A batch's items as read, before their content is checked: ``check(item)`` makes each a Parsed,
        in order, as ``iter_parse`` would have. Checking (the payload contract) is most of reading a
        batch; split off, it can run in another process (``fhir-family map --jobs``). An item may already
        be a Parsed (an unreadable row, a bad header). The default reads and checks at once."""
        return self.iter_parse(lines)

    def check(self, item: Any) -> Parsed:
        """An item of ``iter_read`` as its Parsed (never raises for bad input)."""
        return item

    @abstractmethod
    def describe(self) -> str:
        """One line saying what this format is, for --help and the docs."""
