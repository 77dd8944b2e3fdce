"""The internal record every input format is parsed into, before it becomes a Bundle.

Each parser (JSON payload, HL7 v2, CSV, NDJSON) only has to produce a ``ReturnRecord``; building the
NationalReturnBundle from it, validating and forwarding are shared. Codes are the guide's codes (see
docs/model.md): parsers translate vendor codes, the builder only places them.
Identifying details the national return must not carry (names, addresses, phone numbers) have no field here,
so a parser cannot forward them by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class ChildRecord:
    """One dependent child of the patient (a DependentChild RelatedPerson)."""

    relationship: str
    """Code from the dependent-child-relationship ValueSet (v3-RoleCode, or UK Core ``Dependant``)."""
    birth_date: date
    pr_held: str = "UNK"
    """Whether the patient holds parental responsibility for this child: ``Y``, ``N`` or ``UNK``."""
    pr_basis: tuple[str, ...] = ()
    """parental-responsibility-basis codes; only when ``pr_held == 'Y'``."""
    residence: str = "unknown"
    """child-residence code."""
    young_carer: str = "UNK"
    """``Y``, ``N`` or ``UNK``."""
    help: tuple[str, ...] = ("not-known",)
    """help-and-protection codes (child-help-and-protection ValueSet); at least one."""
    nhs_number: str | None = None
    gender: str | None = None
    """administrative-gender code, optional."""


@dataclass(frozen=True)
class ReturnRecord:
    """One adult patient's national return for one reporting period."""

    submission_id: str
    ods_code: str
    nhs_number: str
    birth_date: date
    gender: str
    """administrative-gender code: male | female | other | unknown."""
    parental_status: str
    """parental-status code (maps 1:1 to NDTMS PRNTSTAT)."""
    reporting_period_start: date
    reporting_period_end: date
    """The reporting date: children must be under 18 on it."""
    episode_start: date
    episode_status: str = "active"
    """EpisodeOfCare.status code."""
    episode_end: date | None = None
    episode_identifier: tuple[str, str] | None = None
    """(system, value) of the provider's own episode id, if any."""
    organisation_name: str | None = None
    children_in_household: int | None = None
    expecting_child: bool | None = None
    expected_due_date: date | None = None
    unborn_child_help: str | None = None
    date_recorded: date | None = None
    timestamp: datetime | None = None
    """When the return was assembled; the builder uses the reporting date at midnight UTC when absent."""
    children: tuple[ChildRecord, ...] = field(default_factory=tuple)
