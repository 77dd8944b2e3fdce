"""A StructureDefinition given as input, checked against its base as the HL7 reference validator does.

The walk checks an SD's JSON like any resource's; these rules check what it means (profiling.html):

- every differential element names an element its base defines (or a slice / a type's child of one) (a path
  outside the SD's type is core's sdf-8a);
- every slicing discriminator path leads to an element below the sliced one;
- a constraint on an extension keeps ``Extension.url`` fixed to the extension's own url;
- each extension context is usable: an ``element`` context names a type or an element path that exists, an
  ``extension`` context a loaded extension (else a warning: not checked), a ``fhirpath`` context compiles.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from .. import messages as msg
from ..outcome import IssueSeverity, IssueType
from .compiler import Compiler, DefinitionError
from .engine import Context
from .invariants import compile_expression
from .snapshot import SnapshotError, _normalise_id, _Snapshot

ERROR, WARNING = IssueSeverity.ERROR, IssueSeverity.WARNING
_FUNCTION = re.compile(r"^(extension|ofType)\((.*)\)$")


def check_structure_definition(sd: dict[str, Any], expr: str, ctx: Context, compiler: Compiler) -> None:
    """Report what in ``sd`` its base (or R4) does not allow; nothing when the SD is not a constraint."""
    _check_contexts(sd, expr, ctx, compiler)
    differential = (sd.get("differential") or {}).get("element")
    base_url = sd.get("baseDefinition")
    if not isinstance(differential, list) or not isinstance(base_url, str):
        return
    if sd.get("derivation") != "constraint":
        return
    try:
        base = compiler.snapshot(base_url)
    except DefinitionError:
        base = None
    if base is None:
        ctx.add(
            WARNING,
            IssueType.NOT_FOUND,
            msg.PROFILE_UNKNOWN,
            f"base definition {base_url} is not loaded, so the differential could not be checked against it",
            f"{expr}.baseDefinition",
        )
        return
    snapshot = _Snapshot(copy.deepcopy(base), compiler.snapshot)
    sd_type = sd.get("type")
    for index, element in enumerate(differential):
        if not isinstance(element, dict) or not isinstance(element.get("path"), str):
            continue  # the walk reports the missing path
        where = f"{expr}.differential.element[{index}]"
        path = element["path"]
        if isinstance(sd_type, str) and path.split(".")[0] != sd_type:
            continue  # core's sdf-8a reports a path outside the type: one fault, one issue
        diff = element if isinstance(element.get("id"), str) else {**element, "id": path}
        try:
            snapshot.merge(copy.deepcopy(diff))
        except SnapshotError as exc:
            _add(ctx, f"differential element {diff['id']!r} is not in the base {base_url}: {exc}", where)
            continue
        _check_discriminators(snapshot, diff, where, ctx)
        if sd_type == "Extension" and path == "Extension.url":
            fixed = element.get("fixedUri")
            if isinstance(fixed, str) and isinstance(sd.get("url"), str) and fixed != sd["url"]:
                _add(
                    ctx,
                    f"an extension definition must keep Extension.url fixed to its own url {sd['url']!r}, "
                    f"found {fixed!r}",
                    f"{where}.fixedUri",
                )


def _add(ctx: Context, text: str, where: str) -> None:
    ctx.add(ERROR, IssueType.STRUCTURE, msg.SD_INVALID, text, where)


def _check_discriminators(snapshot: _Snapshot, diff: dict[str, Any], where: str, ctx: Context) -> None:
    slicing = diff.get("slicing")
    discriminators = slicing.get("discriminator") if isinstance(slicing, dict) else None
    if not isinstance(discriminators, list):
        return
    sliced_id, _narrowings = snapshot.resolve_id(diff["id"])
    for position, discriminator in enumerate(discriminators):
        path = discriminator.get("path") if isinstance(discriminator, dict) else None
        if not isinstance(path, str) or _path_exists(snapshot, sliced_id, path):
            continue
        _add(
            ctx,
            f"slicing discriminator path {path!r} does not lead to an element below {sliced_id}",
            f"{where}.slicing.discriminator[{position}].path",
        )


def _path_exists(snapshot: _Snapshot, element_id: str, path: str) -> bool:
    """Whether a discriminator's FHIRPath (a restricted one: names, extension('url'), ofType(), resolve())
    leads to an element below ``element_id``."""
    current = element_id
    for part in _steps(path):
        if part == "$this" or part.startswith("ofType("):
            continue
        if part == "resolve()":
            return True  # into another resource: its own type decides what follows
        function = _FUNCTION.match(part)
        name = function.group(1) if function else part
        for candidate in (f"{current}.{name}", f"{current}.{name}[x]"):
            try:
                snapshot.ensure(_normalise_id(candidate)[0])
            except SnapshotError:
                continue
            current = candidate
            break
        else:
            return False
    return True


def _steps(path: str) -> list[str]:
    """A discriminator path split at the dots outside parentheses."""
    steps, depth, start = [], 0, 0
    for index, char in enumerate(path):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "." and depth == 0:
            steps.append(path[start:index])
            start = index + 1
    steps.append(path[start:])
    return [s for s in steps if s]


def _check_contexts(sd: dict[str, Any], expr: str, ctx: Context, compiler: Compiler) -> None:
    contexts = sd.get("context")
    if sd.get("type") != "Extension" or not isinstance(contexts, list):
        return
    for index, context in enumerate(contexts):
        if not isinstance(context, dict) or not isinstance(context.get("expression"), str):
            continue
        kind, expression = context.get("type"), context["expression"]
        where = f"{expr}.context[{index}].expression"
        if kind == "element":
            if not _element_context_exists(expression, compiler):
                _add(ctx, f"extension context {expression!r} is not an R4 type or element path", where)
        elif kind == "extension":
            url = expression.split("#", 1)[0]
            if compiler.extension_definition(url) is None:
                ctx.add(
                    WARNING,
                    IssueType.NOT_FOUND,
                    msg.PROFILE_UNKNOWN,
                    f"extension context {url} is not a loaded extension, so it could not be checked",
                    where,
                )
        elif kind == "fhirpath":
            try:
                compile_expression(expression)({"resourceType": "Basic"})  # arity is checked when run
            except Exception as exc:  # noqa: BLE001 - fhirpathpy raises bare exceptions on bad syntax
                _add(ctx, f"extension context {expression!r} is not valid FHIRPath ({exc})", where)


def _element_context_exists(expression: str, compiler: Compiler) -> bool:
    """``Patient``, ``Patient.identifier``, ``Element`` or ``StructureDefinition.snapshot.element.binding``
    (through the ElementDefinition type): a type, or a path in one, as R4 core's extensions use them; a
    ``:slice`` is ignored and ``value[x]`` may be spelt either way."""
    type_name, _, rest = re.sub(r":[^.]+", "", expression).partition(".")
    return _path_in_type(type_name, rest.split(".") if rest else [], compiler, depth=0)


def _path_in_type(type_name: str, parts: list[str], compiler: Compiler, depth: int) -> bool:
    try:
        elements = compiler.snapshot(type_name)
    except DefinitionError:
        return False
    if elements is None or depth > 8:
        return False
    by_path = {e.get("path"): e for e in elements}
    path = elements[0].get("path", type_name)
    for index, part in enumerate(parts):
        name = part[:-3] if part.endswith("[x]") else part
        element = by_path.get(f"{path}.{name}") or by_path.get(f"{path}.{name}[x]")
        if element is None:
            return False
        path = element["path"]
        reference = element.get("contentReference")
        if isinstance(reference, str):
            path = reference.lstrip("#").split("#")[-1]  # Questionnaire.item.item -> Questionnaire.item
        elif index < len(parts) - 1 and not any(p.startswith(path + ".") for p in by_path if p):
            types = element.get("type") or []
            if len(types) != 1:
                return False
            return _path_in_type(types[0].get("code", ""), parts[index + 1 :], compiler, depth + 1)
    return True
