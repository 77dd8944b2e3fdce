"""Local terminology: ValueSet expansion and code checks from the core package and the guide, no server.

Bindings are checked on every coded element of every bundle, so each ValueSet is expanded once into a
frozenset of ``(system, code)`` pairs and every later check is a set lookup. Expansion follows ``compose``:
explicit concepts, whole code systems (nested concepts included), the filters the core and guide data use
(``is-a``, ``descendent-of``, ``is-not-a``, ``=``, ``in``, ``not-in``, ``regex``, ``exists``,
``generalizes``) with v3's extra ``child`` hierarchy property and ``parent``/``subsumedBy`` properties,
``valueSet`` imports and ``exclude``. An ``expansion`` already in the ValueSet is used as it stands.

Some code systems are not available offline (SNOMED CT, LOINC, UCUM, UK Core's). A ValueSet that enumerates
concepts from them still works; where a ValueSet includes such a system whole or by filter, codes of that
system answer "cannot check" (``None``) and the validator warns rather than errors.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .packages import DefinitionStore, split_canonical

Pair = tuple[str, str]

#: Hierarchy properties: concept property code -> True when its value names a child, False when a parent.
_HIERARCHY_PROPERTIES = {"child": True, "parent": False, "subsumedBy": False}
_RESULT_CACHE_LIMIT = 20_000
#: In ``Expansion.unchecked_systems``: membership of no system can be decided (an import is unavailable).
ANY_SYSTEM = "*"
#: how many allowed codes a "not in the ValueSet" message lists before pointing at the ValueSet
ALLOWED_SHOWN = 10


@dataclass(frozen=True)
class Expansion:
    """The codes of one ValueSet, and the systems whose membership could not be worked out locally."""

    codes: frozenset[Pair]
    displays: dict[Pair, str] = field(default_factory=dict, compare=False)
    #: systems included whole or by a filter that could not be evaluated: their codes "cannot be checked"
    unchecked_systems: frozenset[str] = frozenset()

    #: the bare codes, for elements of type ``code`` that carry no system
    bare_codes: frozenset[str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "bare_codes", frozenset(code for _system, code in self.codes))

    @property
    def complete(self) -> bool:
        return not self.unchecked_systems

    def is_unchecked(self, system: str) -> bool:
        """Codes of this system cannot be confirmed or refuted locally (``*``: of any system)."""
        return system in self.unchecked_systems or ANY_SYSTEM in self.unchecked_systems

    def contains(self, system: str | None, code: str) -> bool | None:
        """True/False, or None when membership cannot be decided locally."""
        if system is None:
            if code in self.bare_codes:
                return True
            return None if self.unchecked_systems else False
        if (system, code) in self.codes:
            return True
        return None if self.is_unchecked(system) else False

    def union(self, other: Expansion) -> Expansion:
        return Expansion(
            self.codes | other.codes,
            {**other.displays, **self.displays},
            self.unchecked_systems | other.unchecked_systems,
        )

    def intersection(self, other: Expansion) -> Expansion:
        codes = (self.codes & other.codes) | {p for p in self.codes if other.is_unchecked(p[0])}
        codes |= {p for p in other.codes if self.is_unchecked(p[0])}
        displays = {p: d for p, d in {**other.displays, **self.displays}.items() if p in codes}
        return Expansion(frozenset(codes), displays, self.unchecked_systems & other.unchecked_systems)

    def minus(self, other: Expansion) -> Expansion:
        codes = self.codes - other.codes
        return Expansion(
            codes, {p: d for p, d in self.displays.items() if p in codes}, self.unchecked_systems
        )


EMPTY = Expansion(frozenset())


@dataclass(frozen=True)
class CodeResult:
    """The answer to "may this code be used here?" with what is known about the code."""

    #: in the ValueSet: True, False, or None when it cannot be checked locally (validator: warning)
    valid: bool | None
    #: the code system is available locally
    system_known: bool
    #: the code exists in its code system: None when the system is not available (or not complete)
    code_known: bool | None
    #: the code's display in the code system (or in the ValueSet's enumeration)
    display: str | None
    #: plain English, for diagnostics
    message: str


class CodeSystemIndex:
    """One CodeSystem flattened: code -> display, hierarchy and property values, for filters and lookups."""

    def __init__(self, resource: dict[str, Any]) -> None:
        self.url: str = resource.get("url", "")
        #: every code is listed (content = complete): absence means "not a code of this system"
        self.complete = resource.get("content", "complete") == "complete"
        self.case_sensitive = resource.get("caseSensitive", True) is not False
        self.displays: dict[str, str | None] = {}
        self.children: dict[str, set[str]] = {}
        self.properties: dict[str, dict[str, set[str]]] = {}
        self._add(resource.get("concept", []), None)
        self._lower = {code.lower(): code for code in self.displays} if not self.case_sensitive else {}

    def _add(self, concepts: list[dict[str, Any]], parent: str | None) -> None:
        for concept in concepts:
            code = concept.get("code")
            if not isinstance(code, str):
                continue
            self.displays[code] = concept.get("display")
            if parent is not None:
                self.children.setdefault(parent, set()).add(code)
            values = self.properties.setdefault(code, {})
            if parent is not None:
                values.setdefault("parent", set()).add(parent)
            for prop in concept.get("property", []):
                value = _property_value(prop)
                if value is None:
                    continue
                values.setdefault(prop.get("code", ""), set()).add(value)
                points_to_child = _HIERARCHY_PROPERTIES.get(prop.get("code", ""))
                if points_to_child is True:
                    self.children.setdefault(code, set()).add(value)
                elif points_to_child is False:
                    self.children.setdefault(value, set()).add(code)
            self._add(concept.get("concept", []), code)

    def canonical_code(self, code: str) -> str | None:
        """The code as the system spells it (case-insensitive systems accept any case), or None."""
        if code in self.displays:
            return code
        return self._lower.get(code.lower()) if self._lower else None

    def descendants(self, code: str) -> set[str]:
        """Every code below ``code`` (nesting plus hierarchy properties), not ``code`` itself."""
        found: set[str] = set()
        stack = [code]
        while stack:
            for child in self.children.get(stack.pop(), ()):
                if child not in found:
                    found.add(child)
                    stack.append(child)
        found.discard(code)
        return found

    def ancestors(self, code: str) -> set[str]:
        parents: dict[str, set[str]] = {}
        for parent, kids in self.children.items():
            for kid in kids:
                parents.setdefault(kid, set()).add(parent)
        found: set[str] = set()
        stack = [code]
        while stack:
            for parent in parents.get(stack.pop(), ()):
                if parent not in found:
                    found.add(parent)
                    stack.append(parent)
        return found

    def select(self, prop: str, op: str, value: str) -> set[str] | None:
        """The codes matching one compose filter, or None when the filter cannot be evaluated here."""
        codes = set(self.displays)
        if prop in ("concept", "code"):
            if op == "is-a":
                return {value} | self.descendants(value) if value in self.displays else set()
            if op == "descendent-of":
                return self.descendants(value)
            if op == "is-not-a":
                return codes - ({value} | self.descendants(value))
            if op == "generalizes":
                return {value} | self.ancestors(value) if value in self.displays else set()
            if op == "in":
                return codes & set(value.split(","))
            if op == "not-in":
                return codes - set(value.split(","))
            if op == "regex":
                pattern = re.compile(value)
                return {c for c in codes if pattern.fullmatch(c)}
            if op == "=":
                return codes & {value}
            return None
        known = any(prop in values for values in self.properties.values())
        if not known and prop != "parent":
            return None
        if op == "=":
            return {c for c in codes if value in self.properties.get(c, {}).get(prop, ())}
        if op == "in":
            wanted = set(value.split(","))
            return {c for c in codes if wanted & self.properties.get(c, {}).get(prop, set())}
        if op == "not-in":
            wanted = set(value.split(","))
            return {c for c in codes if not wanted & self.properties.get(c, {}).get(prop, set())}
        if op == "exists":
            present = {c for c in codes if self.properties.get(c, {}).get(prop)}
            return present if value == "true" else codes - present
        if op == "regex":
            pattern = re.compile(value)
            return {
                c
                for c in codes
                if any(pattern.fullmatch(v) for v in self.properties.get(c, {}).get(prop, ()))
            }
        return None


def _property_value(prop: dict[str, Any]) -> str | None:
    for key, value in prop.items():
        if key.startswith("value"):
            if isinstance(value, bool):
                return "true" if value else "false"
            if isinstance(value, (str, int, float)):
                return str(value)
            if isinstance(value, dict) and "code" in value:
                return str(value["code"])
    return None


def _walk_contains(contains: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in contains:
        yield item
        yield from _walk_contains(item.get("contains", []))


class Terminology:
    """ValueSet membership and code lookups over a DefinitionStore, each ValueSet expanded once and cached."""

    def __init__(self, store: DefinitionStore) -> None:
        self.store = store
        self._systems: dict[str, CodeSystemIndex | None] = {}
        self._expansions: dict[str, Expansion | None] = {}
        self._results: dict[tuple[str, str | None, str], CodeResult] = {}
        self._lock = threading.RLock()
        self._expanding: set[str] = set()

    # -- code systems ---------------------------------------------------------------------------------

    def code_system(self, system: str) -> CodeSystemIndex | None:
        """The flattened CodeSystem for a system url, or None when it is not available locally."""
        base, _version = split_canonical(system)
        if base in self._systems:
            return self._systems[base]
        with self._lock:
            resource = self.store.get(base)
            index = None
            usable = resource is not None and resource.get("resourceType") == "CodeSystem"
            if usable and resource.get("content") not in ("not-present", "supplement"):
                index = CodeSystemIndex(resource)
            self._systems[base] = index
            return index

    def code_in_system(self, system: str, code: str) -> bool | None:
        """Whether ``code`` exists in ``system``; None when the system is unavailable or partly listed."""
        index = self.code_system(system)
        if index is None:
            return None
        if index.canonical_code(code) is not None:
            return True
        return False if index.complete else None

    def display(self, system: str, code: str) -> str | None:
        index = self.code_system(system)
        if index is None:
            return None
        canonical = index.canonical_code(code)
        return index.displays.get(canonical) if canonical is not None else None

    # -- value sets -----------------------------------------------------------------------------------

    def expand(self, valueset_url: str) -> Expansion | None:
        """The ValueSet's expansion (computed once), or None when the ValueSet is not available."""
        base, _version = split_canonical(valueset_url)
        if base in self._expansions:
            return self._expansions[base]
        with self._lock:
            if base in self._expansions:
                return self._expansions[base]
            resource = self.store.get(base)
            if resource is None or resource.get("resourceType") != "ValueSet":
                expansion = None
            elif base in self._expanding:
                # A ValueSet that imports itself (directly or not): stop here rather than loop.
                return EMPTY
            else:
                self._expanding.add(base)
                try:
                    expansion = self._compute(resource)
                finally:
                    self._expanding.discard(base)
            self._expansions[base] = expansion
            return expansion

    def _compute(self, valueset: dict[str, Any]) -> Expansion:
        stored = valueset.get("expansion")
        if stored and stored.get("contains") and not stored.get("offset"):
            pairs = {}
            for item in _walk_contains(stored["contains"]):
                if item.get("system") and item.get("code"):
                    pairs[(item["system"], item["code"])] = item.get("display")
            return Expansion(frozenset(pairs), {p: d for p, d in pairs.items() if d})
        compose = valueset.get("compose", {})
        result = EMPTY
        for include in compose.get("include", []):
            result = result.union(self._component(include))
        for exclude in compose.get("exclude", []):
            result = result.minus(self._component(exclude))
        return result

    def _component(self, part: dict[str, Any]) -> Expansion:
        """One compose.include / compose.exclude entry."""
        pieces: list[Expansion] = []
        system = part.get("system")
        if system:
            pieces.append(self._system_part(system, part))
        for imported in part.get("valueSet", []):
            expansion = self.expand(imported)
            # An imported ValueSet we do not have: nothing in it can be confirmed or refuted.
            pieces.append(
                expansion if expansion is not None else Expansion(frozenset(), {}, frozenset({ANY_SYSTEM}))
            )
        if not pieces:
            return EMPTY
        result = pieces[0]
        for piece in pieces[1:]:
            result = result.intersection(piece)
        return result

    def _system_part(self, system: str, part: dict[str, Any]) -> Expansion:
        index = self.code_system(system)
        concepts = part.get("concept")
        filters = part.get("filter", [])
        if concepts:
            displays = {}
            for concept in concepts:
                code = concept.get("code")
                if not isinstance(code, str):
                    continue
                known = index.displays.get(code) if index is not None else None
                displays[(system, code)] = known or concept.get("display")
            if index is not None and index.complete:
                # Listing a code the system does not define does not make it a code.
                displays = {p: d for p, d in displays.items() if index.canonical_code(p[1]) is not None}
            return Expansion(frozenset(displays), {p: d for p, d in displays.items() if d})
        if index is None:
            return Expansion(frozenset(), {}, frozenset({system}))
        codes = set(index.displays)
        for flt in filters:
            selected = index.select(flt.get("property", ""), flt.get("op", ""), str(flt.get("value", "")))
            if selected is None:
                return Expansion(frozenset(), {}, frozenset({system}))
            codes &= selected
        pairs = frozenset((system, code) for code in codes)
        displays = {(system, code): index.displays[code] for code in codes if index.displays.get(code)}
        unchecked = frozenset() if index.complete else frozenset({system})
        return Expansion(pairs, displays, unchecked)

    def validate_code(self, valueset_url: str, system: str | None, code: str) -> CodeResult:
        """Whether ``system|code`` is in the ValueSet, whether it exists in its system, and its display."""
        key = (valueset_url, system, code)
        cached = self._results.get(key)
        if cached is not None:
            return cached
        result = self._validate(valueset_url, system, code)
        if len(self._results) >= _RESULT_CACHE_LIMIT:
            self._results.clear()
        self._results[key] = result
        return result

    def _validate(self, valueset_url: str, system: str | None, code: str) -> CodeResult:
        system_known = bool(system) and self.code_system(system) is not None
        code_known = self.code_in_system(system, code) if system else None
        display = self.display(system, code) if system else None
        shown = f"'{system}|{code}'" if system else f"'{code}'"
        expansion = self.expand(valueset_url)
        if expansion is None:
            message = f"ValueSet {valueset_url} is not available locally, so {shown} could not be checked"
            return CodeResult(None, system_known, code_known, display, message)
        if system and code_known is False:
            message = f"Unknown code {shown}: it is not defined in {system}"
            return CodeResult(False, True, False, None, message)
        member = expansion.contains(system, code)
        if display is None:
            display = _expansion_display(expansion, system, code)
        if member is True:
            message = f"{shown} is in ValueSet {valueset_url}"
        elif member is None:
            message = (
                f"{shown} could not be checked against ValueSet {valueset_url}: "
                "its code system is not available locally"
            )
        else:
            message = f"{shown} is not in ValueSet {valueset_url}"
        return CodeResult(member, system_known, code_known, display, message)

    def allowed_codes(self, valueset_url: str, limit: int = ALLOWED_SHOWN) -> str | None:
        """The codes a ValueSet allows, in words for a message: all of them, or the first ``limit`` (in their
        code system's order) and where to find the rest; None when the expansion is not complete here."""
        expansion = self.expand(valueset_url)
        if expansion is None or not expansion.complete or not expansion.codes:
            return None
        positions: dict[str, dict[str, int]] = {}
        for system in {system for system, _code in expansion.codes}:
            index = self.code_system(system)
            positions[system] = {code: i for i, code in enumerate(index.displays)} if index else {}

        def order(pair: Pair) -> tuple[str, int, str]:
            return (pair[0], positions[pair[0]].get(pair[1], len(positions[pair[0]])), pair[1])

        pairs = sorted(expansion.codes, key=order)
        one_system = len(positions) == 1
        shown = []
        for system, code in pairs[:limit]:
            text = f"'{code}'" if one_system else f"'{system}|{code}'"
            display = expansion.displays.get((system, code)) or self.display(system, code)
            shown.append(f"{text} ({display})" if display and display != code else text)
        where = f" of {next(iter(positions))}" if one_system else ""
        if len(pairs) <= limit:
            return f"the allowed codes{where} are {', '.join(shown)}"
        base, _version = split_canonical(valueset_url)
        return (
            f"the first {limit} of {len(pairs)} allowed codes{where} are {', '.join(shown)}; "
            f"the full list is ValueSet {base}"
        )

    def validate_codings(self, valueset_url: str, codings: Iterable[tuple[str | None, str]]) -> CodeResult:
        """A CodeableConcept's verdict: valid when any coding is in the ValueSet (None beats False)."""
        results = [self.validate_code(valueset_url, system, code) for system, code in codings]
        for wanted in (True, None):
            for result in results:
                if result.valid is wanted:
                    return result
        if results:
            return results[0]
        return CodeResult(False, False, None, None, f"no coding given for ValueSet {valueset_url}")


def _expansion_display(expansion: Expansion, system: str | None, code: str) -> str | None:
    if system is not None:
        return expansion.displays.get((system, code))
    return next((d for (_s, c), d in expansion.displays.items() if c == code), None)
