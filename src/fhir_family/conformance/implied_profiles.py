"""Profiles that apply to a resource other than by its ``meta.profile``: the vital signs profiles R4 applies
by content, and the profiles a containing profile names on a Resource-typed element.

R4 observation-vitalsigns.html: "If a resource is used to represent vital signs, and has a LOINC code listed
in the table, it SHALL conform to the corresponding profile". The codes come from the profiles themselves (the
fixed ``Observation.code.coding:XCode.code`` of each core vital-signs profile), so the table below only
names which core profiles those are.
"""

from __future__ import annotations

from typing import Any

from .. import messages as msg
from ..outcome import IssueSeverity, IssueType
from .engine import Context, Walker
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


def check_required_profiles(
    walker: Walker,
    resource: dict[str, Any],
    expr: str,
    ctx: Context,
    profiles: tuple[str, ...],
    already: set[str | None],
) -> None:
    """A resource in an element whose type names profiles (``Bundle.entry:patient.resource`` typed
    ``Patient`` with profile X, ``Parameters.parameter.resource``) must conform to one of them
    (profiling.html: several profiles on a type are alternatives). A profile that is not loaded cannot be
    checked, and says so."""
    if any(url in already for url in profiles):
        return  # the resource is already validated against one of them
    known = []
    for url in profiles:
        structure = walker.compiler.structure(url)
        if structure is None:
            ctx.add(
                IssueSeverity.WARNING,
                IssueType.NOT_FOUND,
                msg.PROFILE_UNKNOWN,
                f"the containing profile requires profile {url} here, which is not loaded, so this "
                "resource could not be checked against it",
                expr,
            )
        elif structure.type_name not in (resource.get("resourceType"), "Resource", "DomainResource"):
            ctx.add(
                IssueSeverity.ERROR,
                IssueType.STRUCTURE,
                msg.PROFILE_TYPE,
                f"the containing profile requires profile {url} here, which constrains "
                f"{structure.type_name}, but this is a {resource.get('resourceType')}",
                expr,
            )
        else:
            known.append(structure)
    if len(known) == 1:
        walker.validate_resource(resource, known[0], expr, ctx)
        return
    trials = []
    for structure in known:
        trial = ctx.scratch()
        walker.validate_resource(resource, structure, expr, trial)
        if trial.errors == 0:
            _merge(ctx, trial)
            return
        trials.append((trial.errors, structure, trial))
    if trials:
        _errors, best, trial = min(trials, key=lambda t: t[0])
        ctx.add(
            IssueSeverity.ERROR,
            IssueType.STRUCTURE,
            msg.PROFILE_NONE_MATCH,
            f"this resource must conform to one of the profiles "
            f"{', '.join(s.profile_url or '' for _e, s, _t in trials)}; it conforms to none (the issues "
            f"against {best.profile_name or best.profile_url} follow)",
            expr,
        )
        _merge(ctx, trial)


def _merge(ctx: Context, trial: Context) -> None:
    ctx.issues.extend(trial.issues)
    ctx.errors += trial.errors
    ctx.references.extend(trial.references)
