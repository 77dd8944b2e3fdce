"""Read a SQL on FHIR v2 ViewDefinition (JSON) into a checked, compiled tree before any resource is touched.

Everything the specification lets a runner reject up front is rejected here, with the place in the view:
no ``resource``, a ``select`` that is not a list of objects, a path that is not FHIRPath, column names that
are not SQL-friendly or repeat, ``unionAll`` branches whose columns differ in name or order, a constant
without a value, a ``%name`` that is neither a constant nor ``%rowIndex``/``%resource``/``%context``.

https://sql-on-fhir.org/ig/StructureDefinition-ViewDefinition.html
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .exceptions import ViewDefinitionError
from .fhirpath import Compiled, compile_path, fast_path

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_STRING_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'")
_VARIABLE = re.compile(r"%([A-Za-z_][A-Za-z0-9_]*)")
#: variables every path may use besides the view's constants
BUILT_IN_VARIABLES = frozenset({"rowIndex", "resource", "rootResource", "context", "ucum", "sct", "loinc"})


@dataclass(frozen=True)
class Column:
    name: str
    path: str
    compiled: Compiled
    type: str | None
    collection: bool
    fast: Callable[[Any, dict[str, Any]], Any] | None = None
    """Native evaluation of a simple path on the resource itself (fastpath.py), or None."""


@dataclass(frozen=True)
class Select:
    """One ``select`` element: its own columns, nested selects and ``unionAll`` branches, over a focus."""

    at: str
    """Where it sits in the view (``ViewDefinition.select[1].select[0]``), for error messages."""
    columns: tuple[Column, ...] = ()
    selects: tuple[Select, ...] = ()
    union_all: tuple[Select, ...] = ()
    for_each: Compiled | None = None
    or_null: bool = False
    repeat: tuple[Compiled, ...] = ()

    @property
    def iterates(self) -> bool:
        return self.for_each is not None or bool(self.repeat)

    def column_names(self) -> list[str]:
        """Output order: own columns, then nested selects, then the unionAll (all branches share names)."""
        names = [c.name for c in self.columns]
        for sub in self.selects:
            names += sub.column_names()
        if self.union_all:
            names += self.union_all[0].column_names()
        return names


@dataclass(frozen=True)
class ViewDefinition:
    resource: str
    name: str | None
    root: Select
    where: tuple[tuple[str, Compiled], ...]
    constants: dict[str, Any] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """The JSON it was read from (sent to Spark executors, which compile it again)."""

    @property
    def columns(self) -> list[str]:
        return self.root.column_names()

    @property
    def column_types(self) -> dict[str, tuple[str | None, bool]]:
        """Column name -> (declared FHIR type, collection), for typed tables downstream."""
        out: dict[str, tuple[str | None, bool]] = {}

        def walk(select: Select) -> None:
            for column in select.columns:
                out.setdefault(column.name, (column.type, column.collection))
            for sub in (*select.selects, *select.union_all):
                walk(sub)

        walk(self.root)
        return out


def _constants(view: dict[str, Any]) -> dict[str, Any]:
    raw = view.get("constant", [])
    if not isinstance(raw, list):
        raise ViewDefinitionError("ViewDefinition.constant must be a list")
    constants: dict[str, Any] = {}
    for index, constant in enumerate(raw):
        at = f"ViewDefinition.constant[{index}]"
        if not isinstance(constant, dict) or not isinstance(constant.get("name"), str):
            raise ViewDefinitionError(f"{at}: a constant needs a name")
        values = [key for key in constant if key.startswith("value")]
        if len(values) != 1:
            raise ViewDefinitionError(f"{at} ({constant['name']}): a constant needs exactly one value[x]")
        constants[constant["name"]] = constant[values[0]]
    return constants


class _Reader:
    """Walks the view once, compiling paths and checking names and variables as it goes."""

    def __init__(self, constants: dict[str, Any]) -> None:
        self.known_variables = BUILT_IN_VARIABLES | set(constants)

    def path(self, value: Any, at: str) -> Compiled:
        compiled = compile_path(value, at)
        for name in _VARIABLE.findall(_STRING_LITERAL.sub("''", value)):
            if name not in self.known_variables:
                raise ViewDefinitionError(f"{at}: %{name} is not a constant of this view")
        return compiled

    def column(self, raw: Any, at: str) -> Column:
        if not isinstance(raw, dict):
            raise ViewDefinitionError(f"{at}: a column must be an object")
        name = raw.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ViewDefinitionError(
                f"{at}.name: {name!r} is not a valid column name (a letter, then letters, digits or _)"
            )
        collection = raw.get("collection", False)
        if not isinstance(collection, bool):
            raise ViewDefinitionError(f"{at}.collection must be true or false")
        column_type = raw.get("type")
        if column_type is not None and not isinstance(column_type, str):
            raise ViewDefinitionError(f"{at}.type must be a string")
        path = raw.get("path")
        compiled = self.path(path, f"{at}.path")
        return Column(name, path, compiled, column_type, collection, fast_path(path))

    def select(self, raw: Any, at: str) -> Select:
        if not isinstance(raw, dict):
            raise ViewDefinitionError(f"{at}: a select must be an object")
        for_each, or_null = None, False
        if "forEach" in raw and "forEachOrNull" in raw:
            raise ViewDefinitionError(f"{at}: give forEach or forEachOrNull, not both")
        if "forEach" in raw:
            for_each = self.path(raw["forEach"], f"{at}.forEach")
        elif "forEachOrNull" in raw:
            for_each, or_null = self.path(raw["forEachOrNull"], f"{at}.forEachOrNull"), True
        repeat: tuple[Compiled, ...] = ()
        if "repeat" in raw:
            paths = raw["repeat"]
            if not isinstance(paths, list) or not paths:
                raise ViewDefinitionError(f"{at}.repeat must be a non-empty list of FHIRPath expressions")
            if for_each is not None:
                raise ViewDefinitionError(f"{at}: repeat cannot be combined with forEach or forEachOrNull")
            repeat = tuple(self.path(p, f"{at}.repeat[{i}]") for i, p in enumerate(paths))
        columns = tuple(
            self.column(c, f"{at}.column[{i}]") for i, c in enumerate(self._list(raw, "column", at))
        )
        selects = tuple(
            self.select(s, f"{at}.select[{i}]") for i, s in enumerate(self._list(raw, "select", at))
        )
        union = tuple(
            self.select(s, f"{at}.unionAll[{i}]") for i, s in enumerate(self._list(raw, "unionAll", at))
        )
        if union:
            first = union[0].column_names()
            for index, branch in enumerate(union[1:], start=1):
                if branch.column_names() != first:
                    raise ViewDefinitionError(
                        f"{at}.unionAll[{index}]: columns {branch.column_names()} differ from the first "
                        f"branch's {first} (every branch needs the same names in the same order)"
                    )
        return Select(at, columns, selects, union, for_each, or_null, repeat)

    @staticmethod
    def _list(raw: dict[str, Any], key: str, at: str) -> list[Any]:
        value = raw.get(key, [])
        if not isinstance(value, list):
            raise ViewDefinitionError(f"{at}.{key} must be a list")
        return value


def read_view(view: Any) -> ViewDefinition:
    """Check and compile a ViewDefinition dict; a ViewDefinitionError says what is wrong and where."""
    if not isinstance(view, dict):
        raise ViewDefinitionError("A ViewDefinition must be a JSON object")
    resource = view.get("resource")
    if not isinstance(resource, str) or not re.match(r"^[A-Z][A-Za-z]+$", resource):
        raise ViewDefinitionError("ViewDefinition.resource is required: the resource type the view reads")
    constants = _constants(view)
    reader = _Reader(constants)
    selects = view.get("select")
    if not isinstance(selects, list) or not selects:
        raise ViewDefinitionError("ViewDefinition.select must be a non-empty list")
    root = reader.select({"select": selects}, "ViewDefinition")
    raw_where = view.get("where", [])
    if not isinstance(raw_where, list):
        raise ViewDefinitionError("ViewDefinition.where must be a list")
    where = []
    for index, item in enumerate(raw_where):
        path = item.get("path") if isinstance(item, dict) else None
        where.append((path, reader.path(path, f"ViewDefinition.where[{index}].path")))
    names = root.column_names()
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ViewDefinitionError(f"ViewDefinition: column names repeat: {', '.join(repeated)}")
    name = view.get("name") if isinstance(view.get("name"), str) else None
    return ViewDefinition(resource, name, root, tuple(where), constants, view)
