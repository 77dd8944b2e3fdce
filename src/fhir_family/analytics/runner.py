"""Run a SQL on FHIR v2 ViewDefinition over FHIR resources (plain dicts): one dict per output row.

The row semantics of the specification, in one recursive function (``_rows``): a ``select`` evaluates its
``forEach`` / ``forEachOrNull`` / ``repeat`` to get its foci (the resource itself when it has none); for each
focus it computes its columns (one partial row), the rows of each nested ``select``, and the rows of its
``unionAll`` branches one after another; the result for the focus is the cross product of those parts.
``forEachOrNull`` over nothing gives one row of nulls; ``%rowIndex`` is the focus's 0-based position within
its ``forEach``/``repeat`` (0 outside one).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import product
from typing import Any

from .exceptions import ViewDefinitionError
from .fastpath import BAIL
from .fhirpath import evaluate, to_value
from .viewdefinition import Select, ViewDefinition, read_view

Row = dict[str, Any]
#: the focus of forEachOrNull's row when there is nothing to iterate: an empty FHIRPath collection
_NOTHING: list[Any] = []


def _column_values(select: Select, focus: Any, variables: dict[str, Any]) -> Row:
    row: Row = {}
    for column in select.columns:
        at = f"{select.at} column {column.name} ({column.path})"
        found = column.fast(focus, variables) if column.fast is not None else BAIL
        if found is BAIL:
            found = evaluate(column.compiled, focus, variables, at)
        values = [to_value(v) for v in found]
        if column.collection:
            row[column.name] = values
        elif len(values) > 1:
            raise ViewDefinitionError(
                f"{at}: gave {len(values)} values but the column is not a collection "
                "(set collection: true, or narrow the path, e.g. with first())"
            )
        else:
            row[column.name] = values[0] if values else None
    return row


def _repeat(select: Select, focus: Any, variables: dict[str, Any]) -> list[Any]:
    """Depth first: each node a repeat path reaches, followed by everything reached from it."""
    found: list[Any] = []

    def walk(node: Any) -> None:
        for compiled in select.repeat:
            for child in evaluate(compiled, node, variables, f"{select.at}.repeat"):
                found.append(child)
                walk(child)

    walk(focus)
    return found


def _rows(select: Select, focus: Any, variables: dict[str, Any]) -> list[Row]:
    if select.for_each is not None:
        foci = evaluate(select.for_each, focus, variables, f"{select.at}.forEach")
        if not foci and select.or_null:
            # One row over an empty focus: paths give null, %rowIndex gives 0, as the suite expects.
            foci = [_NOTHING]
    elif select.repeat:
        foci = _repeat(select, focus, variables)
    else:
        foci = [focus]
    rows: list[Row] = []
    for index, item in enumerate(foci):
        scope = {**variables, "rowIndex": index} if select.iterates else variables
        parts: list[list[Row]] = [[_column_values(select, item, scope)]]
        parts += [_rows(sub, item, scope) for sub in select.selects]
        if select.union_all:
            parts.append([row for branch in select.union_all for row in _rows(branch, item, scope)])
        for combination in product(*parts):
            merged: Row = {}
            for part in combination:
                merged.update(part)
            rows.append(merged)
    return rows


def _included(view: ViewDefinition, resource: dict[str, Any], variables: dict[str, Any]) -> bool:
    for index, (path, compiled) in enumerate(view.where):
        at = f"ViewDefinition.where[{index}] ({path})"
        result = [to_value(v) for v in evaluate(compiled, resource, variables, at)]
        if any(not isinstance(value, bool) for value in result):
            raise ViewDefinitionError(f"{at}: must give a boolean, gave {result!r}")
        if not (len(result) == 1 and result[0] is True):
            return False
    return True


def run_view(view: ViewDefinition | dict[str, Any], resources: Iterable[dict[str, Any]]) -> Iterator[Row]:
    """The view's rows over ``resources`` (other resource types are skipped), in input order, columns in the
    view's order."""
    compiled = view if isinstance(view, ViewDefinition) else read_view(view)
    names = compiled.columns
    for resource in resources:
        if not isinstance(resource, dict) or resource.get("resourceType") != compiled.resource:
            continue
        variables = {**compiled.constants, "rowIndex": 0, "resource": resource, "rootResource": resource}
        if not _included(compiled, resource, variables):
            continue
        for row in _rows(compiled.root, resource, variables):
            yield {name: row.get(name) for name in names}
