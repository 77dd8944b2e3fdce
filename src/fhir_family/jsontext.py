"""Reading untrusted JSON text: every way it can fail becomes one InputError that says where.

``json.loads`` fails in three ways on hostile or broken input, and only one of them is a ``ValueError``
subclass that callers tend to catch: a document nested thousands deep raises ``RecursionError``, which would
otherwise surface as a 500. Every reader of request bodies, batch lines and files goes through here.
"""

from __future__ import annotations

import json
from typing import Any

from fhir_family import messages as msg

from .errors import InputError
from .outcome import Issue, IssueSeverity, IssueType


def parse_json(text: str | bytes, message_id: str, first_line: int = 1) -> Any:
    """The JSON value of ``text``; an InputError (location ``line L, column C``) when it is not JSON.

    ``first_line`` is the line of the enclosing input where ``text`` starts (an NDJSON line's number), so the
    location is a line the sender can find in the file they sent.
    """
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
        value = parse_json(text, msg.NOT_A_BUNDLE)
    except InputError:
        return None
    return value if isinstance(value, dict) and value.get("resourceType") == "Bundle" else None
