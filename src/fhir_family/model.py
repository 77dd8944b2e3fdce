"""The model of docs/model.md in code: its URLs, code tables, groupings and date rules, in one place.

docs/model.md is the contract; this module is its one mirror in Python, so a rule changed there is changed
here and nowhere else. The bundle builder, the EHR parsers, the validator's Bundle rules, the collector's
facts and reports and the pages all import it. Pure data plus tiny pure functions: no Flask, no SQLAlchemy,
no I/O.
``tests/test_model.py`` reads the tables of docs/model.md and checks them against this module.
"""

from __future__ import annotations

from datetime import date
from types import MappingProxyType
from typing import Final

from fhir_family.guide import CANONICAL

NHS_NUMBER_SYSTEM: Final = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEM: Final = "https://fhir.nhs.uk/Id/ods-organization-code"
V3_ROLE_CODE_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
V2_0063_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/v2-0063"
UKCORE_REL_SYSTEM: Final = "https://fhir.hl7.org.uk/CodeSystem/UKCore-AdditionalPersonRelationshipRole"
SUBMISSION_SYSTEM: Final = f"{CANONICAL}/Id/submission"
PSEUDONYM_SYSTEM: Final = f"{CANONICAL}/Id/nhs-number-pseudonym"
"""Identifier system of the collector's pseudonyms (hex HMAC-SHA256 of the NHS number, collector key)."""


def code_system_url(cs_id: str) -> str:
    """The canonical of one of the guide's CodeSystems."""
    return f"{CANONICAL}/CodeSystem/{cs_id}"


def value_set_url(vs_id: str) -> str:
    """The canonical of one of the guide's ValueSets."""
    return f"{CANONICAL}/ValueSet/{vs_id}"


def profile_url(sd_id: str) -> str:
    """The canonical of one of the guide's profiles or extensions."""
    return f"{CANONICAL}/StructureDefinition/{sd_id}"


# Profiles and extensions
PARENT_PATIENT: Final = profile_url("parent-patient")
DEPENDENT_CHILD: Final = profile_url("dependent-child")
REPORTING_PROVIDER: Final = profile_url("reporting-provider")
MENTAL_HEALTH_EPISODE: Final = profile_url("mental-health-episode")
NATIONAL_RETURN_BUNDLE: Final = profile_url("national-return-bundle")

EXT_PARENTAL_STATUS: Final = profile_url("parental-status")
EXT_PARENTAL_RESPONSIBILITY: Final = profile_url("parental-responsibility")
EXT_CHILD_RESIDENCE: Final = profile_url("child-residence")
EXT_YOUNG_CARER: Final = profile_url("young-carer")
EXT_HELP_AND_PROTECTION: Final = profile_url("help-and-protection")

# The guide's CodeSystems
PARENTAL_STATUS_SYSTEM: Final = code_system_url("parental-status")
NDTMS_PRNTSTAT_SYSTEM: Final = code_system_url("ndtms-prntstat")
YES_NO_UNKNOWN_SYSTEM: Final = code_system_url("yes-no-unknown")
PR_BASIS_SYSTEM: Final = code_system_url("parental-responsibility-basis")
CHILD_RESIDENCE_SYSTEM: Final = code_system_url("child-residence")
HELP_AND_PROTECTION_SYSTEM: Final = code_system_url("help-and-protection")

PARENTAL_STATUS: Final = MappingProxyType(
    {
        "all-children-live-with-patient": "Parent: all the children live with the patient",
        "some-children-live-with-patient": "Parent: some of the children live with the patient",
        "no-children-live-with-patient": "Parent: none of the children live with the patient",
        "not-a-parent": "Not a parent",
        "declined": "Patient declined to answer",
    }
)

PARENTAL_STATUS_TO_PRNTSTAT: Final = MappingProxyType(
    {
        "all-children-live-with-patient": "11",
        "some-children-live-with-patient": "12",
        "no-children-live-with-patient": "13",
        "not-a-parent": "14",
        "declined": "15",
    }
)
"""ConceptMap parental-status-to-ndtms-prntstat (every map ``equivalent``)."""

PRNTSTAT_TO_PARENTAL_STATUS: Final = MappingProxyType({v: k for k, v in PARENTAL_STATUS_TO_PRNTSTAT.items()})
"""NDTMS PRNTSTAT 11..15 -> parental-status (the ConceptMap read backwards; it is 1:1)."""

PARENT_PRNTSTAT_CODES: Final = ("11", "12", "13")
"""The PRNTSTAT codes of a patient who is a parent (all, some or none of the children live with them)."""

YES_NO_UNKNOWN: Final = MappingProxyType({"Y": "Yes", "N": "No", "UNK": "Unknown"})

PR_BASIS: Final = MappingProxyType(
    {
        "birth-mother": "Birth mother (s.2)",
        "married-father": "Father married to the mother at the child's birth (s.2(1))",
        "married-second-female-parent": (
            "Second female parent married to or in a civil partnership with the mother at the birth (s.2(1A))"
        ),
        "registered-parent": (
            "Father or second female parent registered on the birth certificate (s.4(1)(a), s.4ZA(1)(a); "
            "births registered from 1 December 2003)"
        ),
        "pr-agreement": "Parental responsibility agreement (s.4(1)(b), s.4ZA(1)(b))",
        "step-parent-agreement": "Step-parent parental responsibility agreement or order (s.4A)",
        "pr-order": "Parental responsibility order (s.4(1)(c), s.4ZA(1)(c))",
        "child-arrangements-order": (
            "Child arrangements order naming the person as someone the child lives with (s.12(2))"
        ),
        "special-guardianship-order": "Special guardianship order (s.14A-C)",
        "appointed-guardian": "Guardian appointed (s.5)",
        "adoption-order": "Adoption order (Adoption and Children Act 2002, s.46)",
        "care-order-shared": "Shared with the local authority under a care order (s.33(3))",
    }
)

CHILD_RESIDENCE: Final = MappingProxyType(
    {
        "full-time": "Lives with the patient full-time",
        "part-time": "Lives with the patient part of the time",
        "other-parent": "Lives elsewhere with the other parent",
        "relatives": "Lives with relatives or friends (kinship care)",
        "looked-after": "Looked after by the local authority (foster or residential care)",
        "unknown": "Not known",
    }
)

LIVES_WITH_PATIENT: Final = frozenset({"full-time", "part-time"})
"""child-residence codes of a child living with the patient (full- or part-time)."""
LIVES_ELSEWHERE: Final = frozenset({"other-parent", "relatives", "looked-after"})
"""child-residence codes of a child living elsewhere; ``unknown`` is in neither group."""

HELP_AND_PROTECTION: Final = MappingProxyType(
    {
        "none": "No help or protection known to be in place",
        "early-help": "Early help",
        "child-in-need": "Child in need (Children Act 1989 s.17)",
        "child-protection-plan": "Child protection plan (CP-IS CPP)",
        "looked-after": "Looked-after child (CP-IS LAC)",
        "unborn-child-protection-plan": "Unborn child protection plan (CP-IS UCP)",
        "not-known": "Not known",
    }
)

CHILD_HELP_CODES: Final = frozenset(
    {"none", "early-help", "child-in-need", "child-protection-plan", "looked-after", "not-known"}
)
"""ValueSet child-help-and-protection."""
UNBORN_HELP_CODES: Final = frozenset({"none", "early-help", "unborn-child-protection-plan", "not-known"})
"""ValueSet unborn-help-and-protection."""

V3_RELATIONSHIP: Final = MappingProxyType(
    {
        "CHILD": "child",
        "NCHILD": "natural child",
        "DAU": "natural daughter",
        "SON": "natural son",
        "STPCHLD": "step child",
        "STPDAU": "stepdaughter",
        "STPSON": "stepson",
        "CHLDFOST": "foster child",
        "DAUFOST": "foster daughter",
        "SONFOST": "foster son",
        "CHLDADOPT": "adopted child",
        "DAUADOPT": "adopted daughter",
        "SONADOPT": "adopted son",
        "GRNDCHILD": "grandchild",
        "GRNDDAU": "granddaughter",
        "GRNDSON": "grandson",
        "NIENEPH": "niece/nephew",
        "NIECE": "niece",
        "NEPHEW": "nephew",
        "SIB": "sibling",
        "BRO": "brother",
        "SIS": "sister",
    }
)
"""The v3-RoleCode part of ValueSet dependent-child-relationship, displays as in hl7.fhir.r4.core 4.0.1."""

UKCORE_RELATIONSHIP: Final = MappingProxyType({"Dependant": "Dependant"})
"""The UK Core part of ValueSet dependent-child-relationship."""

V2_0063_TO_RELATIONSHIP: Final = MappingProxyType(
    {
        "CHD": "CHILD",
        "NCH": "NCHILD",
        "SCH": "STPCHLD",
        "FCH": "CHLDFOST",
        "GCH": "GRNDCHILD",
        "WRD": "Dependant",
        "DEP": "Dependant",
        "SIB": "SIB",
        "BRO": "BRO",
        "SIS": "SIS",
    }
)
"""ConceptMap v2-0063-to-dependent-child-relationship; codes absent here have no map (not dependants)."""

ADMINISTRATIVE_GENDER: Final = frozenset({"male", "female", "other", "unknown"})
EPISODE_OF_CARE_STATUS: Final = frozenset(
    {"planned", "waitlist", "active", "onhold", "finished", "cancelled", "entered-in-error"}
)


def relationship_system(code: str) -> str:
    """The code system of a dependent-child relationship code: UK Core for ``Dependant``, else v3-RoleCode."""
    return UKCORE_REL_SYSTEM if code in UKCORE_RELATIONSHIP else V3_ROLE_CODE_SYSTEM


def relationship_display(code: str) -> str | None:
    """The display of a dependent-child relationship code, or None for a code outside the ValueSet."""
    return UKCORE_RELATIONSHIP.get(code) or V3_RELATIONSHIP.get(code)


ADULT_AGE: Final = 18
"""A dependent child is under this age on the reporting date (``reportingPeriod.end`` of parental-status)."""


def age_on(birth_date: date, on: date) -> int:
    """Completed years of age on ``on``; negative when ``on`` is before the birth.

    Counted as English law counts it: an age is attained at the start of the anniversary of the birth, and
    someone born on 29 February attains it on 1 March in a non-leap year.
    """
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - (1 if before_birthday else 0)


def eighteenth_birthday(birth_date: date) -> date:
    """The day a person born on ``birth_date`` turns 18; a 29 February birthday falls on 1 March."""
    try:
        return birth_date.replace(year=birth_date.year + ADULT_AGE)
    except ValueError:  # 29 February, 18 years later not a leap year
        return date(birth_date.year + ADULT_AGE, 3, 1)


def is_dependent_child(birth_date: date, reporting_date: date) -> bool:
    """The model's age rule: a child is a dependent child when under 18 on the reporting date."""
    return reporting_date < eighteenth_birthday(birth_date)
