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
PROVIDER_RECORD_SYSTEM: Final = f"{CANONICAL}/Id/provider-record"
"""Provider-scoped business identifiers (guide.md 0.7): ``<ODS>/<local id>[/<local child id>]``, the key of
every conditional update, so a resend changes nothing and two providers never write the same resource."""
MHSDS_SERVICE_REQUEST_SYSTEM: Final = f"{CANONICAL}/Id/mhsds-service-request"
"""The MHSDS service request id (``ServiceRequestId``, unique within the provider) on MentalHealthEpisode."""
GSS_SYSTEM: Final = "http://statistics.data.gov.uk/id/statistical-geography"
"""ONS GSS codes: a local authority of residence is ``E06``/``E07``/``E08``/``E09``/``E10`` and six digits."""
GSS_LOCAL_AUTHORITY_PATTERN: Final = r"^E(0[6-9]|10)[0-9]{6}$"
NHS_NUMBER_VERIFICATION_EXT: Final = (
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"
)
NHS_NUMBER_VERIFICATION_SYSTEM: Final = (
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland"
)


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
PSEUDONYMISED_PARENT_PATIENT: Final = profile_url("pseudonymised-parent-patient")
"""ParentPatient as the collector exports it: the NHS number replaced by the pseudonym identifier."""
PSEUDONYMISED_DEPENDENT_CHILD: Final = profile_url("pseudonymised-dependent-child")
"""DependentChild as the collector exports it: any NHS number replaced by the pseudonym identifier."""

EXT_PARENTAL_STATUS: Final = profile_url("parental-status")
EXT_PARENTAL_RESPONSIBILITY: Final = profile_url("parental-responsibility")
EXT_CHILD_RESIDENCE: Final = profile_url("child-residence")
EXT_YOUNG_CARER: Final = profile_url("young-carer")
EXT_HELP_AND_PROTECTION: Final = profile_url("help-and-protection")
EXT_REPORTING_PERIOD: Final = profile_url("reporting-period")
"""On ``Bundle.meta`` (an R4 Bundle has no extensions of its own): the month the return covers."""
EXT_LEGAL_BASIS: Final = profile_url("legal-basis")
"""On ``Bundle.meta``: the basis under which the record flows."""
EXT_LOCAL_AUTHORITY: Final = profile_url("local-authority")
"""On Patient, and on a DependentChild whose local authority differs: the GSS code of residence."""
EXT_CHILD_NHS_NUMBER_VERIFICATION: Final = profile_url("child-nhs-number-verification")
"""On a DependentChild's NHS number: its verification status (UK Core's extension is for Patient only)."""
EXT_THINK_FAMILY_REFERRAL: Final = profile_url("think-family-referral")
"""On DependentChild: referral or notification to children's social care or early help, and its outcome."""

# The guide's CodeSystems
PARENTAL_STATUS_SYSTEM: Final = code_system_url("parental-status")
NDTMS_PRNTSTAT_SYSTEM: Final = code_system_url("ndtms-prntstat")
YES_NO_UNKNOWN_SYSTEM: Final = code_system_url("yes-no-unknown")
PR_BASIS_SYSTEM: Final = code_system_url("parental-responsibility-basis")
CHILD_RESIDENCE_SYSTEM: Final = code_system_url("child-residence")
HELP_AND_PROTECTION_SYSTEM: Final = code_system_url("help-and-protection")
PR_RESTRICTION_SYSTEM: Final = code_system_url("parental-responsibility-restriction")
ASKED_BY_ROLE_SYSTEM: Final = code_system_url("asked-by-role")
STATUS_SOURCE_SYSTEM: Final = code_system_url("parental-status-source")
SUPPORT_OFFERED_SYSTEM: Final = code_system_url("support-offered")
THINK_FAMILY_ACTION_SYSTEM: Final = code_system_url("think-family-action")
THINK_FAMILY_OUTCOME_SYSTEM: Final = code_system_url("think-family-outcome")
LEGAL_BASIS_SYSTEM: Final = code_system_url("legal-basis")
MHSDS_TEAM_TYPE_SYSTEM: Final = code_system_url("mhsds-team-type")

PARENTAL_STATUS: Final = MappingProxyType(
    {
        "all-children-live-with-patient": "Parent: all the children live with the patient",
        "some-children-live-with-patient": "Parent: some of the children live with the patient",
        "no-children-live-with-patient": "Parent: none of the children live with the patient",
        "not-a-parent": "Not a parent",
        "declined": "Patient declined to answer",
        "not-asked": "Not asked or not recorded",
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
"""ConceptMap parental-status-to-ndtms-prntstat; ``not-asked`` has no PRNTSTAT code (``unmatched``)."""

PARENTAL_STATUS_EQUIVALENCE: Final = MappingProxyType(
    {
        "all-children-live-with-patient": "narrower",
        "some-children-live-with-patient": "narrower",
        "no-children-live-with-patient": "narrower",
        "not-a-parent": "wider",
        "declined": "equivalent",
        "not-asked": "unmatched",
    }
)
"""The ConceptMap's equivalence per parental-status code (guide.md 0.3: "parent or carer" is wider than NDTMS
"parent", so the NDTMS target is narrower)."""

STATUS_WITH_CHILDREN: Final = frozenset(
    {"all-children-live-with-patient", "some-children-live-with-patient", "no-children-live-with-patient"}
)
"""Statuses under which children are listed; every other status lists none (ff-bun-8, ff-bun-9)."""
NOT_ASKED: Final = "not-asked"
"""The status of a patient nobody asked: no ``dateAsked``, no ``askedBy``, no ``source`` (ff-ps-2)."""

PRNTSTAT_TO_PARENTAL_STATUS: Final = MappingProxyType({v: k for k, v in PARENTAL_STATUS_TO_PRNTSTAT.items()})
"""NDTMS PRNTSTAT 11..15 -> parental-status (the ConceptMap read backwards; it is 1:1)."""

PARENT_PRNTSTAT_CODES: Final = ("11", "12", "13")
"""The PRNTSTAT codes of a patient who is a parent (all, some or none of the children live with them)."""

YES_NO_UNKNOWN: Final = MappingProxyType({"Y": "Yes", "N": "No", "UNK": "Unknown"})

PR_BASIS: Final = MappingProxyType(
    {
        "birth-mother": "Birth mother (s.2(1), s.2(2)(a))",
        "married-father": "Father married to the mother at the birth or after it (s.2(1), s.2(3))",
        "married-second-female-parent": (
            "Second female parent married to or in a civil partnership with the mother (s.2(1A))"
        ),
        "registered-father": "Father registered on the birth certificate (s.4(1)(a))",
        "registered-second-female-parent": (
            "Second female parent registered on the birth certificate (s.4ZA(1)(a))"
        ),
        "pr-agreement": "Parental responsibility agreement (s.4(1)(b), s.4ZA(1)(b))",
        "step-parent-agreement": "Step-parent parental responsibility agreement or order (s.4A)",
        "pr-order": "Parental responsibility order (s.4(1)(c), s.4ZA(1)(c))",
        "child-arrangements-order-lives-with": (
            "Child arrangements order: a non-parent the child lives with (s.12(2))"
        ),
        "child-arrangements-order-spends-time": (
            "Child arrangements order: a non-parent the child spends time with, PR directed (s.12(2A))"
        ),
        "special-guardianship-order": "Special guardianship order (s.14C(1)(a))",
        "appointed-guardian": "Guardian appointed (s.5)",
        "adoption-order": "Adoption order (Adoption and Children Act 2002 s.46(1))",
        "placement-for-adoption": "Prospective adopter, child placed for adoption (ACA 2002 s.25(3))",
        "parental-order": "Parental order (HFEA 2008 s.54, s.54A)",
    }
)
"""How the patient acquired parental responsibility (guide.md 0.4); several may apply."""

BIRTH_PARENT_BASES: Final = frozenset(
    {"birth-mother", "married-father", "married-second-female-parent", "registered-father",
     "registered-second-female-parent"}
)
"""Bases that only a birth (or legal) parent of the child can hold (ff-pr-3)."""

PR_RESTRICTION: Final = MappingProxyType(
    {
        "care-order": "Care order: the local authority shares PR and may limit its exercise (s.33(3))",
        "special-guardianship-other": (
            "Another person is special guardian and may exercise PR exclusively (s.14C(1)(b))"
        ),
        "placement-order": (
            "Placement order: PR given to the adoption agency, which may limit it (ACA 2002 s.25)"
        ),
    }
)
"""What shares or restricts the patient's parental responsibility (not how it was acquired)."""

CHILD_RESIDENCE: Final = MappingProxyType(
    {
        "full-time": "Lives with the patient full-time",
        "part-time": "Lives with the patient part of the time",
        "other-parent": "Lives elsewhere with the other parent",
        "relatives": "Lives with relatives or friends (kinship care)",
        "looked-after": "Looked after by the local authority (foster or residential care)",
        "elsewhere": "Lives elsewhere (independent or supported accommodation, school, custody, hospital)",
        "unknown": "Not known",
    }
)

LIVES_WITH_PATIENT: Final = frozenset({"full-time", "part-time"})
"""child-residence codes of a child living with the patient (full- or part-time)."""
LIVES_ELSEWHERE: Final = frozenset({"other-parent", "relatives", "looked-after", "elsewhere"})
"""child-residence codes of a child living elsewhere; ``unknown`` is in neither group."""

HELP_AND_PROTECTION: Final = MappingProxyType(
    {
        "none": "No help or protection known to be in place",
        "early-help": "Early help",
        "child-in-need": "Child in need (Children Act 1989 s.17)",
        "child-protection-plan": "Child protection plan",
        "looked-after": "Looked-after child (Children Act 1989 s.22)",
        "unborn-child-protection-plan": "Unborn child protection plan (pre-birth)",
        "previous-child-protection-plan": "Child protection plan in the previous 12 months, not now",
        "previous-looked-after": "Looked after in the previous 12 months, not now",
        "not-known": "Not known",
    }
)

CHILD_HELP_CODES: Final = frozenset(
    {"none", "early-help", "child-in-need", "child-protection-plan", "looked-after",
     "previous-child-protection-plan", "previous-looked-after", "not-known"}
)
"""ValueSet child-help-and-protection."""
UNBORN_HELP_CODES: Final = frozenset({"none", "early-help", "unborn-child-protection-plan", "not-known"})
"""ValueSet unborn-help-and-protection."""
HELP_STANDS_ALONE: Final = frozenset({"none", "not-known"})
"""Help codes that must be the child's only help code (ff-hp-1)."""

ASKED_BY_ROLE: Final = MappingProxyType(
    {
        "care-coordinator": "Care coordinator",
        "nurse": "Nurse",
        "psychiatrist": "Psychiatrist",
        "psychologist": "Psychologist",
        "social-worker": "Social worker",
        "peer-support": "Peer support worker",
        "other": "Other professional",
    }
)
"""The role (never the name) of who asked the patient about children."""

STATUS_SOURCE: Final = MappingProxyType(
    {
        "self-report": "The patient told the service",
        "records": "The provider's own records",
        "other-agency": "Another agency told the provider",
    }
)

SUPPORT_OFFERED: Final = MappingProxyType(
    {
        "parenting-support": "Parenting support",
        "family-intervention": "Family intervention",
        "carers-assessment": "Carer's assessment",
        "think-family-discussion": "Think family discussion",
        "none": "No support offered",
    }
)
"""Support offered to the parent in the period; repeats; ``none`` stands alone."""

THINK_FAMILY_ACTION: Final = MappingProxyType(
    {
        "referred": "Referred to children's social care or early help",
        "notified": "Children's social care notified (information shared, no referral)",
        "already-known": "Already known to children's social care",
        "not-needed": "No referral or notification needed",
        "not-known": "Not known",
    }
)
THINK_FAMILY_OUTCOME: Final = MappingProxyType(
    {
        "accepted-early-help": "Accepted for early help",
        "accepted-cin": "Accepted as a child in need (s.17)",
        "s47-enquiry": "Child protection enquiry (s.47)",
        "no-further-action": "No further action",
        "awaited": "Outcome awaited",
    }
)
"""The outcome of a ``referred`` or ``notified`` think-family action."""

LEGAL_BASIS: Final = MappingProxyType(
    {
        "national-direction": "A direction for the national collection (HSCA 2012 s.254, to be confirmed)",
        "consent": "The patient consented",
        "safeguarding": "Safeguarding of children (DPA 2018 Sch 1 para 18)",
        "consent-withheld": "Consent withheld: only the provider's counts flow",
    }
)

MHSDS_TEAM_TYPE: Final = MappingProxyType(
    {
        "A02": "Crisis Resolution Team/Home Treatment Service",
        "A03": "Adult Community Mental Health Team",
        "A04": "Older People Community Mental Health Team",
        "A05": "Assertive Outreach Team",
        "A06": "Rehabilitation and Recovery Team",
        "A07": "General Psychiatry Service",
        "A08": "Psychiatric Liaison Service",
        "A12": "Personality Disorder Service",
        "A13": "Early Intervention Team for Psychosis",
        "B01": "Forensic Mental Health Service",
        "C02": "Perinatal Mental Health Service",
        "C10": "Community Eating Disorder Service",
        "IP": "Adult acute or psychiatric intensive care inpatient ward (no team type: hospital spell)",
    }
)
"""In-scope MHSDS service or team types (``ServTeamTypeRefToMH``; informative copy, confirm against the NHS
Data Dictionary); ``IP`` is the guide's own code for an inpatient spell, which MHSDS records by ward."""

NHS_NUMBER_VERIFICATION: Final = MappingProxyType(
    {
        "01": "Number present and verified",
        "02": "Number present but not traced",
        "03": "Trace required",
        "04": "Trace attempted - No match or multiple match found",
        "05": "Trace needs to be resolved - (NHS number or patient detail conflict)",
        "06": "Trace in progress",
        "07": "Number not present and trace not required",
        "08": "Trace postponed (baby under six weeks old)",
    }
)
"""UK Core NHSNumberVerificationStatusEngland, displays as in UK Core."""

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
        "DAUC": "daughter",
        "SONC": "son",
        "HSIB": "half-sibling",
        "HBRO": "half-brother",
        "HSIS": "half-sister",
        "COUSN": "cousin",
        "EXT": "extended family member",
    }
)
"""The v3-RoleCode part of ValueSet dependent-child-relationship, displays as in hl7.fhir.r4.core 4.0.1."""

UKCORE_RELATIONSHIP: Final = MappingProxyType({"Dependant": "Dependant of patient"})
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
"""A dependent child is under this age on the reporting date (the end of the return's reporting period)."""

ADOPTED_RELATIONSHIPS: Final = frozenset({"CHLDADOPT", "DAUADOPT", "SONADOPT"})
"""An adopted child's adopter holds PR (ff-pr-2)."""


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
