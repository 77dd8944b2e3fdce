"""Native Python for the simple FHIRPath the views mostly use, with fhirpathpy behind it for everything else.

fhirpathpy takes about 0.3 ms per evaluation, which makes a national month take tens of minutes. Most view
paths are a chain of steps from the resource: member names, ``extension(url)``, ``value.ofType(Type)``,
``first()``, ``exists()``, ``not()``, ``getResourceKey()``, ``getReferenceKey([Type])`` and
``where(field = 'literal' or field = %constant ...)``. ``compile_fast`` turns such a chain into plain Python
over the resource dict; any other path (operators at the top, other functions, ``$this``...) gets no fast
version. At run time the fast version answers only for a resource dict without primitive extensions
(``_birthDate``...) and otherwise hands the case back (``BAIL``), so fhirpathpy decides everything it does not
model. ``tests/test_analytics_fastpath.py`` proves the two agree on every view path over the examples and a
synthetic month, and the official suite runs through both.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

BAIL = object()
"""Returned when the fast version does not model this input: evaluate with fhirpathpy instead."""

Step = Callable[[list[Any], dict[str, Any]], Any]

_IDENT = r"[A-Za-z][A-Za-z0-9_]*"
_STRING = r"'(?:[^'\\]|\\.)*'"
_OPERAND = rf"(?:{_STRING}|%{_IDENT})"
_STEP = re.compile(rf"({_IDENT})(?:\((.*)\))?$", re.DOTALL)
_CONDITION = re.compile(rf"\s*({_IDENT})\s*=\s*({_OPERAND})\s*$")
_REFERENCE = re.compile(r"(?:^|/)([A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")
#: FHIRPath System types: ofType(String) is not the FHIR string of valueString, leave it to fhirpathpy
_SYSTEM_TYPES = {"String", "Boolean", "Integer", "Decimal", "Date", "DateTime", "Time"}
#: FHIRPath words that are operators or keywords, never member names
_KEYWORDS = {"and", "or", "xor", "implies", "is", "as", "in", "contains", "div", "mod", "true", "false"}


def _split_top(text: str, separator: str) -> list[str] | None:
    """Split on ``separator`` outside strings and parentheses; None if the text is not balanced."""
    parts, depth, start, index, quote = [], 0, 0, 0, False
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == "'":
                quote = False
        elif char == "'":
            quote = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                return None
        elif depth == 0 and text.startswith(separator, index):
            parts.append(text[start:index])
            start = index + len(separator)
            index = start
            continue
        index += 1
    if depth or quote:
        return None
    parts.append(text[start:])
    return parts


def _unquote(literal: str) -> str | None:
    body = literal[1:-1]
    return None if "\\" in body else body  # escapes: leave them to fhirpathpy


def _operand(text: str) -> Callable[[dict[str, Any]], Any] | None:
    if text.startswith("'"):
        value = _unquote(text)
        return None if value is None else (lambda _variables: value)
    name = text[1:]
    return lambda variables: variables.get(name, BAIL)


def _member(name: str) -> Step:
    def step(items: list[Any], _variables: dict[str, Any]) -> Any:
        out: list[Any] = []
        for item in items:
            if not isinstance(item, dict):
                return BAIL
            value = item.get(name)
            if value is None:
                if "_" + name in item or _has_choice(item, name):
                    return BAIL  # a primitive extension, or a choice element (value -> valueString ...)
                continue
            if isinstance(value, list):
                out.extend(value)
            else:
                out.append(value)
        return out

    return step


def _has_choice(item: dict[str, Any], name: str) -> bool:
    size = len(name)
    return any(len(key) > size and key.startswith(name) and key[size].isupper() for key in item)


def _of_type_member(name: str, type_name: str) -> Step | None:
    """``name.ofType(Type)`` on a choice element: the ``name<Type>`` key."""
    if type_name in _SYSTEM_TYPES:
        return None
    key = name + type_name[0].upper() + type_name[1:]

    def step(items: list[Any], _variables: dict[str, Any]) -> Any:
        out: list[Any] = []
        for item in items:
            if not isinstance(item, dict) or "_" + key in item or name in item:
                return BAIL
            value = item.get(key)
            if isinstance(value, list):
                return BAIL
            if value is not None:
                out.append(value)
        return out

    return step


def _extension(url: Callable[[dict[str, Any]], Any]) -> Step:
    def step(items: list[Any], variables: dict[str, Any]) -> Any:
        wanted = url(variables)
        if not isinstance(wanted, str):
            return BAIL
        out: list[Any] = []
        for item in items:
            if not isinstance(item, dict):
                return BAIL
            extensions = item.get("extension") or []
            out.extend(ext for ext in extensions if isinstance(ext, dict) and ext.get("url") == wanted)
        return out

    return step


def _where(conditions: list[tuple[str, Callable[[dict[str, Any]], Any]]]) -> Step:
    """``where(a = x or b = y ...)`` where each field is a single primitive string."""

    def step(items: list[Any], variables: dict[str, Any]) -> Any:
        wanted = [(field, operand(variables)) for field, operand in conditions]
        if any(not isinstance(value, str) for _field, value in wanted):
            return BAIL
        out: list[Any] = []
        for item in items:
            if not isinstance(item, dict):
                return BAIL
            for field, _value in wanted:
                actual = item.get(field)
                if actual is not None and not isinstance(actual, str):
                    return BAIL
            if any(item.get(field) == value for field, value in wanted):
                out.append(item)
        return out

    return step


def _resource_key(items: list[Any], _variables: dict[str, Any]) -> Any:
    return [item["id"] for item in items if isinstance(item, dict) and isinstance(item.get("id"), str)]


def _reference_key(type_name: str | None) -> Step:
    def step(items: list[Any], _variables: dict[str, Any]) -> Any:
        out = []
        for item in items:
            reference = item.get("reference") if isinstance(item, dict) else None
            match = _REFERENCE.search(reference) if isinstance(reference, str) else None
            if match and (type_name is None or match.group(1) == type_name):
                out.append(match.group(2))
        return out

    return step


def _first(items: list[Any], _variables: dict[str, Any]) -> Any:
    return items[:1]


def _exists(items: list[Any], _variables: dict[str, Any]) -> Any:
    return [bool(items)]


def _not(items: list[Any], _variables: dict[str, Any]) -> Any:
    if not items:
        return []
    if len(items) == 1 and isinstance(items[0], bool):
        return [not items[0]]
    return BAIL


def _function(name: str, argument: str) -> Step | None:
    argument = argument.strip()
    if name == "first" and not argument:
        return _first
    if name == "exists" and not argument:
        return _exists
    if name == "not" and not argument:
        return _not
    if name == "getResourceKey" and not argument:
        return _resource_key
    if name == "getReferenceKey":
        if not argument:
            return _reference_key(None)
        return _reference_key(argument) if re.fullmatch(_IDENT, argument) else None
    if name == "extension" and re.fullmatch(_OPERAND, argument):
        operand = _operand(argument)
        return _extension(operand) if operand else None
    if name == "where":
        terms = _split_top(argument, " or ")
        conditions = []
        for term in terms or []:
            match = _CONDITION.match(term)
            operand = _operand(match.group(2)) if match else None
            if not match or operand is None or match.group(1) in _KEYWORDS:
                return None
            conditions.append((match.group(1), operand))
        return _where(conditions) if conditions else None
    return None


def _chain(path: str) -> Callable[[Any, dict[str, Any]], Any] | None:
    """A chain of supported steps from the focus."""
    parts = _split_top(path.strip(), ".")
    if not parts or any(not part.strip() for part in parts):
        return None
    steps: list[Step] = []
    index = 0
    while index < len(parts):
        match = _STEP.match(parts[index].strip())
        if not match:
            return None
        name, argument = match.group(1), match.group(2)
        if argument is None:
            if name in _KEYWORDS or name[0].isupper():  # a type name (Patient.name) or an operator word
                return None
            following = parts[index + 1].strip() if index + 1 < len(parts) else ""
            of_type = re.fullmatch(rf"ofType\(\s*({_IDENT})\s*\)", following)
            if of_type:
                choice = _of_type_member(name, of_type.group(1))
                if choice is None:
                    return None
                steps.append(choice)
                index += 2
                continue
            steps.append(_member(name))
        else:
            step = _function(name, argument)
            if step is None:
                return None
            steps.append(step)
        index += 1

    def run(focus: Any, variables: dict[str, Any]) -> Any:
        items: list[Any] = [focus]
        for step in steps:
            items = step(items, variables)
            if items is BAIL:
                return BAIL
        return items

    return run


def _equals(left: Callable[[Any, dict[str, Any]], Any], operand: Callable[[dict[str, Any]], Any]):
    """``chain = 'literal'`` (or ``= %constant``) between strings: empty when the chain is empty."""

    def run(focus: Any, variables: dict[str, Any]) -> Any:
        items, value = left(focus, variables), operand(variables)
        if items is BAIL or not isinstance(value, str) or len(items) > 1:
            return BAIL
        if not items:
            return []
        return [items[0] == value] if isinstance(items[0], str) else BAIL

    return run


def _term(text: str) -> Callable[[Any, dict[str, Any]], Any] | None:
    sides = _split_top(text, " = ")
    if sides is None or len(sides) > 2:
        return None
    left = _chain(sides[0])
    if left is None or len(sides) == 1:
        return left
    operand_text = sides[1].strip()
    operand = _operand(operand_text) if re.fullmatch(_OPERAND, operand_text) else None
    return _equals(left, operand) if operand else None


def _or(terms: list[Callable[[Any, dict[str, Any]], Any]]):
    """FHIRPath's three-valued ``or`` over terms that each give one boolean or nothing."""

    def run(focus: Any, variables: dict[str, Any]) -> Any:
        unknown = False
        for term in terms:
            items = term(focus, variables)
            if items is BAIL or len(items) > 1 or (items and not isinstance(items[0], bool)):
                return BAIL
            if items == [True]:
                return [True]
            unknown = unknown or not items
        return [] if unknown else [False]

    return run


def compile_fast(path: str) -> Callable[[Any, dict[str, Any]], Any] | None:
    """A native version of ``path`` (chains of supported steps, ``chain = 'literal'``, joined by ``or``) if
    it has one, else None. The native version bails on anything but a resource dict without primitive
    extensions."""
    texts = _split_top(path.strip(), " or ")
    if not texts:
        return None
    terms = [_term(text) for text in texts]
    if any(term is None for term in terms):
        return None
    body = terms[0] if len(terms) == 1 else _or(terms)

    def run(focus: Any, variables: dict[str, Any]) -> Any:
        if not isinstance(focus, dict) or any(key.startswith("_") for key in focus):
            return BAIL
        return body(focus, variables)

    return run
