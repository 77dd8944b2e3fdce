"""The reportable facts of a national-return bundle, read from the (already validated) bundle dict.

Pure functions over plain dicts, no database: ``store.py`` turns these into rows. Field names and codes are
those of docs/model.md and docs/guide.md section 0 (guide 0.2): the return's own facts (reporting period,
legal basis) are read from ``Bundle.meta``, the patient's from the Patient, the episode's (team type, MHSDS
service request id) from the MentalHealthEpisode, each child's from its DependentChild.
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
    EXT_LEGAL_BASIS,
    EXT_LOCAL_AUTHORITY,
    EXT_PARENTAL_RESPONSIBILITY,
    EXT_PARENTAL_STATUS,
    EXT_REPORTING_PERIOD,
    EXT_THINK_FAMILY_REFERRAL,
    EXT_YOUNG_CARER,
    MHSDS_SERVICE_REQUEST_SYSTEM,
    NHS_NUMBER_SYSTEM,
    ODS_SYSTEM,
    PROVIDER_RECORD_SYSTEM,
    age_on,
)
from ..outcome import Issue, IssueSeverity, IssueType

CONSENT_WITHHELD = "consent-withheld"
"""The legal basis under which only the provider's counts flow (guide.md 0.6): the collector keeps the counts
of such a return and nothing that identifies or links the patient or a child (``store.py``)."""


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
    pr_restriction: frozenset[str] = frozenset()
    local_authority: str | None = None
    """GSS code, only where it differs from the patient's (the guide sends it only then)."""
    think_family_action: str | None = None
    think_family_outcome: str | None = None
    ended: date | None = None
    """``RelatedPerson.period.end``: the day the child stopped being a dependant."""


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
    legal_basis: str | None = None
    local_patient_key: str | None = None
    """The Patient's provider-scoped identifier (``<ODS>/<local id>``)."""
    date_asked: date | None = None
    asked_by: str | None = None
    status_source: str | None = None
    support_offered: tuple[str, ...] = ()
    local_authority: str | None = None
    team_type: str | None = None
    service_request_id: str | None = None

    @property
    def report_month(self) -> str:
        return self.period_end.strftime("%Y-%m")

    @property
    def consent_withheld(self) -> bool:
        return self.legal_basis == CONSENT_WITHHELD

    @property
    def parental_resp(self) -> str:
        """MHSDS ``ParentalResp`` derived as guide.md 0.6 writes it: ``Y``, ``N`` or ``U`` (unknown)."""
        return parental_resp(self.parental_status, [child.pr_held for child in self.children])


def parental_resp(status: str, pr_held: list[str]) -> str:
    """``Y`` when any listed child has PR held ``Y``; ``N`` when the status is ``not-a-parent``, or children
    are listed and none is ``Y`` or ``UNK``; otherwise ``U`` (declined, not asked, or an unknown PR)."""
    if "Y" in pr_held:
        return "Y"
    if status == "not-a-parent" or (pr_held and "UNK" not in pr_held):
        return "N"
    return "U"


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


def _identifier(resource: dict[str, Any], system: str) -> str | None:
    for identifier in resource.get("identifier") or []:
        if isinstance(identifier, dict) and identifier.get("system") == system:
            value = identifier.get("value")
            return value if isinstance(value, str) else None
    return None


def _nhs_number(resource: dict[str, Any]) -> str | None:
    return _identifier(resource, NHS_NUMBER_SYSTEM)


def _part_code(extension: dict[str, Any], name: str) -> str | None:
    return _code((_part(extension, name) or {}).get("valueCodeableConcept"))


def _part_codes(extension: dict[str, Any], name: str) -> tuple[str, ...]:
    found = (
        _code(part.get("valueCodeableConcept"))
        for part in extension.get("extension") or []
        if isinstance(part, dict) and part.get("url") == name
    )
    return tuple(code for code in found if code)


def _local_authority(resource: dict[str, Any]) -> str | None:
    for ext in _extensions(resource, EXT_LOCAL_AUTHORITY):
        coding = ext.get("valueCoding")
        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
            return coding["code"]
    return None


def _date_or_none(value: Any) -> date | None:
    return date.fromisoformat(value[:10]) if isinstance(value, str) and len(value) >= 10 else None


def _meta_extension(bundle: dict[str, Any], url: str) -> dict[str, Any]:
    meta = bundle.get("meta") if isinstance(bundle.get("meta"), dict) else {}
    found = (ext for ext in meta.get("extension") or [] if isinstance(ext, dict) and ext.get("url") == url)
    return next(found, {})


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
    status = _part_code(ext, "status")
    period = _meta_extension(bundle, EXT_REPORTING_PERIOD).get("valuePeriod") or {}
    if not status:
        raise _fail("parental-status needs a status")
    if not period.get("start") or not period.get("end"):
        raise _fail(
            "The return needs a reporting period with start and end (Bundle.meta extension reporting-period)",
            "Bundle.meta.extension",
        )
    period_start = date.fromisoformat(period["start"][:10])
    period_end = date.fromisoformat(period["end"][:10])
    household = (_part(ext, "childrenInHousehold") or {}).get("valueUnsignedInt")
    expecting = (_part(ext, "expectingChild") or {}).get("valueBoolean")
    episodes = [r for _i, r in resources(bundle) if r.get("resourceType") == "EpisodeOfCare"]
    episode = episodes[0] if episodes else {}

    children: list[ChildFacts] = []
    for index, resource in resources(bundle):
        if resource.get("resourceType") != "RelatedPerson":
            continue
        pr = _extensions(resource, EXT_PARENTAL_RESPONSIBILITY)
        residence = [_code(e.get("valueCodeableConcept")) for e in _extensions(resource, EXT_CHILD_RESIDENCE)]
        carer = [_code(e.get("valueCodeableConcept")) for e in _extensions(resource, EXT_YOUNG_CARER)]
        helps = {_code(e.get("valueCodeableConcept")) for e in _extensions(resource, EXT_HELP_AND_PROTECTION)}
        referral = _extensions(resource, EXT_THINK_FAMILY_REFERRAL)
        relationship = _code((resource.get("relationship") or [{}])[0])
        children.append(
            ChildFacts(
                position=index,
                nhs_number=_nhs_number(resource),
                relationship=relationship or "unknown",
                age_years=age_on(date.fromisoformat(resource["birthDate"][:10]), period_end),
                residence=(residence[0] if residence else None) or "unknown",
                pr_held=(_part_code(pr[0], "held") if pr else None) or "UNK",
                young_carer=(carer[0] if carer else None) or "UNK",
                help=frozenset(code for code in helps if code),
                pr_restriction=frozenset(_part_codes(pr[0], "restriction")) if pr else frozenset(),
                local_authority=_local_authority(resource),
                think_family_action=_part_code(referral[0], "action") if referral else None,
                think_family_outcome=_part_code(referral[0], "outcome") if referral else None,
                ended=_date_or_none((resource.get("period") or {}).get("end")),
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
        legal_basis=_code(_meta_extension(bundle, EXT_LEGAL_BASIS).get("valueCodeableConcept")),
        local_patient_key=_identifier(patient, PROVIDER_RECORD_SYSTEM),
        date_asked=_date_or_none((_part(ext, "dateAsked") or {}).get("valueDate")),
        asked_by=_part_code(ext, "askedBy"),
        status_source=_part_code(ext, "source"),
        support_offered=_part_codes(ext, "supportOffered"),
        local_authority=_local_authority(patient),
        team_type=_code((episode.get("type") or [{}])[0]) if episode.get("type") else None,
        service_request_id=_identifier(episode, MHSDS_SERVICE_REQUEST_SYSTEM),
    )
