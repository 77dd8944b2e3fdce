"""Line and column of each issue in the JSON text it came from, as the HL7 validator reports them.

The validator works on parsed JSON (a dict), so it knows FHIRPath expressions but not where in the text
they are. When the caller still has the text (the CLI, the facade), ``add_locations`` scans it once,
recording where every value starts, and adds the standard ``operationoutcome-issue-line`` / ``-col``
extensions to each issue. An element that is missing points at the object that should hold it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..outcome import COLUMN_EXTENSION, LINE_EXTENSION

Path = tuple[Any, ...]  # keys, indices, and ("key", name) for where a member's key starts
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_STEP = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)(?:\.ofType\(([A-Za-z]+)\))?(?:\[(\d+)\])?")


class _Scanner:
    """Records the offset where each value (and each object key) starts, by JSON path."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts: dict[Path, int] = {}

    def skip(self, pos: int) -> int:
        return _WHITESPACE.match(self.text, pos).end()  # type: ignore[union-attr]

    def value(self, pos: int, path: Path) -> int:
        pos = self.skip(pos)
        self.starts.setdefault(path, pos)
        char = self.text[pos : pos + 1]
        if char == "{":
            pos = self.skip(pos + 1)
            if self.text[pos : pos + 1] == "}":
                return pos + 1
            while True:
                pos = self.skip(pos)
                key, end = json.decoder.scanstring(self.text, pos + 1)
                self.starts.setdefault((*path, ("key", key)), pos)
                pos = self.skip(end)
                pos = self.value(pos + 1, (*path, key))  # after ':'
                pos = self.skip(pos)
                if self.text[pos] == "}":
                    return pos + 1
                pos += 1  # ','
        if char == "[":
            pos = self.skip(pos + 1)
            if self.text[pos : pos + 1] == "]":
                return pos + 1
            index = 0
            while True:
                pos = self.skip(self.value(pos, (*path, index)))
                index += 1
                if self.text[pos] == "]":
                    return pos + 1
                pos += 1
        if char == '"':
            return json.decoder.scanstring(self.text, pos + 1)[1]
        for literal in ("true", "false", "null"):
            if self.text.startswith(literal, pos):
                return pos + len(literal)
        match = _NUMBER.match(self.text, pos)
        if match is None:
            raise ValueError(f"not JSON at offset {pos}")
        return match.end()


def value_starts(text: str) -> dict[Path, int]:
    """Offset of every value in a JSON document, keyed by its path (keys and array indices)."""
    scanner = _Scanner(text)
    scanner.value(0, ())
    return scanner.starts


def json_path(expression: str) -> list[Path]:
    """Candidate JSON paths for a FHIRPath issue expression, most precise first.

    ``Bundle.entry[1].resource.extension[0].value.ofType(CodeableConcept)`` ->
    ``("entry", 1, "resource", "extension", 0, "valueCodeableConcept")``; a step that names a primitive's
    extension (``birthDate.extension``) may also be spelt ``_birthDate`` in JSON.
    """
    head, _, rest = expression.partition(".")
    steps: list[tuple[str, str | None, int | None]] = []
    for match in _STEP.finditer("." + rest if rest else ""):
        name, type_name, index = match.group(1), match.group(2), match.group(3)
        steps.append((name, type_name, int(index) if index is not None else None))
    paths: list[Path] = [()]
    for name, type_name, index in steps:
        key = name + type_name[0].upper() + type_name[1:] if type_name else name
        extended = []
        for path in paths:
            extended.append((*path, key))
            if name == "extension" and path and isinstance(path[-1], str) and not path[-1].startswith("_"):
                extended.append((*path[:-1], "_" + path[-1], key))  # birthDate.extension -> _birthDate
        paths = [(*p, index) if index is not None else p for p in extended]
    return paths


def _position(starts: dict[Path, int], path: Path) -> int | None:
    """Where a path starts; an object member is pointed at by its key (where a reader looks for it)."""
    if path and isinstance(path[-1], str):
        key = starts.get((*path[:-1], ("key", path[-1])))
        if key is not None:
            return key
    return starts.get(path)


def locate(starts: dict[Path, int], text: str, expression: str) -> tuple[int, int] | None:
    """(line, column), both from 1, of an expression's element; the nearest present ancestor if missing."""
    candidates = json_path(expression)
    position = next((p for p in (_position(starts, path) for path in candidates) if p is not None), None)
    if position is None:
        primary = candidates[0]
        for length in range(len(primary) - 1, -1, -1):
            position = _position(starts, primary[:length])
            if position is not None:
                break
    if position is None:
        return None
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return line, column


def add_locations(outcome: dict[str, Any], text: str) -> dict[str, Any]:
    """The OperationOutcome with line/column extensions on every issue that has an expression."""
    try:
        starts = value_starts(text)
    except (ValueError, IndexError):
        return outcome  # not the JSON the outcome was made from: leave it as it is
    for issue in outcome.get("issue", []):
        expressions = issue.get("expression") or []
        found = locate(starts, text, expressions[0]) if expressions else None
        if found is None:
            continue
        line, column = found
        extensions = [
            e for e in issue.get("extension", []) if e.get("url") not in (LINE_EXTENSION, COLUMN_EXTENSION)
        ]
        extensions += [
            {"url": LINE_EXTENSION, "valueInteger": line},
            {"url": COLUMN_EXTENSION, "valueInteger": column},
        ]
        issue["extension"] = extensions
    return outcome
