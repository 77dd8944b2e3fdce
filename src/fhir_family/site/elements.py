"""Readable element tables for a profile or extension page.

SUSHI writes differentials only, and a differential alone is hard to read: it lists what changed, not where it
sits. So the table starts from the top-level elements of the core base type's snapshot and lays the guide's
differential over them; an element the differential reaches below the top level (a slice, a slice's
``system``) brings its own base definition with it (looked up through the datatype, e.g.
``Identifier.system``), so every row shows a complete cardinality and type even when the profile narrowed
only one of them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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


class BaseResolver:
    """Finds the core definition of any element path, descending into datatypes where the snapshot stops."""

    def __init__(self, store: DefinitionStore) -> None:
        self.store = store
        self._by_path: dict[str, dict[str, Resource]] = {}

    def _elements(self, type_name: str) -> dict[str, Resource]:
        if type_name not in self._by_path:
            sd = self.store.structure_definition(type_name) or {}
            elements = {}
            for element in sd.get("snapshot", {}).get("element", []):
                if "sliceName" not in element:
                    elements.setdefault(element["path"], element)
            self._by_path[type_name] = elements
        return self._by_path[type_name]

    def resolve(self, path: str, _depth: int = 0) -> Resource | None:
        """The base ElementDefinition of ``path`` (``Patient.identifier.system`` -> ``Identifier.system``)."""
        if _depth > 8:
            return None
        root = path.split(".", 1)[0]
        elements = self._elements(root)
        if path in elements:
            return self._follow_content_reference(elements[path], root, _depth)
        parts = path.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            prefix = ".".join(parts[:cut])
            element = elements.get(prefix)
            if element is None:
                continue
            if "contentReference" in element:
                target = element["contentReference"].lstrip("#")
                return self.resolve(".".join([target, *parts[cut:]]), _depth + 1)
            types = element.get("type", [])
            if not types:
                return None
            type_code = types[0]["code"]
            return self.resolve(".".join([type_code, *parts[cut:]]), _depth + 1)
        return None

    def _follow_content_reference(self, element: Resource, root: str, depth: int) -> Resource:
        if "contentReference" in element and "type" not in element:
            target = self.resolve(element["contentReference"].lstrip("#"), depth + 1)
            if target:
                merged = dict(target)
                merged.update({k: v for k, v in element.items() if k in ("min", "max", "path", "id")})
                return merged
        return element

    def top_level(self, type_name: str) -> list[Resource]:
        """The root element and its direct children, in snapshot order."""
        sd = self.store.structure_definition(type_name) or {}
        rows = []
        for element in sd.get("snapshot", {}).get("element", []):
            if "sliceName" in element:
                continue
            if element["path"].count(".") <= 1:
                rows.append(element)
        return rows


def _core_chain(sd: Resource, store: DefinitionStore) -> tuple[str, list[Resource]]:
    """The core type the profile ends in, and the guide profiles from the most basic down to ``sd``."""
    chain = [sd]
    current = sd
    for _ in range(10):
        base_url = current.get("baseDefinition", "")
        base = store.structure_definition(base_url) if base_url else None
        if base is None or base.get("snapshot"):
            break
        chain.append(base)
        current = base
    return sd["type"], list(reversed(chain))


def merged_elements(sd: Resource, store: DefinitionStore, resolver: BaseResolver | None = None
                    ) -> list[tuple[Resource, bool]]:
    """(element, in the guide's differential) in display order: base top level merged with differentials."""
    resolver = resolver or BaseResolver(store)
    core_type, chain = _core_chain(sd, store)
    order: list[str] = []
    elements: dict[str, Resource] = {}
    touched: set[str] = set()
    for element in resolver.top_level(core_type):
        order.append(element["id"])
        elements[element["id"]] = copy.deepcopy(element)

    def insert(element_id: str, element: Resource) -> None:
        parent = parent_id(element_id)
        if parent is not None and parent not in elements:
            base = resolver.resolve(_path_of(parent)) or {"path": _path_of(parent)}
            insert(parent, {**copy.deepcopy(base), "id": parent, "path": _path_of(parent)})
        position = len(order)
        if parent is not None:
            position = order.index(parent) + 1
            while position < len(order) and _descends(order[position], parent):
                position += 1
        order.insert(position, element_id)
        elements[element_id] = element

    for profile in chain:
        for diff in profile.get("differential", {}).get("element", []):
            element_id = diff.get("id") or diff["path"]
            touched.add(element_id)
            own_constraints = copy.deepcopy(diff.get("constraint", []))
            if element_id in elements:
                target = elements[element_id]
                target.update(copy.deepcopy(diff))
                target[GUIDE_CONSTRAINTS] = target.get(GUIDE_CONSTRAINTS, []) + own_constraints
                continue
            base = _base_through_parent(element_id, diff["path"], elements, resolver) or {}
            merged = copy.deepcopy(base)
            # A slice starts from its sliced element's definition but not its slicing or its constraints.
            merged.pop("slicing", None)
            merged.pop("constraint", None)
            merged.update(copy.deepcopy(diff))
            merged["id"] = element_id
            merged[GUIDE_CONSTRAINTS] = own_constraints
            insert(element_id, merged)
    return [(elements[i], i in touched) for i in order]


def _base_through_parent(element_id: str, path: str, elements: dict[str, Resource],
                         resolver: BaseResolver) -> Resource | None:
    """The base of a child element through its parent's narrowed type (``value[x]`` narrowed to Period).

    Without this, ``Extension.extension:reportingPeriod.value[x].start`` would be looked up under the first of
    ``value[x]``'s fifty base types rather than under the Period the profile chose.
    """
    parent = parent_id(element_id)
    if parent is not None and parent in elements and element_id.startswith(parent + "."):
        types = elements[parent].get("type", [])
        if len(types) == 1:
            found = resolver.resolve(f"{types[0]['code']}.{path.rsplit('.', 1)[-1]}")
            if found:
                return found
    return resolver.resolve(path)


def _short(element: Resource, sd: Resource, summaries: dict[str, str]) -> str:
    diff_short = next((e.get("short") for e in sd.get("differential", {}).get("element", [])
                       if e.get("id") == element.get("id") and e.get("short")), None)
    if diff_short:
        return diff_short
    profiles = [url for t in element.get("type", []) for url in t.get("profile", [])]
    if element.get("sliceName") and len(profiles) == 1 and profiles[0] in summaries:
        return summaries[profiles[0]]
    return element.get("short", "")


def _path_of(element_id: str) -> str:
    return ".".join(segment.split(":", 1)[0] for segment in element_id.split("."))


def _descends(candidate: str, ancestor: str) -> bool:
    return candidate.startswith(ancestor + ".") or candidate.startswith(ancestor + ":")


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
                 resolver: BaseResolver | None = None, summaries: dict[str, str] | None = None
                 ) -> list[ElementRow]:
    """The rows of the element table of one profile or extension.

    ``summaries`` (canonical url -> one line) describe extension slices the differential leaves with the
    base's generic "Additional content defined by implementations".
    """
    summaries = summaries or {}
    rows = []
    for element, constrained in merged_elements(sd, store, resolver):
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
