"""Tables for the terminology pages: CodeSystem concepts, ValueSet composition and expansion, ConceptMaps.

Expansions are computed here, offline, from what the guide and the core package hold: enumerated concepts and
whole code systems are expanded; a filter (``is-a`` ...) is not, and the page says so rather than guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..conformance.packages import DefinitionStore

Resource = dict[str, Any]


@dataclass(frozen=True)
class ConceptRow:
    code: str
    display: str
    definition: str
    depth: int = 0


@dataclass(frozen=True)
class ExpansionRow:
    system: str
    code: str
    display: str


@dataclass
class Expansion:
    """The codes a ValueSet holds, or why they cannot be listed offline."""

    rows: list[ExpansionRow] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)


def concept_rows(code_system: Resource) -> list[ConceptRow]:
    """Every concept of a CodeSystem, depth-first, with its nesting depth."""
    rows: list[ConceptRow] = []

    def walk(concepts: list[Resource], depth: int) -> None:
        for concept in concepts:
            rows.append(ConceptRow(concept.get("code", ""), concept.get("display", ""),
                                   concept.get("definition", ""), depth))
            walk(concept.get("concept", []), depth + 1)

    walk(code_system.get("concept", []), 0)
    return rows


def _displays(code_system: Resource | None) -> dict[str, str]:
    if not code_system:
        return {}
    return {row.code: row.display for row in concept_rows(code_system)}


def expand(value_set: Resource, store: DefinitionStore) -> Expansion:
    """The ValueSet's codes, from its enumerated concepts and the code systems available offline."""
    expansion = Expansion()
    excluded: set[tuple[str, str]] = set()
    for exclude in value_set.get("compose", {}).get("exclude", []):
        for concept in exclude.get("concept", []):
            excluded.add((exclude.get("system", ""), concept.get("code", "")))
    seen: set[tuple[str, str]] = set()
    for include in value_set.get("compose", {}).get("include", []):
        system = include.get("system", "")
        code_system = store.get(system) if system else None
        if code_system is not None and code_system.get("resourceType") != "CodeSystem":
            code_system = None
        displays = _displays(code_system)
        if include.get("valueSet"):
            expansion.incomplete.append(f"includes value sets {', '.join(include['valueSet'])}")
            continue
        if include.get("filter"):
            expansion.incomplete.append(f"{system}: filtered include not expanded offline")
            continue
        if include.get("concept"):
            pairs = [(c.get("code", ""), c.get("display") or displays.get(c.get("code", ""), ""))
                     for c in include["concept"]]
        elif code_system is not None and code_system.get("content") in (None, "complete"):
            pairs = [(row.code, row.display) for row in concept_rows(code_system)]
        else:
            expansion.incomplete.append(f"{system}: code system not available offline")
            continue
        for code, display in pairs:
            key = (system, code)
            if key in excluded or key in seen:
                continue
            seen.add(key)
            expansion.rows.append(ExpansionRow(system, code, display))
    return expansion


@dataclass(frozen=True)
class MapRow:
    source_system: str
    source_code: str
    source_display: str
    equivalence: str
    target_system: str
    target_code: str
    target_display: str
    comment: str


def concept_map_rows(concept_map: Resource, store: DefinitionStore) -> list[MapRow]:
    """One row per (source code, target) pair; an unmatched source code gets a row with no target."""
    rows = []
    for group in concept_map.get("group", []):
        source_system = group.get("source", "")
        target_system = group.get("target", "")
        source_displays = _displays(_code_system(store, source_system))
        target_displays = _displays(_code_system(store, target_system))
        for element in group.get("element", []):
            code = element.get("code", "")
            source_display = element.get("display") or source_displays.get(code, "")
            targets = element.get("target") or [{"equivalence": "unmatched"}]
            for target in targets:
                target_code = target.get("code", "")
                rows.append(MapRow(
                    source_system, code, source_display, target.get("equivalence", ""),
                    target_system if target_code else "", target_code,
                    target.get("display") or target_displays.get(target_code, ""), target.get("comment", ""),
                ))
    return rows


def _code_system(store: DefinitionStore, system: str) -> Resource | None:
    resource = store.get(system) if system else None
    return resource if resource and resource.get("resourceType") == "CodeSystem" else None
