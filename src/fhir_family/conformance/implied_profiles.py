"""Profiles R4 applies to a resource by its content, not by ``meta.profile``: the vital signs profiles.

R4 observation-vitalsigns.html: "If a resource is used to represent vital signs, and has a LOINC code listed
in the table, it SHALL conform to the corresponding profile". The codes come from the profiles themselves (the
fixed ``Observation.code.coding:XCode.code`` of each core vital-signs profile), so the table below only
names which core profiles those are.
"""

from __future__ import annotations

from typing import Any

from .packages import DefinitionStore

LOINC = "http://loinc.org"
_CORE = "http://hl7.org/fhir/StructureDefinition/"
#: the core profiles of the vital signs table (observation-vitalsigns.html), each fixing one LOINC code
VITAL_SIGNS_PROFILES = tuple(
    _CORE + name
    for name in (
        "vitalspanel",
        "resprate",
        "heartrate",
        "oxygensat",
        "bodytemp",
        "bodyheight",
        "headcircum",
        "bodyweight",
        "bmi",
        "bp",
    )
)


def vital_signs_codes(store: DefinitionStore) -> dict[str, str]:
    """LOINC code -> the vital-signs profile that code obliges, read from the loaded core profiles."""
    table: dict[str, str] = {}
    for url in VITAL_SIGNS_PROFILES:
        sd = store.get(url)
        if not isinstance(sd, dict):
            continue
        for element in sd.get("snapshot", {}).get("element", []):
            fixed = element.get("fixedCode")
            if element.get("path") == "Observation.code.coding.code" and isinstance(fixed, str):
                table[fixed] = url
    return table


def implied_profiles(resource: dict[str, Any], vital_signs: dict[str, str]) -> list[str]:
    """The vital-signs profiles an Observation must conform to because of its LOINC codes."""
    if resource.get("resourceType") != "Observation" or not vital_signs:
        return []
    code = resource.get("code")
    codings = code.get("coding") if isinstance(code, dict) else None
    if not isinstance(codings, list):
        return []
    found = []
    for coding in codings:
        if isinstance(coding, dict) and coding.get("system") == LOINC:
            url = vital_signs.get(coding.get("code"))  # type: ignore[arg-type]
            if url is not None and url not in found:
                found.append(url)
    return found
