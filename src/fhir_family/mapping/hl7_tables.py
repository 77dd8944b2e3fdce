"""HL7 v2 code tables the ADT parser needs, read from the guide and the core package when they are there.

Relationship codes (NK1-3, table 0063) map to the guide's dependent-child relationships through the guide's
own ConceptMap ``v2-0063-to-dependent-child-relationship``, so the facade and the published guide cannot
disagree; the same table in ``fhir_family.model`` is the fallback before the guide has been generated.
"""

from __future__ import annotations

import json
from functools import cache
from types import MappingProxyType
from typing import Final

from fhir_family.guide import core_package_dir, guide_resources_dir
from fhir_family.model import V2_0063_TO_RELATIONSHIP

CONCEPT_MAP_FILE: Final = "ConceptMap-v2-0063-to-dependent-child-relationship.json"

TABLE_0063_FALLBACK: Final = frozenset({
    "ASC", "BRO", "CGV", "CHD", "DEP", "DOM", "EMC", "EME", "EMR", "EXF", "FCH", "FND", "FTH", "GCH", "GRD",
    "GRP", "MGR", "MTH", "NCH", "NON", "OAD", "OTH", "OWN", "PAR", "SCH", "SEL", "SIB", "SIS", "SPO", "TRA",
    "UNK", "WRD",
})
"""Codes of HL7 table 0063 (Relationship) as in hl7.fhir.r4.core 4.0.1 CodeSystem v2-0063."""

SEX_TO_GENDER: Final = MappingProxyType({"M": "male", "F": "female", "O": "other", "U": "unknown",
                                         "A": "other", "N": "unknown"})
"""HL7 table 0001 (Administrative Sex) -> administrative-gender, as the FHIR v2 mapping guide does it."""

YES_NO_UNKNOWN_ALIASES: Final = MappingProxyType({"Y": "Y", "N": "N", "UNK": "UNK", "U": "UNK"})
"""HL7 table 0136 (Yes/No) plus the guide's UNK; ``U`` is read as unknown."""


@cache
def table_0063() -> frozenset[str]:
    """Every code of table 0063, from the core package when installed."""
    path = core_package_dir() / "CodeSystem-v2-0063.json"
    if path.is_file():
        concepts = json.loads(path.read_text("utf-8")).get("concept", [])
        return frozenset(concept["code"] for concept in concepts)
    return TABLE_0063_FALLBACK


@cache
def relationship_map() -> MappingProxyType[str, str]:
    """Table 0063 code -> dependent-child relationship code; codes with no map are not dependent children."""
    path = guide_resources_dir() / CONCEPT_MAP_FILE
    if not path.is_file():
        return V2_0063_TO_RELATIONSHIP
    concept_map = json.loads(path.read_text("utf-8"))
    mapped: dict[str, str] = {}
    for group in concept_map.get("group", []):
        for element in group.get("element", []):
            for target in element.get("target", []):
                if target.get("equivalence") not in ("unmatched", "disjoint") and target.get("code"):
                    mapped.setdefault(element["code"], target["code"])
    return MappingProxyType(mapped)
