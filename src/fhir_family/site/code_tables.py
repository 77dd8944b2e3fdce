"""Tables for the terminology pages: CodeSystem concepts, ValueSet composition and expansion, ConceptMaps.

Expansions are the validator's (``conformance.terminology.Terminology``), so a page lists exactly the codes
the validator accepts; what cannot be expanded offline is said on the page rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..conformance.packages import DefinitionStore
from ..conformance.terminology import ANY_SYSTEM, Terminology

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


def _listed_order(value_set: Resource, store: DefinitionStore) -> list[tuple[str, str]]:
    """(system, code) in the order the ValueSet lists them: enumerated concepts, else the code system's."""
    order = []
    for include in value_set.get("compose", {}).get("include", []):
        system = include.get("system", "")
        if include.get("concept"):
            order += [(system, concept.get("code", "")) for concept in include["concept"]]
        else:
            order += [(system, row.code) for row in concept_rows(_code_system(store, system) or {})]
    return order


def expand(value_set: Resource, store: DefinitionStore, terminology: Terminology | None = None) -> Expansion:
    """The validator's own expansion of the ValueSet (``conformance.terminology``), so the page lists exactly
    the codes the validator accepts, in the order the ValueSet lists them."""
    url = value_set.get("url", "")
    found = (terminology or Terminology(store)).expand(url)
    if found is None:
        return Expansion(incomplete=[f"{url} is not available offline"])
    expansion = Expansion()
    ordered = [pair for pair in dict.fromkeys(_listed_order(value_set, store)) if pair in found.codes]
    for system, code in ordered + sorted(set(found.codes) - set(ordered)):
        expansion.rows.append(ExpansionRow(system, code, found.displays.get((system, code)) or ""))
    for system in sorted(found.unchecked_systems):
        what = "an included value set" if system == ANY_SYSTEM else system
        expansion.incomplete.append(f"{what}: not all codes can be listed offline")
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
