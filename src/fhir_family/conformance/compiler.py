"""Turns StructureDefinitions (core and guide) into compiled ``Structure`` trees, once each, thread-safely.

The compiler owns three caches: generated snapshots (per profile url), compiled profiles (per url) and the
structure of each element's content (kept on the element itself). Everything is built on first use under a
lock and never mutated afterwards, so concurrent validations share it freely.
"""

from __future__ import annotations

import threading
from typing import Any

from .. import messages as msg
from ..errors import FhirFamilyError
from .invariants import NATIVE, Invariant
from .packages import STRUCTURE_DEFINITION_BASE, DefinitionStore
from .primitives import Primitive, load_primitives
from .rules import (
    MISSING,
    Discriminator,
    ElementRule,
    Structure,
    TypeRule,
    build_lookup,
    choice_json_name,
    fixed_and_pattern,
    parse_max,
    type_code,
    value_bounds,
)
from .snapshot import OPEN_TYPES, SnapshotError, generate_snapshot

EXTENSION_URL = STRUCTURE_DEFINITION_BASE + "Extension"


class DefinitionError(FhirFamilyError, ValueError):
    """A profile cannot be compiled (unknown base, bad differential): the definitions are broken."""

    http_status = 500
    message_id = msg.DEFINITION


class Compiler:
    """Compiled structures for resource types, data types and profiles, keyed by canonical url."""

    def __init__(self, store: DefinitionStore, native_fast_paths: bool = True) -> None:
        self.store = store
        self.native_fast_paths = native_fast_paths
        self.primitives: dict[str, Primitive] = load_primitives(store.structure_definition)
        self._snapshots: dict[str, list[dict[str, Any]]] = {}
        self._structures: dict[str, Structure | None] = {}
        self._lock = threading.RLock()
        self._resource_types: dict[str, bool] = {}
        #: per Reference type's targetProfile tuple: its target types, and its (constraints, unknown)
        self._target_types: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._target_constraints: dict[tuple[str, ...], tuple[tuple[str, ...], tuple[str, ...]]] = {}
        self._compiling: set[str] = set()

    # -- snapshots ---------------------------------------------------------------------------------

    def snapshot(self, url_or_type: str) -> list[dict[str, Any]] | None:
        """The snapshot elements of a StructureDefinition, generated from its differential if it has none."""
        sd = self.store.structure_definition(url_or_type)
        if sd is None:
            return None
        url = sd.get("url", url_or_type)
        cached = self._snapshots.get(url)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._snapshots.get(url)
            if cached is not None:
                return cached
            elements = (sd.get("snapshot") or {}).get("element")
            if not elements:
                base_url = sd.get("baseDefinition")
                base = self.snapshot(base_url) if base_url else None
                if base is None:
                    raise DefinitionError(f"{url}: base definition {base_url} is not available")
                try:
                    elements = generate_snapshot(
                        sd.get("differential", {}).get("element", []), base, self.snapshot
                    )
                except SnapshotError as exc:
                    raise DefinitionError(f"{url}: {exc}") from exc
            self._snapshots[url] = elements
            return elements

    # -- structures --------------------------------------------------------------------------------

    def structure(self, url_or_type: str) -> Structure | None:
        """The compiled structure of a profile or type (None when there is no such definition)."""
        url = (
            url_or_type
            if ("/" in url_or_type or ":" in url_or_type)
            else STRUCTURE_DEFINITION_BASE + url_or_type
        )
        if url in self._structures:
            return self._structures[url]
        with self._lock:
            if url in self._structures:
                return self._structures[url]
            if url in self._compiling:
                return None  # a definition that (indirectly) contains itself: its content is left unchecked
            sd = self.store.structure_definition(url)
            self._compiling.add(url)
            try:
                structure = None if sd is None else self._compile(sd)
            finally:
                self._compiling.discard(url)
            self._structures[url] = structure
            return structure

    def any_profile_known(self, type_rule: TypeRule) -> bool:
        """Whether any profile a type names can be compiled (a guide may lack an extension it slices in)."""
        return any(self.structure(profile) is not None for profile in type_rule.profiles)

    def content_structure(self, rule: ElementRule, type_rule: TypeRule) -> Structure | None:
        """The structure describing the content of ``rule`` when it holds a value of ``type_rule``."""
        cached = rule.structures.get(type_rule.code)
        if cached is not None:
            return cached
        structure: Structure | None
        profile_structure = None
        for profile in type_rule.profiles:
            profile_structure = self.structure(profile)
            if profile_structure is not None:
                break
        if rule.children and not type_rule.unconstrained:
            # the element's type keeps its own root invariants (per-1 on a Period the profile broke down)
            invariants = []
            if type_rule.code not in ("BackboneElement", "Element") and type_rule.primitive is None:
                type_structure = self.structure(type_rule.code)
                if type_structure is not None:
                    invariants = list(type_structure.invariants)
            if profile_structure is not None:
                keys = {inv.key for inv in invariants}
                invariants += [inv for inv in profile_structure.invariants if inv.key not in keys]
            structure = Structure(
                type_rule.code,
                rule.children,
                build_lookup(rule.children),
                invariants,
                profile_url=profile_structure.profile_url if profile_structure else None,
                profile_name=profile_structure.profile_name if profile_structure else None,
            )
        elif profile_structure is not None:
            structure = profile_structure
        else:
            structure = self.structure(type_rule.code)
        if structure is not None:
            rule.structures[type_rule.code] = structure
        return structure

    def _compile(self, sd: dict[str, Any]) -> Structure:
        url = sd.get("url", "")
        elements = self.snapshot(url)
        if not elements:
            raise DefinitionError(f"{url}: no snapshot elements")
        profile_name = sd.get("name") or sd.get("id") or url
        rules: dict[str, ElementRule] = {}
        root: ElementRule | None = None
        for element in elements:
            rule = self._element_rule(element, profile_name)
            element_id = rule.id
            if root is None:
                root = rule
                rules[element_id] = rule
                continue
            if "/" in element_id.rsplit(".", 1)[-1]:
                continue  # re-slices are not used by this guide; their base slice still applies
            parent_id, _, last = element_id.rpartition(".")
            if ":" in last:
                name, _, _slice = last.partition(":")
                sliced = rules.get(f"{parent_id}.{name}" if parent_id else name)
                if sliced is None:
                    continue
                sliced.slices.append(rule)
            else:
                parent = rules.get(parent_id)
                if parent is None:
                    continue
                parent.children.append(rule)
            rules[element_id] = rule
        assert root is not None
        for rule in rules.values():
            if rule.content_reference:
                target = rules.get(rule.content_reference.lstrip("#").split("#")[-1])
                if target is not None:
                    rule.children = target.children
                    rule.types = target.types or [TypeRule("BackboneElement")]
                    rule.json_names = {rule.name: rule.types[0]}
            if rule.slices:
                self._prepare_slicing(rule)
        return Structure(
            type_name=sd.get("type", root.path),
            children=root.children,
            lookup=build_lookup(root.children),
            invariants=root.invariants,
            check_ext1=root.check_ext1,
            profile_url=url,
            profile_name=profile_name,
            root=root,
        )

    def _element_rule(self, element: dict[str, Any], profile_name: str) -> ElementRule:
        path = element["path"]
        element_id = element.get("id") or path
        last = path.rsplit(".", 1)[-1]
        choice = last.endswith("[x]")
        name = last[:-3] if choice else last
        base = element.get("base") or {}
        base_path = base.get("path", path)
        types = []
        for type_ in element.get("type") or []:
            code = type_code(type_)
            if base_path == "Resource.id":
                code = "id"  # R4 snapshots spell Resource.id as System.String; its type is id
            types.append(
                TypeRule(
                    code=code,
                    profiles=tuple(type_.get("profile") or ()),
                    target_profiles=tuple(type_.get("targetProfile") or ()),
                    primitive=self.primitives.get(code),
                )
            )
        for type_ in element.get(OPEN_TYPES) or []:
            code = type_code(type_)
            if all(t.code != code for t in types):
                types.append(TypeRule(code=code, primitive=self.primitives.get(code), unconstrained=True))
        base_max = parse_max(base.get("max", element.get("max")))
        fixed, pattern = fixed_and_pattern(element)
        min_value, max_value = value_bounds(element)
        binding = element.get("binding") or {}
        invariants = []
        check_ele1 = check_ext1 = False
        for constraint in element.get("constraint") or []:
            key = constraint.get("key")
            if key == "ele-1":
                check_ele1 = True
            elif key == "ext-1":
                check_ext1 = True
            if key not in NATIVE:
                invariants.append(Invariant.from_constraint(constraint, self.native_fast_paths))
        slicing = element.get("slicing") or {}
        rule = ElementRule(
            id=element_id,
            path=path,
            name=name,
            choice=choice,
            min=int(element.get("min", 0) or 0),
            max=parse_max(element.get("max")),
            repeats=base_max is None or base_max > 1,
            types=types,
            profile_name=profile_name,
            fixed=fixed,
            pattern=pattern,
            binding_strength=binding.get("strength") if binding.get("valueSet") else None,
            binding_value_set=binding.get("valueSet"),
            invariants=invariants,
            check_ele1=check_ele1,
            check_ext1=check_ext1,
            slice_name=element.get("sliceName"),
            slicing_rules=slicing.get("rules") if slicing else None,
            discriminators=[
                Discriminator(d.get("type", "value"), d.get("path", "$this"))
                for d in slicing.get("discriminator", [])
            ],
            content_reference=element.get("contentReference"),
            max_length=element.get("maxLength") if isinstance(element.get("maxLength"), int) else None,
            min_value=min_value,
            max_value=max_value,
        )
        if choice:
            rule.json_names = {choice_json_name(name, t.code): t for t in types}
        elif types:
            rule.json_names = {name: types[0]}
        elif rule.content_reference:
            rule.json_names = {name: TypeRule("BackboneElement")}
        return rule

    def _prepare_slicing(self, rule: ElementRule) -> None:
        """Work out, for each slice, the discriminator values an item must carry to belong to it."""
        if not rule.discriminators and rule.types and rule.types[0].code == "Extension":
            rule.discriminators = [Discriminator("value", "url")]  # extensions are always sliced by url
            rule.slicing_rules = rule.slicing_rules or "open"
        rule.slicing_rules = rule.slicing_rules or "open"
        for slice_rule in rule.slices:
            values = [self._slice_value(slice_rule, d) for d in rule.discriminators]
            # a slice constraining none of the discriminators cannot be told apart: no values, no match
            slice_rule.discriminator_values = [] if all(v is MISSING for v in values) else values
        rule.slice_table = _slice_table(rule)

    def _slice_value(self, slice_rule: ElementRule, discriminator: Discriminator) -> Any:
        if discriminator.kind in ("type", "profile"):
            target: ElementRule | None = slice_rule
            if discriminator.path != "$this":
                # Bundle.entry sliced by the type (or profile) of ``resource``: read that element's types
                target = self._element_at(slice_rule, discriminator.path.split("."))
            if target is None:
                return MISSING
            if discriminator.kind == "profile":
                return tuple(p for t in target.types for p in t.profiles) or MISSING
            codes = tuple(t.code for t in target.types if t.code not in ("Resource", "DomainResource"))
            return codes or MISSING  # the types the slice allows
        if discriminator.kind == "exists":
            target = self._element_at(slice_rule, discriminator.path.split("."))
            if target is None or (target.min == 0 and target.max != 0):
                return MISSING
            return target.max != 0  # True: the slice requires the element; False: it prohibits it
        if discriminator.path == "$this":
            return slice_rule.fixed if slice_rule.fixed is not MISSING else slice_rule.pattern
        value = self._fixed_at(slice_rule, discriminator.path.split("."))
        if value is not MISSING:
            return value
        if discriminator.path == "url" and slice_rule.types and slice_rule.types[0].profiles:
            return slice_rule.types[0].profiles[0]  # an extension slice: the extension definition's url
        return MISSING

    def _element_at(self, rule: ElementRule, parts: list[str]) -> ElementRule | None:
        """The element at a relative path below ``rule`` (no slices), or None."""
        for part in parts:
            children = rule.children
            if not children and rule.types:
                structure = self.content_structure(rule, rule.types[0])
                children = structure.children if structure else []
            found = next((c for c in children if c.name == part and c.slice_name is None), None)
            if found is None:
                return None
            rule = found
        return rule

    def _fixed_at(self, rule: ElementRule, parts: list[str]) -> Any:
        """The fixed or pattern value at a relative path below ``rule``, looking into nested slices too
        (core's bp profile fixes ``component:SystolicBP.code.coding:SBPCode.code``)."""
        if not parts:
            return rule.fixed if rule.fixed is not MISSING else rule.pattern
        children = rule.children
        if not children and rule.types:
            structure = self.content_structure(rule, rule.types[0])
            children = structure.children if structure else []
        child = next((c for c in children if c.name == parts[0] and c.slice_name is None), None)
        if child is None:
            return MISSING
        for candidate in (child, *child.slices):
            value = self._fixed_at(candidate, parts[1:])
            if value is not MISSING:
                return value
        return MISSING

    # -- look-ups the walker needs -----------------------------------------------------------------

    def is_resource_type(self, name: str) -> bool:
        """True for a concrete R4 resource type name (``Patient``), false for data types and abstract ones."""
        known = self._resource_types.get(name)
        if known is None:
            sd = self.store.structure_definition(name) if name and name.isalnum() else None
            known = bool(
                sd is not None
                and sd.get("kind") == "resource"
                and sd.get("derivation") == "specialization"
                and not sd.get("abstract")
                and sd.get("type") == name
            )
            self._resource_types[name] = known
        return known

    def profile_type(self, url: str) -> str | None:
        """The resource or data type a profile constrains (``Patient`` for parent-patient)."""
        sd = self.store.structure_definition(url)
        return sd.get("type") if sd else None

    def target_types(self, target_profiles: tuple[str, ...]) -> tuple[str, ...]:
        """The resource types a Reference may point at (empty: any); cached, as every reference asks."""
        cached = self._target_types.get(target_profiles)
        if cached is None:
            cached = self._target_types[target_profiles] = self._find_target_types(target_profiles)
        return cached

    def _find_target_types(self, target_profiles: tuple[str, ...]) -> tuple[str, ...]:
        types = []
        for url in target_profiles:
            resource_type = self.profile_type(url)
            if resource_type and resource_type != "Resource":
                types.append(resource_type)
        return tuple(types) if len(types) == len(target_profiles) else ()

    def target_constraints(self, target_profiles: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(profiles that constrain a resource type, profiles not loaded) among a Reference's targetProfile:
        the first are checked against the target where the Bundle holds it, the second cannot be."""
        cached = self._target_constraints.get(target_profiles)
        if cached is None:
            cached = self._find_target_constraints(target_profiles)
            self._target_constraints[target_profiles] = cached
        return cached

    def _find_target_constraints(
        self, target_profiles: tuple[str, ...]
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        constraints, unknown = [], []
        for url in target_profiles:
            sd = self.store.structure_definition(url)
            if sd is None:
                unknown.append(url)
            elif sd.get("derivation") == "constraint":
                constraints.append(sd.get("url", url))
        return tuple(constraints), tuple(unknown)

    def extension_definition(self, url: str) -> Structure | None:
        """The compiled definition of an extension by its url, or None when it is not a known extension."""
        sd = self.store.structure_definition(url) if "/" in url or ":" in url else None
        if sd is None or sd.get("type") != "Extension" or sd.get("derivation") != "constraint":
            return None
        return self.structure(sd["url"])

    def extension_contexts(self, url: str) -> list[str]:
        """Where an extension may be used, as element paths or type names (``Patient``, ``Element``)."""
        sd = self.store.structure_definition(url)
        if sd is None:
            return []
        return [c.get("expression", "") for c in sd.get("context", []) if c.get("type") in ("element", None)]


def _slice_table(rule: ElementRule) -> tuple[str, dict[str, int]] | None:
    """The look-up table for slicing by one ``value`` discriminator at a property, when every slice requires
    a string there (or constrains nothing, so it matches nothing); otherwise None."""
    if len(rule.discriminators) != 1:
        return None
    discriminator = rule.discriminators[0]
    if discriminator.kind != "value" or discriminator.path == "$this" or "." in discriminator.path:
        return None
    table: dict[str, int] = {}
    for position, slice_rule in enumerate(rule.slices):
        if not slice_rule.discriminator_values:
            continue  # a slice constraining no discriminator matches nothing
        (expected,) = slice_rule.discriminator_values
        if not isinstance(expected, str):
            return None
        table.setdefault(expected, position)
    return discriminator.path, table
