"""Reading untrusted JSON text: every way it can fail becomes one InputError that says where.

``json.loads`` fails in several ways on hostile or broken input, and only one of them is the
``JSONDecodeError`` callers tend to catch: a document nested thousands deep raises ``RecursionError``, an
integer of more than 4300 digits a plain ``ValueError``; each would otherwise surface as a 500. Documents
nested deeper than ``MAX_DEPTH`` are refused too, so every reader agrees on what it can process. Every
reader of request bodies, batch lines and files goes through here.

Speed: orjson (when installed: the facade and collector extras bring it) reads a valid document several
times faster than ``json``; any text it refuses is read again by ``json``, so what is accepted and every
error message stay exactly the stdlib's (orjson is stricter: NaN, very deep nesting). orjson reads an integer
past 64 bits as a float, so a text with a run of 19 or more digits goes to ``json`` directly.
"""

from __future__ import annotations

import json
from typing import Any

from fhir_family import messages as msg

try:
    import orjson
except ImportError:  # pragma: no cover - the [validator]-only install
    orjson = None

from .errors import InputError
from .outcome import Issue, IssueSeverity, IssueType

MAX_DEPTH = 64
"""Arrays and objects nested deeper than this are refused as unreadable (400) by every reader, so the facade
and the collector agree: a national return nests about 12 deep; a FHIR extension nested hundreds deep would
otherwise pass one server and exhaust the recursion of the other (issue 11)."""

_DIGIT_MARKS = bytes(1 if ord("0") <= code <= ord("9") else 0 for code in range(256))
_LONG_DIGIT_RUN = b"\x01" * 19


def _has_long_digit_run(text: str | bytes) -> bool:
    """Whether ``text`` holds 19 ASCII digits in a row (JSON numbers are ASCII digits only). One C pass
    (``bytes.translate``, then a substring search) instead of a regular expression, which tried a 19-digit
    match at every position: ~25x faster on a payload, and it ran on every document read."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return _LONG_DIGIT_RUN in data.translate(_DIGIT_MARKS)


def parse_json(text: str | bytes, message_id: str, first_line: int = 1) -> Any:
    """The JSON value of ``text``; an InputError (location ``line L, column C``) when it is not JSON.

    ``first_line`` is the line of the enclosing input where ``text`` starts (an NDJSON line's number), so the
    location is a line the sender can find in the file they sent.
    """
    value = _read(text)
    if isinstance(value, _Unreadable):
        location, problem = f"line {first_line + value.line - 1}", value.problem
        if value.column is not None:
            location += f", column {value.column}"
    elif _may_nest_deeper(text) and _deeper_than(value, MAX_DEPTH):  # every reader agrees on the limit
        location = f"line {first_line}"
        problem = f"nested deeper than {MAX_DEPTH} arrays and objects (the most this project reads)"
    else:
        return value
    diagnostics = f"Not valid JSON at {location}: {problem}"
    where = {"location": [location]}
    issue = Issue(
        severity=IssueSeverity.ERROR,
        code=IssueType.STRUCTURE,
        diagnostics=diagnostics,
        expression=None,
        message_id=message_id,
        extra=where,
    )
    raise InputError(f"not valid JSON ({location}): {problem}", [issue]) from None


class _Unreadable:
    """Why a text is not JSON, and where (line 1 is the text's first line)."""

    __slots__ = ("column", "line", "problem")

    def __init__(self, problem: str, line: int = 1, column: int | None = None) -> None:
        self.problem, self.line, self.column = problem, line, column


def _read(text: str | bytes) -> Any:
    """The JSON value (orjson when it can, else ``json``), or an ``_Unreadable`` saying why not."""
    if orjson is not None and not _has_long_digit_run(text):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # the stdlib decides, and words the error
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        return _Unreadable(exc.msg, exc.lineno, exc.colno)
    except UnicodeDecodeError as exc:
        return _Unreadable(f"not UTF-8 text (byte {exc.start})")
    except RecursionError:
        return _Unreadable("nested too deeply to read")
    except ValueError:  # int() refuses more than sys.get_int_max_str_digits() (4300) digits
        return _Unreadable("a number too long to read (more than 4300 digits)")


def _may_nest_deeper(text: str | bytes) -> bool:
    """False when ``text`` has too few ``[`` and ``{`` to nest deeper than ``MAX_DEPTH`` (a count in C, where
    walking the value took ~10x as long; a national return has a few dozen)."""
    if isinstance(text, str):
        return text.count("[") + text.count("{") > MAX_DEPTH
    return text.count(b"[") + text.count(b"{") > MAX_DEPTH


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` deep (iterative: no recursion to run out of)."""
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def json_bundle(text: str | bytes) -> dict[str, Any] | None:
    """``text`` as a FHIR Bundle (a JSON object with resourceType Bundle), or None when it is anything else
    (then it is some other input: an EHR payload, or unreadable, which its own parser reports)."""
    try:
        value = parse_json(text, msg.NOT_A_BUNDLE)
    except InputError:
        return None
    return value if isinstance(value, dict) and value.get("resourceType") == "Bundle" else None


def dumps_compact(value: Any) -> str:
    """Compact JSON, non-ASCII kept as is, key order as built: orjson when installed, else ``json`` (also
    for what orjson refuses, such as integers past 64 bits or NaN)."""
    if orjson is not None:
        try:
            return orjson.dumps(value).decode("utf-8")
        except (orjson.JSONEncodeError, TypeError):
            pass
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
