"""Readable element tables for a profile or extension page.

SUSHI writes differentials only, and a differential alone is hard to read: it lists what changed, not where it
sits. So the table is the profile's snapshot as the validator generates it (``conformance.snapshot`` through
the Compiler, the same elements the validator checks against), cut to the top-level elements plus what the
guide's differentials reach (a slice, a slice's ``system``), so every row shows a complete cardinality and
type even when the profile narrowed only one of them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..conformance.compiler import Compiler
from ..conformance.packages import DefinitionStore

Resource = dict[str, Any]
#: canonical url -> relative page href, for canonicals this site has a page for
Linker = Callable[[str], str | None]
#: Where merged_elements keeps the constraints a guide differential adds (not the inherited ones).
GUIDE_CONSTRAINTS = "_guideConstraints"


@dataclass(frozen=True)
class Link:
    """A label with an optional href (None: plain text)."""

    label: str
    href: str | None = None


@dataclass(frozen=True)
class TypeCell:
    """One allowed type: its code and, for Reference or Extension types, the profiles it is narrowed to."""

    code: str
    targets: tuple[Link, ...] = ()


@dataclass
class ElementRow:
    """One row of an element table."""

    element_id: str
    name: str
    depth: int
    cardinality: str
    types: list[TypeCell]
    binding: tuple[str, Link] | None = None
    fixed: list[tuple[str, str]] = field(default_factory=list)
    constraints: list[dict[str, str]] = field(default_factory=list)
    short: str = ""
    constrained: bool = False
    prohibited: bool = False
    must_support: bool = False
    slice_name: str | None = None
    slicing: str = ""


def parent_id(element_id: str) -> str | None:
    """The id of the element a slice or child hangs under (``A.b:s`` -> ``A.b``, ``A.b:s.c`` -> ``A.b:s``)."""
    head, dot, last = element_id.rpartition(".")
    if ":" in last:
        return f"{head}.{last.split(':', 1)[0]}" if dot else last.split(":", 1)[0]
    return head or None


def _profile_chain(sd: Resource, store: DefinitionStore) -> list[Resource]:
    """The guide profiles from the most basic (right above the core type) down to ``sd``."""
    chain = [sd]
    current = sd
    for _ in range(10):
        base_url = current.get("baseDefinition", "")
        base = store.structure_definition(base_url) if base_url else None
        if base is None or base.get("snapshot"):
            break
        chain.append(base)
        current = base
    return list(reversed(chain))


def _is_top_level(element_id: str) -> bool:
    """The root or one of its direct children (no slice): the rows every table starts from."""
    return element_id.count(".") <= 1 and ":" not in element_id


def merged_elements(sd: Resource, store: DefinitionStore, compiler: Compiler | None = None
                    ) -> list[tuple[Resource, bool]]:
    """(element, in the guide's differential) in snapshot order.

    The elements are the validator's own snapshot of the profile (``Compiler.snapshot``), cut to the base's
    top level plus every element the guide's differentials reach and the elements they hang under. A row
    shows the constraints and, below the top level, the slicing the guide itself adds (in
    ``GUIDE_CONSTRAINTS`` and ``slicing``), not those every extension inherits.
    """
    compiler = compiler or Compiler(store)
    differentials: dict[str, list[Resource]] = {}
    for profile in _profile_chain(sd, store):
        for diff in profile.get("differential", {}).get("element", []):
            differentials.setdefault(diff.get("id") or diff["path"], []).append(diff)
    shown_ids = set(differentials)
    for element_id in list(differentials):
        parent = parent_id(element_id)
        while parent is not None:
            shown_ids.add(parent)
            parent = parent_id(parent)
    rows = []
    for element in compiler.snapshot(sd["url"]) or []:
        element_id = element["id"]
        if not (_is_top_level(element_id) or element_id in shown_ids):
            continue
        shown = copy.deepcopy(element)
        own = differentials.get(element_id, [])
        shown[GUIDE_CONSTRAINTS] = [copy.deepcopy(c) for diff in own for c in diff.get("constraint", [])]
        if not _is_top_level(element_id):
            own_slicing = [diff["slicing"] for diff in own if "slicing" in diff]
            shown.pop("slicing", None)
            if own_slicing:
                shown["slicing"] = copy.deepcopy(own_slicing[-1])
        rows.append((shown, element_id in differentials))
    return rows


def _short(element: Resource, sd: Resource, summaries: dict[str, str]) -> str:
    diff_short = next((e.get("short") for e in sd.get("differential", {}).get("element", [])
                       if e.get("id") == element.get("id") and e.get("short")), None)
    if diff_short:
        return diff_short
    profiles = [url for t in element.get("type", []) for url in t.get("profile", [])]
    if element.get("sliceName") and len(profiles) == 1 and profiles[0] in summaries:
        return summaries[profiles[0]]
    return element.get("short", "")


def _compact(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


MAX_TYPES_LISTED = 6
FHIRPATH_SYSTEM = "http://hl7.org/fhirpath/System."
FHIR_TYPE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"


def _type_code(type_: Resource) -> str:
    """The readable type code; ``id`` elements carry a FHIRPath system type, the FHIR type in an extension."""
    code = type_.get("code", "")
    for extension in type_.get("extension", []):
        if extension.get("url") == FHIR_TYPE_EXTENSION and extension.get("valueUrl"):
            return extension["valueUrl"]
    return code.removeprefix(FHIRPATH_SYSTEM).lower() if code.startswith(FHIRPATH_SYSTEM) else code


def _types(element: Resource, linker: Linker, names: dict[str, str]) -> list[TypeCell]:
    cells = []
    for type_ in element.get("type", []):
        targets = type_.get("targetProfile", []) or type_.get("profile", [])
        links = tuple(Link(_label(url, names), linker(url)) for url in targets)
        cells.append(TypeCell(_type_code(type_), links))
    return cells


def _label(url: str, names: dict[str, str]) -> str:
    base = url.split("|", 1)[0]
    return names.get(base) or base.rstrip("/").rsplit("/", 1)[-1]


def element_rows(sd: Resource, store: DefinitionStore, linker: Linker, names: dict[str, str],
                 compiler: Compiler | None = None, summaries: dict[str, str] | None = None
                 ) -> list[ElementRow]:
    """The rows of the element table of one profile or extension.

    ``summaries`` (canonical url -> one line) describe extension slices the differential leaves with the
    base's generic "Additional content defined by implementations".
    """
    summaries = summaries or {}
    rows = []
    for element, constrained in merged_elements(sd, store, compiler):
        element_id = element["id"]
        last = element_id.rsplit(".", 1)[-1]
        base_name, _, slice_name = last.partition(":")
        depth = element_id.count(".")
        cardinality = f"{element.get('min', '')}..{element.get('max', '')}" if "min" in element else ""
        types = [] if element.get("max") == "0" else _types(element, linker, names)
        if len(types) > MAX_TYPES_LISTED:
            types = [TypeCell(f"any of {len(types)} types")]
        binding = None
        if "binding" in element and element["binding"].get("valueSet"):
            vs = element["binding"]["valueSet"]
            binding = (element["binding"].get("strength", ""), Link(_label(vs, names), linker(vs)))
        fixed = [(key, _compact(value)) for key, value in element.items()
                 if key.startswith(("fixed", "pattern")) and constrained]
        constraints = []
        if constrained:
            for constraint in element.get(GUIDE_CONSTRAINTS, []):
                if constraint.get("source", "").startswith("http://hl7.org/fhir/StructureDefinition/"):
                    continue
                constraints.append({key: constraint.get(key, "")
                                    for key in ("key", "severity", "human", "expression")})
        slicing = ""
        if constrained and "slicing" in element:
            slicing_def = element["slicing"]
            discriminators = ", ".join(f"{d.get('type')}:{d.get('path')}"
                                       for d in slicing_def.get("discriminator", []))
            slicing = f"sliced by {discriminators or 'position'} ({slicing_def.get('rules', 'open')})"
        rows.append(ElementRow(
            element_id=element_id,
            name=f"{base_name}:{slice_name}" if slice_name else base_name,
            depth=depth,
            cardinality=cardinality,
            types=types,
            binding=binding,
            fixed=fixed,
            constraints=constraints,
            short=_short(element, sd, summaries),
            constrained=constrained,
            prohibited=element.get("max") == "0",
            must_support=bool(element.get("mustSupport")),
            slice_name=slice_name or None,
            slicing=slicing,
        ))
    return rows
