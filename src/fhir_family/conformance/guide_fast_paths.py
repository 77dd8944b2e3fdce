"""Native twins of the guide's own invariants (``ff-*``), used only while their FHIRPath is unchanged.

fhirpathpy takes about half a millisecond for ``ff-nhs-1`` (ten substring/toInteger calls) and as long again
for the Bundle-wide ``ff-bun-*``; over every return that alone would cost more than fhir.resources needs to
parse it. The FHIRPath in the guide's StructureDefinitions stays the definition: each twin is keyed by the
exact expression text it was proven against (tests/test_validator_invariants.py compares both on every
example and on generated edge cases, and fails when the guide's text changes), so a changed expression drops
its twin and fhirpathpy takes over. A twin answers None for input shapes it does not model, which also hands
the case to fhirpathpy.
``Validator(store, native_fast_paths=False)`` turns all twins off.
"""

from __future__ import annotations

import re
from typing import Any

YES_NO_UNKNOWN = "https://fhir-family.uk/fhir/CodeSystem/yes-no-unknown"
_NHS_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)
# fhirpathpy's matches(): re.search with DOTALL (so "$" also matches before a final newline)
_TEN_DIGITS = re.compile("^[0-9]{10}$", re.DOTALL)
_ODS = re.compile("^[A-Z0-9]{3,6}$", re.DOTALL)

NHS_EXPRESSION = (
    "value.matches('^[0-9]{10}$') and ((11 - ((value.substring(0,1).toInteger()*10 + "
    "value.substring(1,1).toInteger()*9 + value.substring(2,1).toInteger()*8 + "
    "value.substring(3,1).toInteger()*7 + value.substring(4,1).toInteger()*6 + "
    "value.substring(5,1).toInteger()*5 + value.substring(6,1).toInteger()*4 + "
    "value.substring(7,1).toInteger()*3 + value.substring(8,1).toInteger()*2) mod 11)) mod 11) = "
    "value.substring(9,1).toInteger()"
)


def _string_value(data: Any) -> str | None:
    value = data.get("value") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def nhs_check_digit(first_nine: str) -> int | None:
    """The modulus-11 check digit for an NHS number's first nine digits; None when it would be 10 (no valid
    number starts with them)."""
    total = sum(int(first_nine[i]) * weight for i, weight in enumerate(_NHS_WEIGHTS))
    check = (11 - total % 11) % 11
    return None if check == 10 else check


def nhs_number(data: Any) -> bool | None:
    """ff-nhs-1: ten digits whose modulus-11 check digit is right (a check value of 10 never matches)."""
    value = _string_value(data)
    if value is None:
        return None
    if _TEN_DIGITS.search(value) is None:
        return False
    return nhs_check_digit(value[:9]) == int(value[9])


def ods_code(data: Any) -> bool | None:
    """ff-ods-1: three to six upper-case letters or digits."""
    value = _string_value(data)
    return None if value is None else _ODS.search(value) is not None


def _parts(data: Any) -> list[dict[str, Any]] | None:
    parts = data.get("extension", []) if isinstance(data, dict) else None
    if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
        return None
    return parts


def _values(parts: list[dict[str, Any]], url: str) -> list[Any]:
    return [
        value
        for part in parts
        if part.get("url") == url
        for key, value in part.items()
        if key.startswith("value") and key[5:6].isupper()
    ]


def pr_basis_needs_held(data: Any) -> bool | None:
    """ff-pr-1: a basis may be given only when responsibility is held (held = yes-no-unknown#Y)."""
    parts = _parts(data)
    if parts is None:
        return None
    if not any(part.get("url") == "basis" for part in parts):
        return True
    for value in _values(parts, "held"):
        if not isinstance(value, dict) or not isinstance(value.get("coding", []), list):
            return None
        for coding in value.get("coding", []):
            if (
                isinstance(coding, dict)
                and coding.get("system") == YES_NO_UNKNOWN
                and coding.get("code") == "Y"
            ):
                return True
    return False


def expected_child_needs_expecting(data: Any) -> bool | None:
    """ff-ps-1: a due date or unborn-child help only when expectingChild is true."""
    parts = _parts(data)
    if parts is None:
        return None
    if not any(part.get("url") in ("expectedDueDate", "unbornChildHelp") for part in parts):
        return True
    return any(value is True for value in _values(parts, "expectingChild"))


def _resources(bundle: Any) -> list[dict[str, Any]] | None:
    entries = bundle.get("entry", []) if isinstance(bundle, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        return None
    resources = [e["resource"] for e in entries if "resource" in e]
    if not all(isinstance(r, dict) and isinstance(r.get("resourceType"), str) for r in resources):
        return None
    return resources


def _count(bundle: Any, resource_type: str) -> int | None:
    resources = _resources(bundle)
    return None if resources is None else sum(1 for r in resources if r["resourceType"] == resource_type)


def one_patient(bundle: Any) -> bool | None:
    """ff-bun-1: exactly one Patient."""
    count = _count(bundle, "Patient")
    return None if count is None else count == 1


def one_organization_one_episode(bundle: Any) -> bool | None:
    """ff-bun-2: exactly one Organization and exactly one EpisodeOfCare."""
    organizations, episodes = _count(bundle, "Organization"), _count(bundle, "EpisodeOfCare")
    return None if organizations is None or episodes is None else organizations == 1 and episodes == 1


def children_reference_the_patient(bundle: Any) -> bool | None:
    """ff-bun-3: every RelatedPerson.patient.reference is the fullUrl of a Patient entry."""
    resources = _resources(bundle)
    if resources is None:
        return None
    patient_urls = set()
    for entry in bundle.get("entry", []):
        resource = entry.get("resource")
        if isinstance(resource, dict) and resource.get("resourceType") == "Patient" and "fullUrl" in entry:
            if not isinstance(entry["fullUrl"], str):
                return None
            patient_urls.add(entry["fullUrl"])
    for resource in resources:
        if resource["resourceType"] != "RelatedPerson" or "patient" not in resource:
            continue
        patient = resource["patient"]
        if not isinstance(patient, dict):
            return None
        reference = patient.get("reference")
        if reference is None:
            continue
        if not isinstance(reference, str):
            return None
        if reference not in patient_urls:
            return False
    return True


def only_return_resources(bundle: Any) -> bool | None:
    """ff-bun-4: every resource is a Patient, RelatedPerson, Organization or EpisodeOfCare."""
    resources = _resources(bundle)
    if resources is None:
        return None
    allowed = {"Patient", "RelatedPerson", "Organization", "EpisodeOfCare"}
    return all(r["resourceType"] in allowed for r in resources)


REPORTING_PERIOD = "https://fhir-family.uk/fhir/StructureDefinition/reporting-period"
_REPORTING_END = (
    f"%context.meta.extension.where(url = '{REPORTING_PERIOD}').value.end.toString()"
)


def _reporting_end(bundle: dict[str, Any]) -> tuple[bool, str | None]:
    """(modelled, the reporting period's end): the end of the ``reporting-period`` extension on
    ``Bundle.meta``, which fhirpathpy compares only when there is at most one (not modelled otherwise, nor
    for odd shapes).

    fhirpathpy evaluates this ``%context`` path again for every child inside ``all()``; in guide 0.1 the
    period sat on the Patient, so that was n scans of the Bundle (the quadratic step behind a 1.4 MB Bundle's
    78 s in ``$validate``). On Bundle.meta each evaluation is cheap, and here it is read once anyway."""
    meta = bundle.get("meta", {})
    if not isinstance(meta, dict):
        return False, None
    parts = _parts(meta)
    if parts is None:
        return False, None
    ends = []
    for part in parts:
        if part.get("url") != REPORTING_PERIOD:
            continue
        values = [k for k in part if k.startswith("value") and k[5:6].isupper()]
        if values != ["valuePeriod"] and values:
            return False, None
        period = part.get("valuePeriod", {})
        if not isinstance(period, dict) or "_end" in period:
            return False, None
        if "end" in period:
            if not isinstance(period["end"], str):
                return False, None
            ends.append(period["end"])
    if len(ends) > 1:
        return False, None
    return True, ends[0] if ends else None


def _none_after_reporting_end(bundle: Any, resource_type: str, date_of: Any) -> bool | None:
    """No ``resource_type`` whose date (``date_of``: its string, None when absent, False when not modelled)
    sorts after the reporting period's end, compared as strings as the FHIRPath does."""
    resources = _resources(bundle)
    if resources is None:
        return None
    modelled, end = _reporting_end(bundle)
    if not modelled:
        return None
    for resource in resources:
        if resource["resourceType"] != resource_type:
            continue
        date = date_of(resource)
        if date is False:
            return None
        if end is not None and date is not None and date > end:
            return False
    return True


def _birth_date(resource: dict[str, Any]) -> str | None | bool:
    date = resource.get("birthDate")
    return False if "_birthDate" in resource or not (date is None or isinstance(date, str)) else date


def _period_start_day(resource: dict[str, Any]) -> str | None | bool:
    period = resource.get("period")
    if period is None:
        return None
    if not isinstance(period, dict) or "_start" in period:
        return False
    start = period.get("start")
    return start[:10] if isinstance(start, str) else (None if start is None else False)


def children_born_by_reporting_end(bundle: Any) -> bool | None:
    """ff-bun-5: no child born after the reporting period's end."""
    return _none_after_reporting_end(bundle, "RelatedPerson", _birth_date)


def episode_started_by_reporting_end(bundle: Any) -> bool | None:
    """ff-bun-6: the episode of care did not start after the reporting period's end."""
    return _none_after_reporting_end(bundle, "EpisodeOfCare", _period_start_day)


#: The guide's invariants that fhirpathpy evaluates with no native twin (consistency rules of 0.2, each cheap
#: next to the ones above); a twin may be added later once proven equal like the others.
FHIRPATH_ONLY = frozenset(
    {
        "ff-hp-1", "ff-hp-2", "ff-pr-2", "ff-pr-3", "ff-ps-2", "ff-ps-3", "ff-ps-4", "ff-tf-1", "ff-la-1",
        "ff-bun-8", "ff-bun-9", "ff-bun-11", "ff-bun-12", "ff-bun-13", "ff-bun-14",
    }
)

GUIDE_FAST_PATHS: dict[tuple[str, str], Any] = {
    ("ff-nhs-1", NHS_EXPRESSION): nhs_number,
    ("ff-ods-1", "value.matches('^[A-Z0-9]{3,6}$')"): ods_code,
    (
        "ff-pr-1",
        "extension.where(url = 'basis').exists() implies "
        "extension.where(url = 'held').value.coding.where("
        f"system = '{YES_NO_UNKNOWN}' and code = 'Y').exists()",
    ): pr_basis_needs_held,
    (
        "ff-ps-1",
        "(extension.where(url = 'expectedDueDate').exists() or "
        "extension.where(url = 'unbornChildHelp').exists()) "
        "implies extension.where(url = 'expectingChild').value.where($this = true).exists()",
    ): expected_child_needs_expecting,
    ("ff-bun-1", "entry.resource.ofType(Patient).count() = 1"): one_patient,
    (
        "ff-bun-2",
        "entry.resource.ofType(Organization).count() = 1 and "
        "entry.resource.ofType(EpisodeOfCare).count() = 1",
    ): one_organization_one_episode,
    (
        "ff-bun-3",
        "entry.resource.ofType(RelatedPerson).patient.reference.subsetOf("
        "%context.entry.where(resource is Patient).fullUrl)",
    ): children_reference_the_patient,
    (
        "ff-bun-4",
        "entry.resource.all(($this is Patient) or ($this is RelatedPerson) or ($this is Organization) or "
        "($this is EpisodeOfCare))",
    ): only_return_resources,
    (
        "ff-bun-5",
        "entry.resource.ofType(RelatedPerson).all(iif(birthDate.toString() > "
        f"{_REPORTING_END}, false, true))",
    ): children_born_by_reporting_end,
    (
        "ff-bun-6",
        "entry.resource.ofType(EpisodeOfCare).all(iif(period.start.toString().substring(0, 10) > "
        f"{_REPORTING_END}, false, true))",
    ): episode_started_by_reporting_end,
}
