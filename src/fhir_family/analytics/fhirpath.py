"""FHIRPath for ViewDefinitions: fhirpathpy with the R4 model, plus the functions SQL on FHIR v2 requires and
fhirpathpy lacks, supplied as documented user functions.

Added here (SQL on FHIR v2, "required additional functions" of
https://sql-on-fhir.org/ig/StructureDefinition-ViewDefinition.html):

- ``getResourceKey()``: the resource's logical id, the key other rows join on.
- ``getReferenceKey([type])``: the id part of ``Reference.reference`` (``Type/id``, an absolute URL ending in
  ``Type/id``, or ``Type/id/_history/v``); with a type, empty unless the reference is to that type.
- ``lowBoundary()`` / ``highBoundary()`` (experimental in the suite) for decimals, dates, dateTimes and times.

Replaced here because fhirpathpy 2.2.4 gets them wrong for views: ``extension(url)`` (it returns only the
first match) and ``join()`` (empty input gives an empty collection, not ``''``).

fhirpathpy already has ``ofType``, ``first``, ``exists``, ``where`` and the rest of the "shareable"
subset. Expressions are compiled once and cached; evaluation returns fhirpathpy's raw nodes
(``returnRawData``) so a ``forEach`` focus keeps its type for ``ofType`` in nested paths.
"""

from __future__ import annotations

import calendar
import re
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from antlr4 import CommonTokenStream, InputStream, Token
from antlr4.error.ErrorListener import ErrorListener
from fhirpathpy import compile as fhirpath_compile
from fhirpathpy.engine.nodes import FP_Type, ResourceNode
from fhirpathpy.engine.util import get_data
from fhirpathpy.models import models
from fhirpathpy.parser.generated.FHIRPathLexer import FHIRPathLexer
from fhirpathpy.parser.generated.FHIRPathParser import FHIRPathParser

from .exceptions import ViewDefinitionError
from .fastpath import compile_fast

Compiled = Callable[[Any, dict[str, Any]], list[Any]]

_STRING_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'")
_REFERENCE = re.compile(r"(?:^|/)([A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


def _resource_key(inputs: list[Any]) -> list[Any]:
    return [item["id"] for item in inputs if isinstance(item, dict) and isinstance(item.get("id"), str)]


def _reference_key(inputs: list[Any], type_info: Any = None) -> list[Any]:
    wanted = getattr(type_info, "name", None) if type_info not in (None, []) else None
    keys = []
    for item in inputs:
        reference = item.get("reference") if isinstance(item, dict) else None
        match = _REFERENCE.search(reference) if isinstance(reference, str) else None
        if match and (wanted is None or match.group(1) == wanted):
            keys.append(match.group(2))
    return keys


def _precision_digits(value: Any) -> int:
    text = format(Decimal(str(value)), "f")
    return len(text.split(".")[1]) if "." in text else 0


def _decimal_boundary(value: Any, high: bool) -> Any:
    """The limit of the interval a decimal of that precision stands for (1.0 -> 0.95 .. 1.05)."""
    half = Decimal(5) / (Decimal(10) ** (_precision_digits(value) + 1))
    result = Decimal(str(value)) + (half if high else -half)
    return float(result)


_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_DATETIME = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?"
    r"(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
_TIME = re.compile(r"^(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?$")


def _date_parts(year: str, month: str | None, day: str | None, high: bool) -> tuple[int, int, int]:
    y = int(year)
    m = int(month) if month else (12 if high else 1)
    d = int(day) if day else (calendar.monthrange(y, m)[1] if high else 1)
    return y, m, d


def _time_parts(hh: str | None, mm: str | None, ss: str | None, frac: str | None, high: bool) -> str:
    h = hh or ("23" if high else "00")
    m = mm or ("59" if high else "00")
    s = ss or ("59" if high else "00")
    f = (frac + "000")[:3] if frac else ("999" if high else "000")
    return f"{h}:{m}:{s}.{f}"


def _boundary(inputs: list[Any], high: bool) -> list[Any]:
    if len(inputs) != 1:
        return []
    value = inputs[0]
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float, Decimal)):
        return [_decimal_boundary(value, high)]
    text = str(value) if isinstance(value, (str, FP_Type)) else None
    if text is None:
        return []
    if text.startswith("@"):
        text = text[1:]
    if match := _DATE.match(text):
        y, m, d = _date_parts(*match.groups(), high)
        return [f"{y:04d}-{m:02d}-{d:02d}"]
    if match := _DATETIME.match(text):
        year, month, day, hh, mm, ss, frac, zone = match.groups()
        y, m, d = _date_parts(year, month, day, high)
        # Without a zone the instant could lie anywhere from +14:00 to -12:00.
        zone = zone or ("-12:00" if high else "+14:00")
        return [f"{y:04d}-{m:02d}-{d:02d}T{_time_parts(hh, mm, ss, frac, high)}{zone}"]
    if text.startswith("T"):
        text = text[1:]
    if match := _TIME.match(text):
        return [_time_parts(*match.groups(), high)]
    return []


def _extension(inputs: list[Any], url: Any) -> list[Any]:
    """``extension(url)``: every matching extension. fhirpathpy 2.2.4 returns only the first, which would drop
    the second help-and-protection code of a child (it repeats)."""
    return [
        ResourceNode.create_node(ext, "Extension")
        for element in inputs
        if isinstance(element, dict)
        for ext in element.get("extension") or []
        if isinstance(ext, dict) and ext.get("url") == url
    ]


def _join(inputs: list[Any], separator: Any = "") -> list[Any]:
    """``join()``: fhirpathpy gives an empty collection for no input; SQL on FHIR expects the empty string."""
    if any(not isinstance(item, str) for item in inputs):
        raise ViewDefinitionError("join() needs a collection of strings")
    glue = separator if isinstance(separator, str) else ""
    return [glue.join(inputs)]


USER_FUNCTIONS: dict[str, dict[str, Any]] = {
    "getResourceKey": {"fn": _resource_key, "arity": {0: []}},
    "getReferenceKey": {"fn": _reference_key, "arity": {0: [], 1: ["TypeSpecifier"]}},
    "extension": {"fn": _extension, "arity": {1: ["String"]}},
    "join": {"fn": _join, "arity": {0: [], 1: ["String"]}},
    "lowBoundary": {"fn": lambda inputs: _boundary(inputs, high=False), "arity": {0: []}},
    "highBoundary": {"fn": lambda inputs: _boundary(inputs, high=True), "arity": {0: []}},
}

_OPTIONS = {"userInvocationTable": USER_FUNCTIONS, "returnRawData": True, "traceFn": lambda *a, **k: None}
_LOCK = threading.Lock()
_CACHE: dict[str, Compiled] = {}
_FAST_CACHE: dict[str, Any] = {}


class _RaiseOnSyntaxError(ErrorListener):
    def syntaxError(self, recognizer, offendingSymbol, line, column, msg, e):  # noqa: N802, ANN001 - ANTLR's
        raise ValueError(f"column {column + 1}: {msg}")


def check_syntax(path: str) -> None:
    """Raise ValueError unless ``path`` is one whole FHIRPath expression. fhirpathpy's own parser recovers
    from syntax errors silently (``name..family``, ``name.family)`` compile), so a broken view would run."""
    listener = _RaiseOnSyntaxError()
    lexer = FHIRPathLexer(InputStream(path))
    lexer.removeErrorListeners()
    lexer.addErrorListener(listener)
    tokens = CommonTokenStream(lexer)
    parser = FHIRPathParser(tokens)
    parser.removeErrorListeners()
    parser.addErrorListener(listener)
    parser.expression()
    if tokens.LA(1) != Token.EOF:
        raise ValueError(f"unexpected {tokens.LT(1).text!r} at column {tokens.LT(1).column + 1}")


def compile_path(path: Any, at: str) -> Compiled:
    """A compiled expression; a ViewDefinitionError naming ``at`` if it is not a FHIRPath string."""
    if not isinstance(path, str) or not path.strip():
        raise ViewDefinitionError(f"{at}: expected a FHIRPath expression (non-empty string), got {path!r}")
    compiled = _CACHE.get(path)
    if compiled is None:
        # fhirpathpy has no $this outside a function argument; at the top of a path it is the focus itself,
        # which select() provides.
        source = f"select({path})" if "$this" in _STRING_LITERAL.sub("''", path) else path
        try:
            check_syntax(path)
            compiled = fhirpath_compile(source, models["r4"], _OPTIONS)
        except Exception as exc:  # fhirpathpy raises bare exceptions for syntax errors
            raise ViewDefinitionError(f"{at}: not a valid FHIRPath expression {path!r} ({exc})") from exc
        with _LOCK:
            _CACHE[path] = compiled
    return compiled


def fast_path(path: str) -> Callable[[Any, dict[str, Any]], Any] | None:
    """The native version of a simple path (``fastpath.py``), or None; cached like the compiled ones."""
    if path not in _FAST_CACHE:
        fast = compile_fast(path)
        with _LOCK:
            _FAST_CACHE[path] = fast
    return _FAST_CACHE[path]


def evaluate(compiled: Compiled, focus: Any, variables: dict[str, Any], at: str) -> list[Any]:
    """Evaluate on a focus (a resource dict or a node from an earlier evaluation); errors name ``at``."""
    try:
        return list(compiled(focus, variables))
    except ViewDefinitionError:
        raise
    except Exception as exc:  # e.g. join() over non-strings, a function called with the wrong arguments
        raise ViewDefinitionError(f"{at}: evaluation failed ({exc})") from exc


def to_value(item: Any) -> Any:
    """A plain JSON-like value for a column: FHIRPath dates/times as their ISO text, quantities as text."""
    data = get_data(item)  # a node's data; floats become Decimal, as fhirpathpy hands them out
    if isinstance(data, FP_Type):
        return str(data)
    if isinstance(data, Decimal):
        return int(data) if data == data.to_integral_value() else float(data)
    return data
