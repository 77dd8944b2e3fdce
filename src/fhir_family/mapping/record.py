"""The internal record every input format is parsed into, before it becomes a Bundle.

Each parser (JSON payload, HL7 v2, CSV, NDJSON) only has to produce a ``ReturnRecord``; building the
NationalReturnBundle from it, validating and forwarding are shared. Codes are the guide's codes (see
docs/model.md and docs/guide.md section 0): parsers translate vendor codes, the builder only places them.
Identifying details the national return must not carry (names, addresses, phone numbers) have no field here,
so a parser cannot forward them by accident. Keyword-only: the records have many optional fields, and a
positional call would silently shift one into another.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, kw_only=True)
class ChildRecord:
    """One dependent child of the patient (a DependentChild RelatedPerson)."""

    local_id: str
    """The provider's own id for this child of this patient (stable month to month): with the ODS code and
    the patient's local id it forms the RelatedPerson's provider-scoped identifier (guide.md 0.7)."""
    relationship: str
    """Code from the dependent-child-relationship ValueSet (v3-RoleCode, or UK Core ``Dependant``)."""
    birth_date: date
    pr_held: str = "UNK"
    """Whether the patient holds parental responsibility for this child: ``Y``, ``N`` or ``UNK``."""
    pr_basis: tuple[str, ...] = ()
    """parental-responsibility-basis codes (how PR was acquired); only when ``pr_held == 'Y'``."""
    pr_restriction: tuple[str, ...] = ()
    """parental-responsibility-restriction codes (what shares or limits it: a care order ...)."""
    residence: str = "unknown"
    """child-residence code."""
    young_carer: str = "UNK"
    """``Y``, ``N`` or ``UNK``."""
    help: tuple[str, ...] = ("not-known",)
    """help-and-protection codes (child-help-and-protection ValueSet); at least one."""
    nhs_number: str | None = None
    nhs_number_verification: str | None = None
    """UK Core NHSNumberVerificationStatusEngland code (``01``..``08``), only with an NHS number."""
    gender: str | None = None
    """administrative-gender code, optional."""
    local_authority: str | None = None
    """GSS code of the child's local authority of residence, only where it differs from the patient's."""
    think_family_action: str | None = None
    """think-family-action code: referral or notification to children's social care or early help."""
    think_family_outcome: str | None = None
    """think-family-outcome code of that referral or notification."""
    ended: date | None = None
    """The day the child stopped being a dependant of the patient (``RelatedPerson.period.end``)."""


@dataclass(frozen=True, kw_only=True)
class ReturnRecord:
    """One adult patient's national return for one reporting period."""

    submission_id: str
    ods_code: str
    local_patient_id: str
    """The provider's own patient id (MHSDS ``LocalPatientId``): with the ODS code, the Patient's
    provider-scoped identifier, the key its conditional update uses (guide.md 0.7)."""
    nhs_number: str
    nhs_number_verification: str | None = None
    """UK Core NHSNumberVerificationStatusEngland code (``01``..``08``)."""
    birth_date: date
    gender: str
    """administrative-gender code: male | female | other | unknown."""
    local_authority: str | None = None
    """GSS code of the patient's local authority of residence (no address)."""
    parental_status: str
    """parental-status code (``not-asked`` when nobody asked; the others map to NDTMS PRNTSTAT)."""
    date_asked: date | None = None
    """When the patient was last asked about children; required unless ``not-asked`` (ff-ps-2)."""
    asked_by: str | None = None
    """asked-by-role code: the role of who asked, never a name."""
    status_source: str | None = None
    """parental-status-source code: self-report, records or other-agency."""
    support_offered: tuple[str, ...] = ()
    """support-offered codes: support offered to the parent in the period."""
    reporting_period_start: date
    reporting_period_end: date
    """The reporting date: children must be under 18 on it."""
    legal_basis: str
    """legal-basis code under which the record flows."""
    service_request_id: str
    """The MHSDS service request id of the episode that puts the patient in scope."""
    team_type: str
    """mhsds-team-type code of the team holding the episode."""
    episode_start: date
    episode_status: str = "active"
    """EpisodeOfCare.status code."""
    episode_end: date | None = None
    organisation_name: str | None = None
    children_in_household: int | None = None
    expecting_child: bool | None = None
    expected_due_date: date | None = None
    unborn_child_help: str | None = None
    timestamp: datetime | None = None
    """When the return was assembled; the builder uses the current time when absent."""
    children: tuple[ChildRecord, ...] = field(default_factory=tuple)
