"""FHIR primitive types: which JSON type carries each, and the lexical rule it must match.

The regular expressions are read from the genuine core StructureDefinitions (``<type>.value`` carries the
``regex`` extension), not copied by hand, so the validator follows R4 exactly. What JSON type carries each
primitive is fixed by the R4 JSON format (http://hl7.org/fhir/R4/json.html#primitive): booleans as JSON
true/false, integers and decimals as JSON numbers, everything else as JSON strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

REGEX_EXTENSION = "http://hl7.org/fhir/StructureDefinition/regex"

PRIMITIVE_TYPES = (
    "boolean",
    "integer",
    "string",
    "decimal",
    "uri",
    "url",
    "canonical",
    "base64Binary",
    "instant",
    "date",
    "dateTime",
    "time",
    "code",
    "oid",
    "id",
    "markdown",
    "unsignedInt",
    "positiveInt",
    "uuid",
    "xhtml",
)
INTEGER_TYPES = {"integer", "unsignedInt", "positiveInt"}
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

# A length the core regex for id does not state (R4 datatypes.html#id: 1 to 64 characters).
_EXTRA_MAX_LENGTH = {"id": 64}
#: types whose values recur in every return (codes, code and identifier systems, canonicals): a value that
#: matched once is remembered, so the next check is a set look-up instead of a regex. Not ``url`` (an
#: attachment's or endpoint's address may name a person) nor any free-text type.
_REMEMBERED_TYPES = {"code", "uri", "canonical"}
_REMEMBER_AT_MOST = 4096  # then start afresh, so values seen once (fullUrls) cannot crowd out the rest


@dataclass(frozen=True, slots=True)
class Primitive:
    """One primitive type: its name, the JSON type that carries it and its compiled lexical rule."""

    name: str
    json_kind: str  # "boolean" | "integer" | "decimal" | "string"
    pattern: re.Pattern[str] | None
    #: values known to match (only for ``_REMEMBERED_TYPES``; None: this type's values are not remembered)
    valid: set[str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.name in _REMEMBERED_TYPES:
            object.__setattr__(self, "valid", set())

    def check(self, value: Any) -> str | None:
        """None when ``value`` is a valid JSON representation of this type, otherwise why it is not."""
        kind = self.json_kind
        if kind == "boolean":
            return (
                None if isinstance(value, bool) else f"a JSON boolean (true/false), found {_describe(value)}"
            )
        if kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                return f"a JSON integer, found {_describe(value)}"
            return _integer_range(self.name, value)
        if kind == "decimal":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return f"a JSON number, found {_describe(value)}"
            return None
        if not isinstance(value, str):
            return f"a JSON string, found {_describe(value)}"
        return None

    def check_format(self, value: str) -> bool:
        """True when a string value matches the type's lexical rule."""
        valid = self.valid
        if valid is not None:
            if value in valid:
                return True
            if self.pattern is not None and self.pattern.fullmatch(value) is None:
                return False
            if len(valid) >= _REMEMBER_AT_MOST:
                valid.clear()
            valid.add(value)
            return True
        limit = _EXTRA_MAX_LENGTH.get(self.name)
        if limit is not None and len(value) > limit:
            return False
        if self.pattern is not None and self.pattern.fullmatch(value) is None:
            return False
        if self.name in _DATE_TYPES and len(value) >= 10:
            return _real_day(value[:10])
        return True


_DATE_TYPES = {"date", "dateTime", "instant"}


def _real_day(text: str) -> bool:
    """The regexes allow 31 days in every month; a date must also exist in the calendar (no 2021-02-29)."""
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _integer_range(name: str, value: int) -> str | None:
    if name == "positiveInt" and value < 1:
        return f"a positive integer (1 or more), found {value}"
    if name == "unsignedInt" and value < 0:
        return f"a non-negative integer, found {value}"
    if not INT32_MIN <= value <= INT32_MAX:
        return f"a 32-bit integer, found {value}"
    return None


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"number {value}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def describe(value: Any) -> str:
    """A short plain-English description of a JSON value for diagnostics."""
    return _describe(value)


def json_kind(name: str) -> str:
    if name == "boolean":
        return "boolean"
    if name in INTEGER_TYPES:
        return "integer"
    if name == "decimal":
        return "decimal"
    return "string"


def load_primitives(structure_definition) -> dict[str, Primitive]:
    """Every R4 primitive type with the regex taken from its core StructureDefinition."""
    primitives = {}
    for name in PRIMITIVE_TYPES:
        sd = structure_definition(name)
        regex = None
        if sd is not None:
            for element in sd.get("snapshot", {}).get("element", []):
                if element.get("path") != f"{name}.value":
                    continue
                for type_ in element.get("type", []):
                    for ext in type_.get("extension", []):
                        if ext.get("url") == REGEX_EXTENSION:
                            regex = ext.get("valueString")
        # integers and decimals are checked as JSON numbers; their regexes describe the XML/text form
        # ASCII classes as in the Java/XML Schema regexes the definitions were written for (Python's Unicode
        # \s would make \S reject a no-break space inside a string)
        compiled = re.compile(regex, re.ASCII) if regex and json_kind(name) == "string" else None
        primitives[name] = Primitive(name, json_kind(name), compiled)
    return primitives
