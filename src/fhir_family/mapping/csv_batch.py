"""CSV batches: one row per child, the parent's fields repeated on each row, rows of a return adjacent.

Rows are grouped into one return while ``submissionId`` stays the same, turned into a JSON payload (contract
v2) and checked by the same code as ``/ehr/json``; a problem is reported at the CSV line and column it came
from. A return with no children is one row with the child columns empty. Only the current group is held in
memory, so a 1 GB file streams in constant memory; because of that, rows of one submission must be adjacent
(a later group with the same id becomes a second return with that id). The layout is in docs/payload.md.
"""

from __future__ import annotations

import csv
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Final

from fhir_family import messages as msg
from fhir_family.errors import FhirFamilyError, InputError, MappingError
from fhir_family.outcome import LINE_EXTENSION, Issue, IssueType

from .base import Parsed, Parser, error
from .lines import DecodedLines
from .payload import PAYLOAD_VERSION, payload_to_record

MSG_CSV = msg.MAP_CSV
MAX_ROWS_PER_RETURN: Final = 50
"""The payload allows at most 50 children; more rows in one group are reported, not held."""

PARENT_COLUMNS: Final = {
    "submissionId": "/submissionId",
    "reportingPeriodStart": "/reportingPeriod/start",
    "reportingPeriodEnd": "/reportingPeriod/end",
    "legalBasis": "/legalBasis",
    "providerOdsCode": "/provider/odsCode",
    "providerName": "/provider/name",
    "patientLocalId": "/patient/localId",
    "patientNhsNumber": "/patient/nhsNumber",
    "patientNhsNumberVerification": "/patient/nhsNumberVerification",
    "patientBirthDate": "/patient/birthDate",
    "patientGender": "/patient/gender",
    "patientLocalAuthority": "/patient/localAuthority",
    "episodeServiceRequestId": "/episode/serviceRequestId",
    "episodeTeamType": "/episode/teamType",
    "episodeStart": "/episode/start",
    "episodeEnd": "/episode/end",
    "episodeStatus": "/episode/status",
    "parentalStatus": "/parentalStatus/status",
    "childrenInHousehold": "/parentalStatus/childrenInHousehold",
    "expectingChild": "/parentalStatus/expectingChild",
    "expectedDueDate": "/parentalStatus/expectedDueDate",
    "unbornChildHelp": "/parentalStatus/unbornChildHelp",
    "dateAsked": "/parentalStatus/dateAsked",
    "askedBy": "/parentalStatus/askedBy",
    "statusSource": "/parentalStatus/source",
    "supportOffered": "/parentalStatus/supportOffered",
}
"""Parent columns -> JSON pointer in the payload; repeated on every row of a return."""

CHILD_COLUMNS: Final = {
    "childLocalId": "/localId",
    "childRelationship": "/relationship",
    "childBirthDate": "/birthDate",
    "childNhsNumber": "/nhsNumber",
    "childNhsNumberVerification": "/nhsNumberVerification",
    "childGender": "/gender",
    "childLocalAuthority": "/localAuthority",
    "childPrHeld": "/parentalResponsibility/held",
    "childPrBasis": "/parentalResponsibility/basis",
    "childPrRestriction": "/parentalResponsibility/restriction",
    "childResidence": "/residence",
    "childYoungCarer": "/youngCarer",
    "childHelp": "/help",
    "childThinkFamilyAction": "/thinkFamily/action",
    "childThinkFamilyOutcome": "/thinkFamily/outcome",
    "childEnded": "/ended",
}
"""Child columns -> JSON pointer under ``/children/{n}``; the list columns are codes separated by ``;``."""

DROPPED_COLUMNS: Final = frozenset(
    {"patientName", "patientAddress", "patientTelecom", "childName", "childAddress"}
)
"""Accepted so an EHR extract can be sent as it is; never read (a national return carries no names)."""

REQUIRED_COLUMNS: Final = (
    "submissionId", "reportingPeriodStart", "reportingPeriodEnd", "legalBasis", "providerOdsCode",
    "patientLocalId", "patientNhsNumber", "patientBirthDate", "patientGender", "episodeServiceRequestId",
    "episodeTeamType", "episodeStart", "episodeStatus", "parentalStatus", "childLocalId", "childRelationship",
    "childBirthDate", "childPrHeld", "childResidence", "childYoungCarer", "childHelp",
)
LIST_COLUMNS: Final = frozenset({"supportOffered", "childPrBasis", "childPrRestriction", "childHelp"})
INTEGER_COLUMNS: Final = frozenset({"childrenInHousehold"})
BOOLEAN_COLUMNS: Final = frozenset({"expectingChild"})
_BOOLEANS: Final = {"y": True, "yes": True, "true": True, "n": False, "no": False, "false": False}
ALL_COLUMNS: Final = (*PARENT_COLUMNS, *CHILD_COLUMNS)


def _cell_value(column: str, text: str) -> Any:
    """A cell as the payload's JSON type; text that does not convert is kept so the schema reports it."""
    if column in LIST_COLUMNS:
        return [part.strip() for part in text.split(";") if part.strip()]
    if column in INTEGER_COLUMNS and text.isdigit():
        return int(text)
    if column in BOOLEAN_COLUMNS and text.lower() in _BOOLEANS:
        return _BOOLEANS[text.lower()]
    return text


def _set(target: dict[str, Any], pointer: str, value: Any) -> None:
    parts = pointer.strip("/").split("/")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


@dataclass
class _Group:
    """The rows of one return: their line numbers and cells, plus problems found while reading them."""

    header: list[str]
    first_line: int
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    overflow: int = 0
    unreadable: bool = False  # a row was not UTF-8 or too long: its cells are not to be trusted or quoted

    def where(self, line: int, column: str | None) -> str:
        if column is None:
            return f"line {line}"
        return f"line {line}, column {self.header.index(column) + 1} ({column})"

    def locate(self, pointer: str) -> str:
        """JSON pointer in the built payload -> CSV line and column."""
        if pointer.startswith("/children/"):
            index_text, _, rest = pointer[len("/children/") :].partition("/")
            line = self.rows[int(index_text)][0] if index_text.isdigit() else self.first_line
            return self.where(line, self._column(f"/{rest}", CHILD_COLUMNS))
        return self.where(self.first_line, self._column(pointer, PARENT_COLUMNS))

    def _column(self, pointer: str, columns: dict[str, str]) -> str | None:
        """The column a pointer came from: its own (or its list's, for ``/help/1``); for a rule about a whole
        object (``/children/0/thinkFamily``), the object's first column; None when not in the header."""
        own = [column for column, at in columns.items() if pointer == at or pointer.startswith(at + "/")]
        inside = [column for column, at in columns.items() if pointer != "/" and at.startswith(pointer + "/")]
        found = next(iter(own or inside), None)
        return found if found in self.header else None

    def payload(self) -> dict[str, Any]:
        """The JSON payload these rows stand for; parent cells come from the first row."""
        first = self.rows[0][1]
        payload: dict[str, Any] = {"payloadVersion": PAYLOAD_VERSION, "children": []}
        for column, pointer in PARENT_COLUMNS.items():
            if first.get(column):
                _set(payload, pointer, _cell_value(column, first[column]))
        for line, row in self.rows:
            for column in PARENT_COLUMNS:
                if row.get(column, "") != first.get(column, ""):
                    text = (f"{column} is {row.get(column)!r} here but {first.get(column)!r} on line "
                            f"{self.first_line}: parent fields repeat unchanged on every row of a return")
                    self.issues.append(error(IssueType.VALUE, text, self.where(line, column), MSG_CSV))
            if not any(row.get(column) for column in CHILD_COLUMNS):
                if len(self.rows) > 1:
                    text = "Row has no child columns but the return has other rows: one row per child"
                    self.issues.append(error(IssueType.STRUCTURE, text, self.where(line, None), MSG_CSV))
                continue
            child: dict[str, Any] = {}
            for column, pointer in CHILD_COLUMNS.items():
                if row.get(column):
                    _set(child, pointer, _cell_value(column, row[column]))
            payload["children"].append(child)
        return payload


class CsvParser(Parser):
    """CSV extract, one row per child (docs/payload.md, "CSV layout")."""

    name = "csv"
    media_types = ("text/csv",)
    extensions = (".csv",)
    batch = True

    def iter_parse(self, lines: Iterable[str]) -> Iterator[Parsed]:
        """Returns as their rows end. One bad row fails only its own return, and reading goes on: a row that
        is not UTF-8 or too long (``DecodedLines(mark_bad=True)`` hands it on marked), a ragged row, and a
        row whose unterminated quote swallowed the lines after it (they are given back and read again)."""
        return map(self.check, self.iter_read(lines))

    def check(self, item: _Group | Parsed) -> Parsed:
        """A return's rows checked against the payload contract (a Parsed read as one already is)."""
        return _finish(item) if isinstance(item, _Group) else item

    def iter_read(self, lines: Iterable[str]) -> Iterator[_Group | Parsed]:
        """Each return's rows as they end (``check`` turns them into its Parsed), or the Parsed of what
        could not be read at all (the header, a row the csv module refuses)."""
        marked = lines.marked if isinstance(lines, DecodedLines) else {}
        physical = _Physical(lines)
        reader = csv.reader(physical)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield _unreadable(1, str(exc))
            return
        header = [name.strip().lstrip("\ufeff") for name in header]
        problems = _header_problems(header)
        if problems:
            exc = InputError("CSV header is not the documented layout", problems)
            yield Parsed(record=None, line=1, error=exc)
            return
        group: _Group | None = None
        physical.row_done()
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                line = physical.give_back()
                if group is not None:
                    yield group
                    group = None
                yield _unreadable(line, str(exc))
                continue
            row_lines = physical.row_done()
            line = row_lines[0] if row_lines else 0
            if len(row_lines) > 1 and len(cells) != len(header):
                # an unterminated quote ran on into the next lines: this line's cells only, the rest anew
                physical.give_back(row_lines)
                cells = next(csv.reader([physical.text(line)]), [])
                text = ("Row has an unterminated quote (\"): read as the line it starts on, the lines "
                        "after it read again")
                quote_issue: Issue | None = error(IssueType.STRUCTURE, text, f"line {line}", MSG_CSV)
            else:
                quote_issue = None
            if not any(cell.strip() for cell in cells):
                continue
            row = {name: cell.strip() for name, cell in zip(header, cells, strict=False)}
            if group is not None and row.get("submissionId", "") != group.rows[0][1].get("submissionId", ""):
                yield group
                group = None
            if group is None:
                group = _Group(header=header, first_line=line)
            for number in row_lines[:1] if quote_issue else row_lines:
                if number in marked:
                    group.issues.append(_marked_issue(number, marked[number]))
                    group.unreadable = True
            if quote_issue is not None:
                group.issues.append(quote_issue)
            elif len(cells) != len(header):
                text = f"Row has {len(cells)} cells but the header has {len(header)}"
                group.issues.append(error(IssueType.STRUCTURE, text, f"line {line}", MSG_CSV))
            if len(group.rows) >= MAX_ROWS_PER_RETURN:
                group.overflow += 1
                continue
            group.rows.append((line, row))
        if group is not None:
            yield group

    def describe(self) -> str:
        return "CSV: one row per child, parent fields repeated, rows of one return adjacent"


class _Physical:
    """The physical lines fed to ``csv.reader``, numbered and kept until their row ends, so the lines a row
    swallowed by mistake (an unterminated quote) can be given back and read again."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._source = iter(lines)
        self._number = 0
        self._again: deque[tuple[int, str]] = deque()
        self._taken: list[tuple[int, str]] = []
        self._kept: dict[int, str] = {}

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self._again:
            number, text = self._again.popleft()
        else:
            text = next(self._source)
            self._number += 1
            number = self._number
        self._taken.append((number, text))
        return text

    def row_done(self) -> list[int]:
        """The numbers of the lines the row just read came from; forgets them."""
        numbers = [number for number, _text in self._taken]
        self._kept = dict(self._taken)
        self._taken = []
        return numbers

    def text(self, number: int) -> str:
        """A line of the row just read."""
        return self._kept[number]

    def give_back(self, numbers: list[int] | None = None) -> int:
        """Read again every line after the first of the row just read (the one in progress when ``numbers``
        is None: a row the csv module refused); returns that first line's number."""
        taken = [(n, self._kept[n]) for n in numbers] if numbers is not None else self._taken
        self._taken = []
        if not taken:
            return self._number
        self._again.extendleft(reversed(taken[1:]))
        return taken[0][0]


def _marked_issue(line: int, problem: Exception) -> Issue:
    """The issue of a row ``DecodedLines`` handed on marked: not UTF-8, or longer than the line limit."""
    if isinstance(problem, UnicodeDecodeError):
        text = f"Line {line} is not UTF-8 text (byte {problem.start} of the line): this return was not read"
        return error(IssueType.STRUCTURE, text, f"line {line}", msg.MAP_ENCODING)
    text = f"Line {line} is longer than {getattr(problem, 'limit', '?')} bytes: this return was not read"
    return error(IssueType.TOO_LONG, text, f"line {line}", msg.LINE_TOO_LONG)


def _header_problems(header: list[str]) -> list[Issue]:
    problems = []
    for column in REQUIRED_COLUMNS:
        if column not in header:
            text = f"CSV header lacks the required column {column!r}"
            problems.append(error(IssueType.REQUIRED, text, "line 1", MSG_CSV))
    for number, column in enumerate(header, 1):
        if column not in ALL_COLUMNS and column not in DROPPED_COLUMNS:
            text = f"CSV header column {number} {column!r} is not part of the layout"
            problems.append(error(IssueType.STRUCTURE, text, f"line 1, column {number}", MSG_CSV))
        elif header.index(column) != number - 1:
            text = f"CSV header column {column!r} appears twice"
            problems.append(error(IssueType.STRUCTURE, text, f"line 1, column {number}", MSG_CSV))
    return problems


def _unreadable(line: int, reason: str) -> Parsed:
    issue = error(IssueType.STRUCTURE, f"CSV could not be read: {reason}", f"line {line}", MSG_CSV)
    return Parsed(record=None, line=line, error=InputError(f"CSV line {line} could not be read", [issue]))


_LINE = re.compile(r"^line (\d+)")


def _placed(issue: Issue, submission: str | None) -> Issue:
    """The issue's own CSV line as its issue-line extension (the row it names, not the return's first row),
    and the submission id in its diagnostics, so a reader of outcomes.ndjson can find the return."""
    location = (issue.extra.get("location") or [""])[0]
    found = _LINE.match(location)
    extra = dict(issue.extra)
    if found and not any(ext.get("url") == LINE_EXTENSION for ext in extra.get("extension", [])):
        line = {"url": LINE_EXTENSION, "valueInteger": int(found[1])}
        extra["extension"] = [*extra.get("extension", []), line]
    diagnostics = issue.diagnostics
    if submission and submission not in diagnostics:
        diagnostics = f"submission {submission}: {diagnostics}"
    return replace(issue, diagnostics=diagnostics, extra=extra)


def _finish(group: _Group) -> Parsed:
    """Turn one group of rows into a Parsed: its record, or every problem found in it."""
    payload = group.payload()
    if group.overflow:
        rows = len(group.rows) + group.overflow
        text = (f"{rows} rows share submissionId from line {group.first_line}: "
                f"a return holds at most {MAX_ROWS_PER_RETURN} children")
        group.issues.append(error(IssueType.TOO_LONG, text, f"line {group.first_line}", MSG_CSV))
    issues = list(group.issues)
    record = None
    try:
        if not group.unreadable:
            record = payload_to_record(payload, group.locate)
    except FhirFamilyError as exc:
        issues.extend(exc.issues)
    if issues:
        count = len(issues)
        submission = group.rows[0][1].get("submissionId") if group.rows else None
        issues = [_placed(issue, submission) for issue in issues]
        summary = f"CSV rows from line {group.first_line}: {count} problem{'s' * (count > 1)}"
        exc = MappingError(summary, issues)
        return Parsed(record=None, line=group.first_line, error=exc)
    return Parsed(record=record, line=group.first_line)
