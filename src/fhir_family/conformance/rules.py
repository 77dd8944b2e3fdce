"""A StructureDefinition snapshot compiled once into a tree of element rules the walker can use directly.

Walking ElementDefinitions per call (string paths, lists of dicts) is what makes naive validators slow. Here
each snapshot becomes ``ElementRule`` objects with everything pre-digested: cardinality as ints, the JSON
property names each element answers to (``valueCodeableConcept`` for ``value[x]``), primitive checkers,
slicing discriminator values, compiled invariants. Complex-typed elements that the profile does not break
down share the compiled tree of their type (one ``Identifier`` tree for every identifier everywhere).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .invariants import Invariant
from .primitives import Primitive

FHIR_TYPE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
MISSING: Any = object()


@dataclass(eq=False, slots=True)
class TypeRule:
    """One allowed type of an element: its code, the profiles it must meet and its primitive checker."""

    code: str
    profiles: tuple[str, ...] = ()
    target_profiles: tuple[str, ...] = ()
    primitive: Primitive | None = None
    #: a type an open type slicing leaves as it is (``value[x]`` sliced to constrain ``valueQuantity``
    #: still allows ``valueString``): none of the element's constraints apply to it, only the type's own
    unconstrained: bool = False


@dataclass(eq=False, slots=True)
class Discriminator:
    """How an item of a sliced element is matched to a slice: the value at ``path`` (value/pattern)."""

    kind: str  # "value" | "pattern" | "exists" | "type" | "profile"
    path: str  # dotted, relative to the sliced element; "$this" for the element itself


@dataclass(eq=False, slots=True)
class ElementRule:
    """One element of a profile (or slice of it), compiled."""

    id: str
    path: str
    name: str  # the JSON name, "value" for "value[x]"
    choice: bool
    min: int
    max: int | None  # None: unbounded
    repeats: bool  # base max > 1: a JSON array, an index in expressions
    types: list[TypeRule]
    profile_name: str
    fixed: Any = MISSING
    pattern: Any = MISSING
    binding_strength: str | None = None
    binding_value_set: str | None = None
    invariants: list[Invariant] = field(default_factory=list)
    check_ele1: bool = False
    check_ext1: bool = False
    children: list[ElementRule] = field(default_factory=list)
    slice_name: str | None = None
    slicing_rules: str | None = None  # "open" | "closed" | "openAtEnd"
    discriminators: list[Discriminator] = field(default_factory=list)
    slices: list[ElementRule] = field(default_factory=list)
    content_reference: str | None = None
    max_length: int | None = None
    min_value: Any = MISSING  # minValue[x] / maxValue[x]: numbers, or date/time strings compared as text
    max_value: Any = MISSING
    #: for a slice: the discriminator value each item must have (one per discriminator, same order)
    discriminator_values: list[Any] = field(default_factory=list)
    json_names: dict[str, TypeRule] = field(default_factory=dict)
    #: for a sliced element whose one discriminator is a ``value`` at a plain property (extension ``url``,
    #: identifier ``system``): that property's name and its string value -> the position of the first slice
    #: requiring it, so an item finds its slice by one look-up (None: match slice by slice)
    slice_table: tuple[str, dict[str, int]] | None = None
    #: cache of the structure used for the element's content, per type code
    structures: dict[str, Structure] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """How diagnostics name the element: ``Patient.identifier:nhsNumber.system``; inside an extension
        definition, the extension by name (``extension ChildResidence.value[x]``)."""
        if self.id.startswith("Extension") and self.profile_name != "Extension":
            return f"extension {self.profile_name}{self.id[len('Extension') :]}"
        return self.id

    def max_text(self) -> str:
        return "*" if self.max is None else str(self.max)


@dataclass(eq=False, slots=True)
class Structure:
    """The content model of a resource or complex type: its children and the JSON names they answer to."""

    type_name: str
    children: list[ElementRule]
    #: JSON name -> (element, its type under that name, the element's position in ``children``)
    lookup: dict[str, tuple[ElementRule, TypeRule, int]]
    invariants: list[Invariant] = field(default_factory=list)  # the root element's (profile-level) ones
    check_ext1: bool = False
    profile_url: str | None = None
    profile_name: str | None = None
    root: ElementRule | None = None
    #: positions in ``children`` of the elements with min > 0: the walker visits only these and the
    #: elements present in the JSON, never the (many) optional elements an object leaves out
    required: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        self.required = tuple(position for position, child in enumerate(self.children) if child.min > 0)


def build_lookup(children: list[ElementRule]) -> dict[str, tuple[ElementRule, TypeRule, int]]:
    lookup: dict[str, tuple[ElementRule, TypeRule, int]] = {}
    for position, child in enumerate(children):
        for json_name, type_rule in child.json_names.items():
            lookup[json_name] = (child, type_rule, position)
    return lookup


def type_code(type_: dict[str, Any]) -> str:
    """The FHIR type code, reading ``structuredefinition-fhir-type`` on FHIRPath system types."""
    code = type_.get("code", "")
    if code.startswith("http://hl7.org/fhirpath/System."):
        for ext in type_.get("extension", []):
            if ext.get("url") == FHIR_TYPE_EXTENSION:
                return ext.get("valueUrl") or ext.get("valueUri") or "string"
        return "string"
    return code


def choice_json_name(base: str, code: str) -> str:
    return base + code[0].upper() + code[1:]


def parse_max(value: Any) -> int | None:
    if value in (None, "*"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _choice_pair(element: dict[str, Any], first: str, second: str) -> tuple[Any, Any]:
    """The values of the choice elements ``{first}[x]`` and ``{second}[x]`` (MISSING when absent)."""
    found = {first: MISSING, second: MISSING}
    for key, value in element.items():
        for name in (first, second):
            if key.startswith(name) and key[len(name) : len(name) + 1].isupper():
                found[name] = value
    return found[first], found[second]


def value_bounds(element: dict[str, Any]) -> tuple[Any, Any]:
    """ElementDefinition.minValue[x] and maxValue[x] (MISSING when absent)."""
    return _choice_pair(element, "minValue", "maxValue")


def fixed_and_pattern(element: dict[str, Any]) -> tuple[Any, Any]:
    """ElementDefinition.fixed[x] and pattern[x] (MISSING when absent)."""
    return _choice_pair(element, "fixed", "pattern")
