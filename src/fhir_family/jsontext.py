"""Reading untrusted JSON text: every way it can fail becomes one InputError that says where.

``json.loads`` fails in several ways on hostile or broken input, and only one of them is the
``JSONDecodeError`` callers tend to catch: a document nested thousands deep raises ``RecursionError``, an
integer of more than 4300 digits a plain ``ValueError``; each would otherwise surface as a 500. Documents
nested deeper than ``MAX_DEPTH`` are refused too, so every reader agrees on what it can process. Every
reader of request bodies, batch lines and files goes through here.
"""

from __future__ import annotations

import json
from typing import Any

from fhir_family import messages as msg

from .errors import InputError
from .outcome import Issue, IssueSeverity, IssueType

MAX_DEPTH = 64
"""Arrays and objects nested deeper than this are refused as unreadable (400) by every reader, so the facade
and the collector agree: a national return nests about 12 deep; a FHIR extension nested hundreds deep would
otherwise pass one server and exhaust the recursion of the other (issue 11)."""


def parse_json(text: str | bytes, message_id: str, first_line: int = 1) -> Any:
    """The JSON value of ``text``; an InputError (location ``line L, column C``) when it is not JSON.

    ``first_line`` is the line of the enclosing input where ``text`` starts (an NDJSON line's number), so the
    location is a line the sender can find in the file they sent.
    """
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        location = f"line {first_line + exc.lineno - 1}, column {exc.colno}"
        problem = exc.msg
    except UnicodeDecodeError as exc:
        location, problem = f"line {first_line}", f"not UTF-8 text (byte {exc.start})"
    except RecursionError:
        location, problem = f"line {first_line}", "nested too deeply to read"
    except ValueError:  # int() refuses more than sys.get_int_max_str_digits() (4300) digits
        location, problem = f"line {first_line}", "a number too long to read (more than 4300 digits)"
    else:
        if _deeper_than(value, MAX_DEPTH):
            location = f"line {first_line}"
            problem = f"nested deeper than {MAX_DEPTH} arrays and objects (the most this project reads)"
        else:
            return value
    diagnostics = f"Not valid JSON at {location}: {problem}"
    where = {"location": [location]}
    issue = Issue(IssueSeverity.ERROR, IssueType.STRUCTURE, diagnostics, None, message_id, where)
    raise InputError(f"not valid JSON ({location}): {problem}", [issue]) from None


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
