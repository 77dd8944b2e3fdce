"""The valid national returns shipped in examples/bundles: one ReturnRecord per real situation.

Every example is built from a record here by ``build_bundle``; nobody edits the JSON by hand. NHS numbers
come from the unissued 999 range (``synthetic_nhs_number``), the ODS code and episode ids are made up, and no
record carries a name, address or phone number (a ReturnRecord has no field for them).

Modelling choices the examples make visible:

* ``childrenInHousehold`` (NDTMS CHILDWTH) counts every under-18 living in the household, so it is at least
  the number of listed children who live with the patient full-time or part-time, and may be more (a partner's
  children who are not the patient's dependants are counted but not listed).
* A child who lives with the patient part of the time lives with the patient for ``parental-status``.
* A kinship carer who holds parental responsibility (e.g. a special guardian) is reported like a parent; the
  child's ``relationship`` says how they are related (``GRNDCHILD``) and the residence is relative to the
  patient, so a grandchild living with the grandmother who cares for them is ``full-time``.
* An expected child is recorded on the patient (``expectingChild``, ``expectedDueDate``, ``unbornChildHelp``),
  never as a RelatedPerson.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from fhir_family.mapping.nhs_number import synthetic_nhs_number
from fhir_family.mapping.record import ChildRecord, ReturnRecord

ODS_CODE = "XFF01"
ORGANISATION_NAME = "Example Mental Health NHS Foundation Trust"
LOCAL_AUTHORITY = "E08000025"
"""Birmingham (ONS GSS code): the example provider's patients live there unless a record says otherwise."""


def _month(year: int, month: int) -> tuple[date, date]:
    """The first and last day of a calendar month: reporting periods are calendar months."""
    start = date(year, month, 1)
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    return start, date.fromordinal(next_month.toordinal() - 1)


def _record(serial: int, month: int, **fields) -> ReturnRecord:
    """A return from the example provider for a month of 2026; ``serial`` makes its ids unique."""
    start, end = _month(2026, month)
    defaults = {
        "submission_id": f"{ODS_CODE}-2026{month:02d}-{serial:04d}",
        "ods_code": ODS_CODE,
        "organisation_name": ORGANISATION_NAME,
        "nhs_number": synthetic_nhs_number(100 + serial),
        "reporting_period_start": start,
        "reporting_period_end": end,
        "local_patient_id": f"P{serial:06d}",
        "nhs_number_verification": "01",
        "local_authority": LOCAL_AUTHORITY,
        "asked_by": "care-coordinator",
        "status_source": "self-report",
        "legal_basis": "national-direction",
        "service_request_id": f"SR{serial:06d}",
        "team_type": "A03",
        # Assembled at 09:00 UTC on the third day after the month ends.
        "timestamp": datetime.combine(end + timedelta(days=3), time(9, 0), UTC),
    }
    defaults.update(fields)
    return ReturnRecord(**defaults)


def _child_nhs(serial: int, position: int) -> str:
    return synthetic_nhs_number(1000 + 10 * serial + position)


MOTHER_THREE_CHILDREN = _record(
    1,
    1,
    birth_date=date(1987, 5, 14),
    gender="female",
    parental_status="all-children-live-with-patient",
    children_in_household=3,
    expecting_child=False,
    date_asked=date(2026, 1, 12),
    episode_start=date(2025, 10, 6),
    children=(
        ChildRecord(
            local_id="C1",
            relationship="DAU",
            birth_date=date(2011, 9, 2),
            pr_held="Y",
            pr_basis=("birth-mother",),
            residence="full-time",
            young_carer="N",
            help=("none",),
            nhs_number=_child_nhs(1, 0),
            gender="female",
        ),
        ChildRecord(
            local_id="C2",
            relationship="SON",
            birth_date=date(2015, 3, 21),
            pr_held="Y",
            pr_basis=("birth-mother",),
            residence="full-time",
            young_carer="N",
            help=("early-help",),
            gender="male",
        ),
        ChildRecord(
            local_id="C3",
            relationship="DAU",
            birth_date=date(2020, 11, 30),
            pr_held="Y",
            pr_basis=("birth-mother",),
            residence="full-time",
            young_carer="N",
            help=("none",),
            gender="female",
        ),
    ),
)

FATHER_WITHOUT_PR = _record(
    2,
    2,
    birth_date=date(1984, 8, 3),
    gender="male",
    parental_status="no-children-live-with-patient",
    children_in_household=0,
    date_asked=date(2026, 2, 9),
    episode_start=date(2026, 1, 19),
    children=(
        ChildRecord(
            local_id="C4",
            relationship="NCHILD",
            birth_date=date(2013, 6, 17),
            pr_held="N",
            residence="other-parent",
            young_carer="N",
            help=("not-known",),
        ),
        ChildRecord(
            local_id="C5",
            relationship="NCHILD",
            birth_date=date(2016, 1, 5),
            pr_held="N",
            residence="other-parent",
            young_carer="N",
            help=("not-known",),
        ),
    ),
)

KINSHIP_GRANDMOTHER = _record(
    3,
    3,
    birth_date=date(1966, 2, 25),
    gender="female",
    parental_status="all-children-live-with-patient",
    children_in_household=1,
    date_asked=date(2026, 3, 4),
    episode_start=date(2025, 12, 1),
    children=(
        ChildRecord(
            local_id="C6",
            relationship="GRNDCHILD",
            birth_date=date(2017, 4, 8),
            pr_held="Y",
            pr_basis=("special-guardianship-order",),
            residence="full-time",
            young_carer="N",
            help=("child-in-need",),
            nhs_number=_child_nhs(3, 0),
            gender="female",
        ),
    ),
)

PARENT_CHILD_LOOKED_AFTER = _record(
    4,
    4,
    birth_date=date(1992, 10, 11),
    gender="female",
    parental_status="no-children-live-with-patient",
    children_in_household=0,
    date_asked=date(2026, 4, 15),
    episode_start=date(2025, 6, 2),
    children=(
        ChildRecord(
            local_id="C7",
            relationship="SON",
            birth_date=date(2019, 12, 24),
            pr_held="Y",
            pr_basis=("birth-mother",),
            pr_restriction=("care-order",),
            residence="looked-after",
            young_carer="N",
            help=("looked-after",),
            nhs_number=_child_nhs(4, 0),
            gender="male",
        ),
    ),
)

YOUNG_CARER = _record(
    5,
    5,
    birth_date=date(1979, 7, 30),
    gender="male",
    parental_status="all-children-live-with-patient",
    children_in_household=1,
    date_asked=date(2026, 5, 6),
    episode_start=date(2024, 9, 16),
    children=(
        ChildRecord(
            local_id="C8",
            relationship="DAU",
            birth_date=date(2012, 5, 1),
            pr_held="Y",
            pr_basis=("registered-father",),
            residence="full-time",
            young_carer="Y",
            help=("early-help", "child-in-need"),
            gender="female",
        ),
    ),
)

DECLINED = _record(
    6,
    6,
    birth_date=date(1990, 3, 3),
    gender="unknown",
    parental_status="declined",
    date_asked=date(2026, 6, 10),
    episode_start=date(2026, 5, 28),
)

NOT_A_PARENT_CHILDREN_IN_HOUSEHOLD = _record(
    7,
    7,
    birth_date=date(1995, 11, 19),
    gender="male",
    parental_status="not-a-parent",
    children_in_household=2,
    expecting_child=False,
    date_asked=date(2026, 7, 2),
    episode_start=date(2026, 3, 9),
)

EXPECTING_NO_CHILDREN = _record(
    8,
    8,
    birth_date=date(1999, 1, 8),
    gender="female",
    parental_status="not-a-parent",
    children_in_household=0,
    expecting_child=True,
    expected_due_date=date(2026, 11, 20),
    unborn_child_help="unborn-child-protection-plan",
    date_asked=date(2026, 8, 18),
    episode_start=date(2026, 4, 27),
)

STEP_PARENT_SOME_CHILDREN = _record(
    9,
    9,
    birth_date=date(1982, 12, 2),
    gender="male",
    parental_status="some-children-live-with-patient",
    children_in_household=1,
    date_asked=date(2026, 9, 21),
    episode_start=date(2026, 2, 2),
    children=(
        ChildRecord(
            local_id="C9",
            relationship="STPSON",
            birth_date=date(2014, 8, 14),
            pr_held="Y",
            pr_basis=("step-parent-agreement",),
            residence="full-time",
            young_carer="N",
            help=("none",),
            nhs_number=_child_nhs(9, 0),
            gender="male",
        ),
        ChildRecord(
            local_id="C10",
            relationship="DAU",
            birth_date=date(2010, 2, 27),
            pr_held="Y",
            pr_basis=("registered-father",),
            residence="other-parent",
            young_carer="N",
            help=("none",),
            gender="female",
        ),
    ),
)

SHARED_CARE_PART_TIME = _record(
    10,
    10,
    birth_date=date(1986, 4, 22),
    gender="male",
    parental_status="all-children-live-with-patient",
    children_in_household=1,
    date_asked=date(2026, 10, 7),
    episode_start=date(2026, 9, 14),
    episode_status="finished",
    episode_end=date(2026, 10, 23),
    children=(
        ChildRecord(
            local_id="C11",
            relationship="SON",
            birth_date=date(2018, 10, 31),
            pr_held="Y",
            pr_basis=("married-father",),
            residence="part-time",
            young_carer="N",
            help=("none",),
            nhs_number=_child_nhs(10, 0),
            gender="male",
        ),
    ),
)

GUARDIAN_CHILD_PROTECTION_PLAN = _record(
    11,
    11,
    birth_date=date(1976, 9, 9),
    gender="female",
    parental_status="all-children-live-with-patient",
    children_in_household=2,
    date_asked=date(2026, 11, 3),
    episode_start=date(2026, 8, 3),
    children=(
        ChildRecord(
            local_id="C12",
            relationship="NIECE",
            birth_date=date(2009, 1, 15),
            pr_held="Y",
            pr_basis=("appointed-guardian",),
            residence="full-time",
            young_carer="UNK",
            help=("child-protection-plan",),
            nhs_number=_child_nhs(11, 0),
            gender="female",
        ),
        ChildRecord(
            local_id="C13",
            relationship="Dependant",
            birth_date=date(2012, 6, 6),
            pr_held="UNK",
            residence="full-time",
            young_carer="UNK",
            help=("not-known",),
        ),
    ),
)

ADOPTIVE_PARENT_CHILD_WITH_RELATIVES = _record(
    12,
    12,
    birth_date=date(1980, 6, 18),
    gender="other",
    parental_status="some-children-live-with-patient",
    children_in_household=1,
    date_asked=date(2026, 12, 1),
    episode_start=date(2026, 11, 16),
    children=(
        ChildRecord(
            local_id="C14",
            relationship="CHLDADOPT",
            birth_date=date(2016, 3, 12),
            pr_held="Y",
            pr_basis=("adoption-order",),
            residence="full-time",
            young_carer="N",
            help=("none",),
        ),
        ChildRecord(
            local_id="C15",
            relationship="CHLDADOPT",
            birth_date=date(2009, 12, 31),
            pr_held="Y",
            pr_basis=("adoption-order",),
            residence="relatives",
            young_carer="N",
            help=("early-help",),
        ),
    ),
)

NOT_ASKED = _record(
    13,
    1,
    birth_date=date(1991, 7, 21),
    gender="female",
    parental_status="not-asked",
    asked_by=None,
    status_source=None,
    episode_start=date(2025, 11, 24),
    team_type="A02",
)

KINSHIP_COUSIN_SPECIAL_GUARDIAN = _record(
    14,
    2,
    birth_date=date(1972, 3, 15),
    gender="male",
    parental_status="all-children-live-with-patient",
    children_in_household=1,
    date_asked=date(2026, 2, 12),
    asked_by="social-worker",
    status_source="records",
    support_offered=("carers-assessment", "think-family-discussion"),
    episode_start=date(2025, 9, 1),
    team_type="A13",
    children=(
        ChildRecord(
            local_id="K1",
            relationship="COUSN",
            birth_date=date(2014, 10, 9),
            pr_held="Y",
            pr_basis=("special-guardianship-order",),
            residence="full-time",
            young_carer="N",
            help=("child-in-need", "previous-child-protection-plan"),
            nhs_number=_child_nhs(14, 0),
            gender="male",
        ),
    ),
)

MOTHER_DAUGHTER_SON_THINK_FAMILY = _record(
    15,
    3,
    birth_date=date(1988, 1, 27),
    gender="female",
    parental_status="some-children-live-with-patient",
    children_in_household=1,
    date_asked=date(2026, 3, 10),
    asked_by="nurse",
    support_offered=("parenting-support",),
    episode_start=date(2026, 1, 5),
    team_type="C02",
    children=(
        ChildRecord(
            local_id="D1",
            relationship="DAUC",
            birth_date=date(2019, 5, 3),
            pr_held="Y",
            pr_basis=("parental-order",),
            residence="full-time",
            young_carer="N",
            help=("none",),
            think_family_action="referred",
            think_family_outcome="accepted-early-help",
            gender="female",
        ),
        ChildRecord(
            local_id="D2",
            relationship="SONC",
            birth_date=date(2011, 8, 19),
            pr_held="Y",
            pr_basis=("birth-mother",),
            residence="other-parent",
            young_carer="N",
            help=("early-help",),
            local_authority="E08000026",
            think_family_action="already-known",
            gender="male",
        ),
        ChildRecord(
            local_id="D3",
            relationship="STPDAU",
            birth_date=date(2013, 2, 11),
            pr_held="N",
            residence="other-parent",
            young_carer="N",
            help=("not-known",),
            ended=date(2026, 3, 20),
            gender="female",
        ),
    ),
)

PARENT_PLACEMENT_ORDER_CONSENT_WITHHELD = _record(
    16,
    4,
    birth_date=date(1996, 9, 2),
    gender="female",
    parental_status="no-children-live-with-patient",
    children_in_household=0,
    date_asked=date(2026, 4, 8),
    status_source="other-agency",
    legal_basis="consent-withheld",
    support_offered=("none",),
    episode_start=date(2026, 2, 16),
    team_type="A03",
    children=(
        ChildRecord(
            local_id="L1",
            relationship="DAU",
            birth_date=date(2024, 12, 1),
            pr_held="Y",
            pr_basis=("birth-mother",),
            pr_restriction=("care-order", "placement-order"),
            residence="looked-after",
            young_carer="N",
            help=("looked-after",),
            nhs_number=_child_nhs(16, 0),
            local_authority="E09000002",
            gender="female",
        ),
    ),
)

VALID_EXAMPLES: dict[str, tuple[str, ReturnRecord]] = {
    "mother-with-pr-three-children-living-with-her": (
        "Mother with parental responsibility (birth mother) and three children who all live with her "
        "full-time; the son gets early help; the eldest has an NHS number.",
        MOTHER_THREE_CHILDREN,
    ),
    "father-without-pr-children-live-with-mother": (
        "Unmarried father, not on the birth certificates, so without parental responsibility; both children "
        "live with their mother; what help they get is not known.",
        FATHER_WITHOUT_PR,
    ),
    "kinship-grandmother-special-guardianship": (
        "Grandmother who is her granddaughter's special guardian (s.14A); the child lives with her full-time "
        "and is a child in need.",
        KINSHIP_GRANDMOTHER,
    ),
    "parent-child-looked-after-care-order": (
        "Mother whose son is looked after by the local authority under a care order: she keeps parental "
        "responsibility as birth mother, and the care order is a restriction (the local authority shares it, "
        "s.33(3)), not a basis.",
        PARENT_CHILD_LOOKED_AFTER,
    ),
    "young-carer-daughter": (
        "Father (registered on the birth certificate) whose 14-year-old daughter cares for him: young carer, "
        "with early help and child-in-need support.",
        YOUNG_CARER,
    ),
    "parent-declined-to-answer": (
        "Patient declined to say whether they are a parent: status declined, no children listed, no counts.",
        DECLINED,
    ),
    "not-a-parent-children-in-household": (
        "Not a parent, but two under-18s (a partner's children) live in the household: counted in "
        "childrenInHousehold, not listed as dependent children.",
        NOT_A_PARENT_CHILDREN_IN_HOUSEHOLD,
    ),
    "expecting-parent-no-children-yet": (
        "No children yet, expecting a child in November 2026 with an unborn child protection plan; the "
        "expected child is recorded on the patient, not as a RelatedPerson.",
        EXPECTING_NO_CHILDREN,
    ),
    "step-parent-agreement-some-children-live-with-patient": (
        "Stepfather with a step-parent parental responsibility agreement (s.4A) for his stepson, who lives "
        "with him; his own daughter lives with her mother.",
        STEP_PARENT_SOME_CHILDREN,
    ),
    "shared-care-part-time-child-arrangements-order": (
        "Married father (parental responsibility as married to the mother, s.2(1), and no other basis: a "
        "child arrangements order gives a parent none) whose son lives with him part of the week (at least 2 "
        "nights in 14), which counts as living with him; the episode finished during the month.",
        SHARED_CARE_PART_TIME,
    ),
    "guardian-niece-child-protection-plan": (
        "Aunt appointed guardian (s.5) of her niece, who has a child protection plan; a second dependant (UK "
        "Core 'Dependant', e.g. from HL7 v2 WRD) whose parental responsibility is not known.",
        GUARDIAN_CHILD_PROTECTION_PLAN,
    ),
    "adoptive-parent-elder-child-with-relatives": (
        "Adoptive parent (adoption order) of two children: the younger lives with the patient, the elder "
        "with relatives and gets early help, so some of the children live with the patient.",
        ADOPTIVE_PARENT_CHILD_WITH_RELATIVES,
    ),
    "patient-not-asked": (
        "Nobody asked the patient about children by the reporting date, so the status is not-asked with "
        "no date asked, role or source (ff-ps-2) and no children listed (ff-bun-8); the return is still "
        "sent, so non-identification is counted.",
        NOT_ASKED,
    ),
    "kinship-cousin-special-guardianship": (
        "Kinship carer who is his cousin's special guardian (s.14C(1)(a)): the boy lives with him, is a "
        "child "
        "in need and had a child protection plan in the previous 12 months; the status came from records, "
        "asked "
        "by a social worker, and a carer's assessment was offered.",
        KINSHIP_COUSIN_SPECIAL_GUARDIAN,
    ),
    "mother-daughter-son-think-family-referral": (
        "Mother (perinatal service) of a daughter born through surrogacy (parental order; DAUC, as the EHR "
        "records no biology) who lives with her and was referred to early help (accepted), and a son (SONC) "
        "who "
        "lives with his father in another local authority and is already known to children's social care; a "
        "stepdaughter stopped being her dependant on 20 March when her father moved away (period.end).",
        MOTHER_DAUGHTER_SON_THINK_FAMILY,
    ),
    "parent-placement-order-consent-withheld": (
        "Mother whose daughter is looked after under a care order and a placement order (both restrictions "
        "on "
        "the parental responsibility she holds as birth mother), placed in another local authority; the "
        "patient withheld consent, so only the provider's counts use the record (legal basis "
        "consent-withheld); no support offered.",
        PARENT_PLACEMENT_ORDER_CONSENT_WITHHELD,
    ),
}
"""File stem -> (what the example shows, the record it is built from)."""
