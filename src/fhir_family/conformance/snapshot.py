"""Snapshot generation: a profile's differential applied onto its base's snapshot.

SUSHI writes differentials only; core StructureDefinitions carry snapshots. A snapshot is what a validator
needs (every element with its final cardinality, types, bindings, constraints), so it is generated here in
memory, once per profile, and cached by the caller. The algorithm, as the FHIR spec describes it
(http://hl7.org/fhir/R4/profiling.html#snapshot), in the subset a FHIR R4 guide needs:

* a differential element whose id is already in the snapshot is merged into it (constraints are added to the
  inherited ones; every other property replaces the inherited one);
* an element below a complex-typed element that the snapshot does not yet break down
  (``Patient.identifier:nhsNumber.system``) first "unrolls" the type: its children are copied from the type's
  (or type profile's) snapshot with their ids and paths re-rooted;
* a slice (``Patient.identifier:nhsNumber``) is created as a copy of the sliced element and its subtree;
* a type slice of a choice element (``value[x]:valueCodeableConcept``) narrows ``value[x]`` itself; when the
  type slicing is open, the other types are recorded under ``_openTypes`` and stay allowed, unconstrained.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from .. import messages as msg
from ..errors import FhirFamilyError

Element = dict[str, Any]
SnapshotSource = Callable[[str], list[Element] | None]  # url or type name -> snapshot elements

_TYPE_SLICE = re.compile(r"\[x\]:([a-z][A-Za-z]*)")
_MERGE_SKIP = {"id", "path", "constraint"}
#: key on a narrowed choice element: the types an open type slicing leaves unconstrained (not FHIR; internal)
OPEN_TYPES = "_openTypes"
_EXTENSION_SLICING = {
    "discriminator": [{"type": "value", "path": "url"}],
    "description": "Extensions are always sliced by (at least) url",
    "rules": "open",
}


class SnapshotError(FhirFamilyError, ValueError):
    """A differential cannot be applied (its base is unknown, an element cannot be placed)."""

    http_status = 500
    message_id = msg.SNAPSHOT


def _normalise_id(element_id: str) -> tuple[str, list[tuple[str, str]]]:
    """``Extension.value[x]:valueCodeableConcept.coding`` -> (``Extension.value[x].coding``,
    [(``Extension.value[x]``, ``CodeableConcept``)]): type slices become narrowings of the choice element."""
    narrowings: list[tuple[str, str]] = []
    while True:
        match = _TYPE_SLICE.search(element_id)
        if not match:
            return element_id, narrowings
        slice_name = match.group(1)
        prefix = re.match(r"[a-z]+", slice_name)
        type_name = slice_name[prefix.end() :] if prefix else slice_name
        choice_id = element_id[: match.start()] + "[x]"
        element_id = choice_id + element_id[match.end() :]
        if type_name:
            narrowings.append((choice_id, type_name))


def _parent_id(element_id: str) -> str | None:
    """The id of the element one level up (``A.b:s.c`` -> ``A.b:s``), None for the root."""
    dot = element_id.rfind(".")
    return element_id[:dot] if dot >= 0 else None


def _rename(element: Element, old_id: str, new_id: str, old_path: str, new_path: str) -> Element:
    copied = copy.deepcopy(element)
    copied["id"] = new_id + copied["id"][len(old_id) :]
    copied["path"] = new_path + copied["path"][len(old_path) :]
    return copied


class _Snapshot:
    """An ordered element list with an id index, edited in place while the differential is applied."""

    def __init__(self, elements: list[Element], source: SnapshotSource) -> None:
        self.elements = elements
        self.source = source

    def index_of(self, element_id: str) -> int | None:
        for position, element in enumerate(self.elements):
            if element.get("id") == element_id:
                return position
        return None

    def subtree_end(self, position: int) -> int:
        """Index just past the element at ``position`` and all its descendants and slices."""
        root = self.elements[position]["id"]
        end = position + 1
        while end < len(self.elements):
            other = self.elements[end]["id"]
            if not (other.startswith(root + ".") or other.startswith(root + ":")):
                break
            end += 1
        return end

    def has_children(self, position: int) -> bool:
        root = self.elements[position]["id"]
        return position + 1 < len(self.elements) and self.elements[position + 1]["id"].startswith(root + ".")

    def ensure(self, element_id: str) -> int:
        """The position of ``element_id``, creating it (by slicing or unrolling) when it is not there yet."""
        position = self.index_of(element_id)
        if position is not None:
            return position
        parent = _parent_id(element_id)
        last = element_id[len(parent) + 1 :] if parent else element_id
        if ":" in last:  # a slice of a sibling element: copy the sliced element and its subtree
            name, _, _slice_name = last.partition(":")
            sliced_id = f"{parent}.{name}" if parent else name
            sliced_position = self.ensure(sliced_id)
            position = self.index_of(element_id)
            if position is not None:  # ensuring the sliced element unrolled a profile that has the slice
                return position
            end = self.subtree_end(sliced_position)
            sliced = self.elements[sliced_position]
            if "slicing" not in sliced and [t.get("code") for t in sliced.get("type") or []] == ["Extension"]:
                sliced["slicing"] = copy.deepcopy(_EXTENSION_SLICING)  # extensions are always sliced by url
            copies = [_rename(sliced, sliced_id, element_id, sliced["path"], sliced["path"])]
            for descendant in self.elements[sliced_position + 1 : end]:
                if descendant["id"].startswith(sliced_id + "."):
                    copies.append(_rename(descendant, sliced_id, element_id, sliced["path"], sliced["path"]))
            copies[0]["sliceName"] = _slice_name
            copies[0].pop("slicing", None)
            self.elements[end:end] = copies
            return end
        if parent is None:
            raise SnapshotError(f"element {element_id} has no parent in the base")
        parent_position = self.ensure(parent)
        if not self.has_children(parent_position):
            self.unroll(parent_position)
        position = self.index_of(element_id)
        if position is None:
            raise SnapshotError(f"element {element_id} is not defined by its base type")
        return position

    def unroll(self, position: int) -> None:
        """Copy the children of the element's type (or type profile) below it."""
        element = self.elements[position]
        types = element.get("type") or []
        if len(types) != 1:
            raise SnapshotError(f"cannot constrain below {element['id']}: it does not have exactly one type")
        type_ = types[0]
        source_name = (type_.get("profile") or [type_["code"]])[0]
        type_elements = self.source(source_name)
        if type_elements is None:
            raise SnapshotError(f"no snapshot for {source_name}, needed below {element['id']}")
        root = type_elements[0]
        children = [
            _rename(child, root["id"], element["id"], root["path"], element["path"])
            for child in type_elements[1:]
        ]
        self.elements[position + 1 : position + 1] = children

    def resolve_id(self, element_id: str) -> tuple[str, list[tuple[str, str]]]:
        """The snapshot id a differential id means, and the choice elements it narrows to one type.

        Handles both spellings of a constraint on one type of a choice element: the type slice
        ``Observation.value[x]:valueQuantity`` and the older renamed path ``Observation.valueQuantity``.
        """
        normalised, narrowings = _normalise_id(element_id)
        parts = normalised.split(".")
        resolved = parts[0]
        for segment in parts[1:]:
            candidate = f"{resolved}.{segment}"
            if ":" not in segment and self.index_of(candidate) is None:
                renamed = self._renamed_choice(resolved, segment)
                if renamed is not None:
                    candidate = renamed[0]
                    narrowings.append(renamed)
            resolved = candidate
        return resolved, narrowings

    def _renamed_choice(self, parent_id: str, segment: str) -> tuple[str, str] | None:
        """``(parent.value[x], "Quantity")`` when ``segment`` is ``valueQuantity`` and ``value[x]`` exists."""
        try:
            position = self.ensure(parent_id)
            if not self.has_children(position) and len(self.elements[position].get("type") or []) == 1:
                self.unroll(position)
        except SnapshotError:
            return None
        for cut in range(1, len(segment)):
            if segment[cut].isupper() and self.index_of(f"{parent_id}.{segment[:cut]}[x]") is not None:
                return f"{parent_id}.{segment[:cut]}[x]", segment[cut:]
        return None

    @staticmethod
    def _keep_open_types(choice: Element, sliced_types: list[Any]) -> None:
        """Before a type slice narrows ``choice``: with open slicing, the other types stay allowed as they
        are (recorded under OPEN_TYPES for the compiler); closed slicing allows only the sliced types."""
        if (choice.get("slicing") or {}).get("rules") != "open":
            return
        kept = [t for t in choice.get("type", []) if t.get("code") not in sliced_types]
        known = {t.get("code") for t in choice.get(OPEN_TYPES, [])}
        choice[OPEN_TYPES] = choice.get(OPEN_TYPES, []) + [t for t in kept if t.get("code") not in known]

    def merge(self, diff: Element) -> None:
        element_id, narrowings = self.resolve_id(diff["id"])
        position = self.ensure(element_id)
        target = self.elements[position]
        type_slice_itself = any(choice_id == element_id for choice_id, _type in narrowings)
        if type_slice_itself and "type" in diff:
            self._keep_open_types(target, [t.get("code") for t in diff["type"]])
        for key, value in diff.items():
            if key in _MERGE_SKIP or (key == "sliceName" and type_slice_itself):
                continue
            target[key] = copy.deepcopy(value)
        if "constraint" in diff:
            keys = {c.get("key") for c in target.get("constraint", [])}
            target.setdefault("constraint", [])
            target["constraint"] = list(target["constraint"]) + [
                copy.deepcopy(c) for c in diff["constraint"] if c.get("key") not in keys
            ]
        sliced = {choice for choice, _type in _normalise_id(diff["id"])[1]}
        for choice_id, type_name in narrowings:
            choice = self.elements[self.ensure(choice_id)]
            narrowed = [t for t in choice.get("type", []) if t.get("code", "").lower() == type_name.lower()]
            if narrowed and not (choice_id == element_id and "type" in diff):
                if choice_id in sliced:
                    self._keep_open_types(choice, [t.get("code") for t in narrowed])
                choice["type"] = narrowed
        if diff.get("max") == "0":
            target["min"] = 0


def generate_snapshot(
    differential: list[Element], base_snapshot: list[Element], source: SnapshotSource
) -> list[Element]:
    """The snapshot of a profile: ``differential`` applied to a deep copy of ``base_snapshot``.

    ``source(url_or_type)`` returns the snapshot elements of a type or profile (for unrolling); the base
    snapshot's root id is re-rooted to the differential's (e.g. both ``Patient``).
    """
    elements = copy.deepcopy(base_snapshot)
    snapshot = _Snapshot(elements, source)
    for diff in differential:
        if "id" not in diff:
            diff = {**diff, "id": diff["path"]}
        snapshot.merge(diff)
    return snapshot.elements
