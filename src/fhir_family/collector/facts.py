"""The reportable facts of a national-return bundle, read from the (already validated) bundle dict.

Pure functions over plain dicts, no database: ``store.py`` turns these into rows. Field names and codes are
those of docs/model.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from fhir_family import messages as msg

from ..errors import NonConformantError
from ..model import (
    EXT_CHILD_RESIDENCE,
    EXT_HELP_AND_PROTECTION,
    EXT_PARENTAL_RESPONSIBILITY,
    EXT_PARENTAL_STATUS,
    EXT_YOUNG_CARER,
    NHS_NUMBER_SYSTEM,
    ODS_SYSTEM,
    age_on,
)
from ..outcome import Issue, IssueSeverity, IssueType


@dataclass(frozen=True)
class ChildFacts:
    position: int
    nhs_number: str | None
    relationship: str
    age_years: int
    residence: str
    pr_held: str
    young_carer: str
    help: frozenset[str]


@dataclass(frozen=True)
class ReturnFacts:
    submission_id: str
    ods_code: str
    nhs_number: str
    parental_status: str
    period_start: date
    period_end: date
    children_in_household: int | None
    expecting_child: bool | None
    timestamp: datetime
    children: tuple[ChildFacts, ...]

    @property
    def report_month(self) -> str:
        return self.period_end.strftime("%Y-%m")


def _fail(message: str, expression: str | None = None) -> NonConformantError:
    issue = Issue(
        severity=IssueSeverity.ERROR,
        code=IssueType.PROCESSING,
        diagnostics=message,
        expression=expression,
        message_id=msg.COLLECTOR_FACTS,
    )
    return NonConformantError(message, [issue])


def submission_id(bundle: dict[str, Any]) -> str:
    identifier = bundle.get("identifier")
    value = identifier.get("value") if isinstance(identifier, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise _fail("The bundle has no submission id (Bundle.identifier.value)", "Bundle.identifier.value")
    return value


def resources(bundle: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """(entry index, resource) for every entry that carries a resource."""
    entries = bundle.get("entry") if isinstance(bundle.get("entry"), list) else []
    return [
        (index, entry["resource"])
        for index, entry in enumerate(entries)
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict)
    ]


def reporting_ods(bundle: dict[str, Any]) -> str | None:
    """The ODS code of the bundle's Organization, if one can be found (used before full validation)."""
    for _index, resource in resources(bundle):
        if resource.get("resourceType") == "Organization":
            for identifier in resource.get("identifier") or []:
                if isinstance(identifier, dict) and identifier.get("system") == ODS_SYSTEM:
                    value = identifier.get("value")
                    return value if isinstance(value, str) else None
    return None


def _code(concept: Any) -> str | None:
    if isinstance(concept, dict):
        for coding in concept.get("coding") or []:
            if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                return coding["code"]
    return None


def _extensions(resource: dict[str, Any], url: str) -> list[dict[str, Any]]:
    return [ext for ext in resource.get("extension") or [] if isinstance(ext, dict) and ext.get("url") == url]


def _part(extension: dict[str, Any], name: str) -> dict[str, Any] | None:
    for part in extension.get("extension") or []:
        if isinstance(part, dict) and part.get("url") == name:
            return part
    return None


def _nhs_number(resource: dict[str, Any]) -> str | None:
    for identifier in resource.get("identifier") or []:
        if isinstance(identifier, dict) and identifier.get("system") == NHS_NUMBER_SYSTEM:
            return identifier.get("value")
    return None


def _timestamp(value: Any) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise _fail(f"Bundle.timestamp is not an instant: {value!r}", "Bundle.timestamp") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def extract(bundle: dict[str, Any]) -> ReturnFacts:
    """The facts of a conformant national return; a clear error if something the report needs is absent."""
    try:
        return _extract(bundle)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise _fail(f"The bundle lacks a field the collector needs: {exc}") from exc


def _extract(bundle: dict[str, Any]) -> ReturnFacts:
    sid = submission_id(bundle)
    ods = reporting_ods(bundle)
    if not ods:
        raise _fail("The bundle has no ReportingProvider ODS code")
    patients = [(i, r) for i, r in resources(bundle) if r.get("resourceType") == "Patient"]
    if len(patients) != 1:
        raise _fail("A national return holds exactly one Patient")
    _index, patient = patients[0]
    nhs = _nhs_number(patient)
    if not nhs:
        raise _fail("The Patient has no NHS number")
    status_ext = _extensions(patient, EXT_PARENTAL_STATUS)
    if len(status_ext) != 1:
        raise _fail("The Patient has no parental-status extension")
    ext = status_ext[0]
    status = _code((_part(ext, "status") or {}).get("valueCodeableConcept"))
    period = (_part(ext, "reportingPeriod") or {}).get("valuePeriod") or {}
    if not status or not period.get("start") or not period.get("end"):
        raise _fail("parental-status needs a status and a reporting period with start and end")
    period_start = date.fromisoformat(period["start"][:10])
    period_end = date.fromisoformat(period["end"][:10])
    household = (_part(ext, "childrenInHousehold") or {}).get("valueUnsignedInt")
    expecting = (_part(ext, "expectingChild") or {}).get("valueBoolean")

    children: list[ChildFacts] = []
    for index, resource in resources(bundle):
        if resource.get("resourceType") != "RelatedPerson":
            continue
        pr = _extensions(resource, EXT_PARENTAL_RESPONSIBILITY)
        pr_held = _code((_part(pr[0], "held") or {}).get("valueCodeableConcept")) if pr else None
        residence = [_code(e.get("valueCodeableConcept")) for e in _extensions(resource, EXT_CHILD_RESIDENCE)]
        carer = [_code(e.get("valueCodeableConcept")) for e in _extensions(resource, EXT_YOUNG_CARER)]
        helps = {_code(e.get("valueCodeableConcept")) for e in _extensions(resource, EXT_HELP_AND_PROTECTION)}
        relationship = _code((resource.get("relationship") or [{}])[0])
        children.append(
            ChildFacts(
                position=index,
                nhs_number=_nhs_number(resource),
                relationship=relationship or "unknown",
                age_years=age_on(date.fromisoformat(resource["birthDate"][:10]), period_end),
                residence=(residence[0] if residence else None) or "unknown",
                pr_held=pr_held or "UNK",
                young_carer=(carer[0] if carer else None) or "UNK",
                help=frozenset(code for code in helps if code),
            )
        )
    return ReturnFacts(
        submission_id=sid,
        ods_code=ods,
        nhs_number=nhs,
        parental_status=status,
        period_start=period_start,
        period_end=period_end,
        children_in_household=household if isinstance(household, int) else None,
        expecting_child=expecting if isinstance(expecting, bool) else None,
        timestamp=_timestamp(bundle.get("timestamp")),
        children=tuple(children),
    )
