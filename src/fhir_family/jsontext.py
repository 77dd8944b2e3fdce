"""Reading untrusted JSON text: every way it can fail becomes one InputError that says where.

``json.loads`` fails in three ways on hostile or broken input, and only one of them is a ``ValueError``
subclass that callers tend to catch: a document nested thousands deep raises ``RecursionError``, which would
otherwise surface as a 500. Every reader of request bodies, batch lines and files goes through here.

Speed: orjson (when installed: the facade and collector extras bring it) reads a valid document several
times faster than ``json``; any text it refuses is read again by ``json``, so what is accepted and every
error message stay exactly the stdlib's (orjson is stricter: NaN, very deep nesting). orjson reads an integer
past 64 bits as a float, so a text with a run of 19 or more digits goes to ``json`` directly.
"""

from __future__ import annotations

import json
import re
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - the [validator]-only install
    orjson = None

from .errors import InputError
from .outcome import Issue, IssueSeverity, IssueType

_LONG_DIGITS_TEXT = re.compile(r"\d{19}")
_LONG_DIGITS_BYTES = re.compile(rb"\d{19}")


def parse_json(text: str | bytes, message_id: str, first_line: int = 1) -> Any:
    """The JSON value of ``text``; an InputError (location ``line L, column C``) when it is not JSON.

    ``first_line`` is the line of the enclosing input where ``text`` starts (an NDJSON line's number), so the
    location is a line the sender can find in the file they sent.
    """
    long_digits = _LONG_DIGITS_TEXT if isinstance(text, str) else _LONG_DIGITS_BYTES
    if orjson is not None and not long_digits.search(text):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # the stdlib decides, and words the error
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        location = f"line {first_line + exc.lineno - 1}, column {exc.colno}"
        problem = exc.msg
    except UnicodeDecodeError as exc:
        location, problem = f"line {first_line}", f"not UTF-8 text (byte {exc.start})"
    except RecursionError:
        location, problem = f"line {first_line}", "nested too deeply to read"
    diagnostics = f"Not valid JSON at {location}: {problem}"
    where = {"location": [location]}
    issue = Issue(IssueSeverity.ERROR, IssueType.STRUCTURE, diagnostics, None, message_id, where)
    raise InputError(f"not valid JSON ({location}): {problem}", [issue]) from None


def json_bundle(text: str | bytes) -> dict[str, Any] | None:
    """``text`` as a FHIR Bundle (a JSON object with resourceType Bundle), or None when it is anything else
    (then it is some other input: an EHR payload, or unreadable, which its own parser reports)."""
    try:
        value = parse_json(text, "FF-NOT-A-BUNDLE")
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
