"""The payload schema compiled to Python once (fastjsonschema), to answer "valid" fast for valid payloads.

jsonschema interprets the schema on every payload: about a quarter of mapping a JSON payload. fastjsonschema
generates Python code for the schema once, at first use, and runs ~10x faster. It only ever answers "this
payload conforms": when it says anything else, ``payload.schema_issues`` asks jsonschema, which stays the one
source of the issues (their wording, order and locations are unchanged). So a difference between the two can
cost speed, never let a bad payload through, provided the compiled check never accepts what jsonschema
refuses; to keep it so:

- the schema is compiled only if every keyword in it is one fastjsonschema implements as Draft 2020-12 does
  (the draft-07 vocabulary the payload schema uses; ``$defs`` references are inlined first); a schema that
  adopts another keyword silently turns this off (``compiled_check`` returns None);
- formats are checked by jsonschema's own format checker, not fastjsonschema's regular expressions (its
  ``date`` accepts 2026-02-30);
- tests/test_mapping_payload_fast.py throws thousands of mutated payloads at both and fails on any payload
  the compiled check accepts and jsonschema refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator

SUPPORTED = frozenset(
    {
        "$schema", "$id", "$defs", "title", "description", "type", "properties", "required",
        "additionalProperties", "items", "enum", "const", "format", "pattern", "minLength", "maxLength",
        "minimum", "maximum", "minItems", "maxItems", "uniqueItems", "anyOf", "allOf", "oneOf", "not", "if",
        "then", "else", "contains", "dependentRequired",
    }
)
"""Keywords fastjsonschema's draft-07 code implements as Draft 2020-12 defines them (``dependentRequired`` as
draft-07's array-form ``dependencies``, which means the same)."""
DRAFT_07 = "http://json-schema.org/draft-07/schema#"


def _keywords(node: Any, found: set[str]) -> set[str]:
    if isinstance(node, list):
        for item in node:
            _keywords(item, found)
    elif isinstance(node, dict):
        for key, value in node.items():
            found.add(key)
            if key in ("properties", "$defs"):
                for child in value.values():
                    _keywords(child, found)
            elif key not in ("enum", "const", "dependentRequired"):
                _keywords(value, found)
    return found


def _as_draft_07(node: Any, names: bool = False) -> Any:
    """``dependentRequired`` (2019-09) spelled as draft-07's ``dependencies`` with property-name arrays, and
    ``const: x`` as ``enum: [x]`` (the same rule; fastjsonschema cannot generate ``const`` without detailed
    exceptions). ``names``: ``node`` maps property names to schemas (``properties``), so its keys stay."""
    if isinstance(node, list):
        return [_as_draft_07(item) for item in node]
    if not isinstance(node, dict):
        return node
    if names:
        return {key: _as_draft_07(value) for key, value in node.items()}
    converted: dict[str, Any] = {}
    for key, value in node.items():
        if key == "dependentRequired":
            converted["dependencies"] = value
        elif key == "const":
            converted["enum"] = [value]
        elif key == "enum":
            converted[key] = value
        else:
            converted[key] = _as_draft_07(value, names=key == "properties")
    return converted


def compile_conforms(flat_schema: dict[str, Any]) -> Callable[[Any], bool] | None:
    """``conforms(payload)`` for a schema whose ``$defs`` references are inlined (``payload.inline_refs``),
    or None when it uses a keyword outside ``SUPPORTED``, still holds a ``$ref`` (a recursive definition),
    or fastjsonschema is not installed."""
    try:
        import fastjsonschema
    except ImportError:  # an optional speed-up: jsonschema alone gives the same answers
        return None
    schema = {key: value for key, value in flat_schema.items() if key != "$defs"}  # inlined already
    if not _keywords(schema, set()) <= SUPPORTED - {"$defs"}:
        return None
    schema = _as_draft_07(schema)
    schema["$schema"] = DRAFT_07
    checker = Draft202012Validator.FORMAT_CHECKER
    formats = {name: (lambda value, name=name: checker.conforms(value, name)) for name in checker.checkers}
    # Without detailed exceptions: a failing ``if`` (tried on every payload) no longer builds a message and a
    # copy of its schema only to be caught (~30% of the check); the answer is only ever "conforms" or not.
    validate = fastjsonschema.compile(schema, formats=formats, use_default=False, detailed_exceptions=False)

    def conforms(payload: Any) -> bool:
        try:
            validate(payload)
        except fastjsonschema.JsonSchemaException:
            return False
        except Exception:  # noqa: BLE001 - any surprise in generated code: let jsonschema decide
            return False
        return True

    return conforms
