"""A deterministic synthetic month of national returns: for the demo (`fhir-family up`), tests and the bench.

Same arguments, same records, byte for byte. NHS numbers come from the unissued 999 range
(``mapping.nhs_number.synthetic_nhs_number``), so no real person can be identified.

The guide 0.2 fields are drawn from a second random stream (``_extra``), so the 0.1 fields of every return
stay as they were: a share of patients is ``not-asked`` (a different share per provider, as the regulators
found services differ), each provider serves a few local authorities, children get think-family referrals,
PR restrictions, previous CP plans and, rarely, an end date. No return is ``consent-withheld``: such a return
is not exported (only its counts flow), so the three engines would count different populations.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from ..mapping.nhs_number import synthetic_nhs_number
from ..mapping.record import ChildRecord, ReturnRecord
from ..model import LIVES_WITH_PATIENT

DEMO_PROVIDERS: tuple[tuple[str, str], ...] = (
    ("RXA", "Northfield Mental Health NHS Trust (synthetic)"),
    ("RXB", "Eastbrook Partnership NHS Foundation Trust (synthetic)"),
    ("RXC", "Westvale Care NHS Trust (synthetic)"),
)
_RELATIONSHIPS = ("CHILD", "CHILD", "NCHILD", "DAU", "SON", "STPCHLD", "CHLDFOST", "GRNDCHILD", "Dependant")
_HELP = ("none", "none", "none", "early-help", "child-in-need", "child-protection-plan", "not-known")
_PR_BASIS = (
    "birth-mother",
    "married-father",
    "registered-father",
    "pr-agreement",
    "child-arrangements-order-lives-with",
)


#: a basis that fits a child who is not the patient's birth child (a birth-parent basis would break ff-pr-3)
_NON_BIRTH_BASIS = {
    "STPCHLD": "step-parent-agreement",
    "CHLDFOST": "child-arrangements-order-lives-with",
    "GRNDCHILD": "special-guardianship-order",
}

#: per provider: the share of patients nobody asked, and the local authorities (GSS codes) its patients
#: live in, the first the most common
PROVIDER_PROFILES: dict[str, tuple[float, tuple[str, ...]]] = {
    "RXA": (0.08, ("E08000025", "E08000029", "E08000028")),  # Birmingham, Solihull, Sandwell
    "RXB": (0.15, ("E06000018", "E10000024", "E07000172")),  # Nottingham, Nottinghamshire, Broxtowe
    "RXC": (0.25, ("E06000023", "E06000022", "E06000025")),  # Bristol, Bath and NE Somerset, S Glos
}
_DEFAULT_PROFILE = (0.10, ("E09000033", "E09000028"))  # Westminster, Southwark
_TEAM_TYPES = ("A03", "A03", "A03", "A03", "A02", "A13", "IP", "IP", "C02", "A05", "A08", "C10")
_ASKED_BY = ("care-coordinator", "care-coordinator", "nurse", "psychiatrist", "social-worker", "other")
_SOURCES = ("self-report", "self-report", "self-report", "records", "other-agency")
_SUPPORT = ("parenting-support", "family-intervention", "carers-assessment", "think-family-discussion")
_LEGAL_BASES = ("national-direction",) * 8 + ("consent", "safeguarding")

SYNTHETIC_NUMBERS = 500_000
"""How many synthetic NHS numbers there are (``synthetic_nhs_number`` seeds). Beyond 30,000 patients in one
call, children's numbers repeat (and may equal a parent's): harmless for synthetic data, where only parents
must be distinct per provider. Parents are numbered across providers and their numbers wrap at this count
(``parent_nhs_number``), so a national month of 1,000,000 returns works: each provider's parents stay
distinct up to 500,000 per provider, and a number may recur at another provider (one person seen by two
providers, which the collector keeps apart)."""


def _month_bounds(month: str) -> tuple[date, date]:
    start = date.fromisoformat(f"{month}-01")
    end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return start, end


_AT_HOME = ("full-time", "full-time", "full-time", "part-time")
_AWAY = ("other-parent", "relatives", "looked-after", "other-parent")


def _child(
    rng: random.Random,
    extra: random.Random,
    period_end: date,
    seed: int,
    at_home: bool,
    k: int,
    las: tuple[str, ...],
) -> ChildRecord:
    age_days = rng.randint(30, 17 * 365)
    residence = rng.choice(_AT_HOME if at_home else _AWAY)
    help_code = "looked-after" if residence == "looked-after" else rng.choice(_HELP)
    pr_held = rng.choice(("Y", "Y", "Y", "N", "UNK"))
    relationship = rng.choice(_RELATIONSHIPS)
    birth_date = period_end - timedelta(days=age_days)
    basis = rng.choice(_PR_BASIS) if pr_held == "Y" else None  # drawn as before, so the data stay the same
    if basis is not None:
        basis = _NON_BIRTH_BASIS.get(relationship, basis)
    young_carer = rng.choice(("N", "N", "N", "N", "Y", "UNK"))
    nhs_number = synthetic_nhs_number(seed) if rng.random() < 0.6 else None
    gender = rng.choice(("male", "female"))
    if help_code == "none" and extra.random() < 0.05:
        help_code = extra.choice(("previous-child-protection-plan", "previous-looked-after"))
    action = outcome = None
    draw = extra.random()
    if help_code in ("child-protection-plan", "child-in-need", "looked-after"):
        action = "already-known"
    elif draw < 0.08:
        action, outcome = "referred", extra.choice(("accepted-early-help", "accepted-cin", "s47-enquiry",
                                                    "no-further-action", "awaited"))
    elif draw < 0.12:
        action, outcome = "notified", extra.choice(("no-further-action", "awaited"))
    elif draw < 0.40:
        action = "not-needed"
    restriction = ("care-order",) if residence == "looked-after" and pr_held == "Y" else ()
    ended = period_end - timedelta(days=extra.randint(0, 25)) if extra.random() < 0.01 else None
    return ChildRecord(
        local_id=f"C{k + 1}",
        relationship=relationship,
        birth_date=birth_date,
        pr_held=pr_held,
        pr_basis=(basis,) if basis else (),
        pr_restriction=restriction,
        residence=residence,
        young_carer=young_carer,
        help=(help_code,),
        nhs_number=nhs_number,
        nhs_number_verification="01" if nhs_number else None,
        gender=gender,
        local_authority=extra.choice(las) if not at_home and extra.random() < 0.3 else None,
        think_family_action=action,
        think_family_outcome=outcome,
        ended=ended,
    )


def parent_nhs_number(person: int) -> str:
    """The synthetic NHS number of the ``person``-th parent of a month (numbered from 1 across providers):
    unchanged below ``SYNTHETIC_NUMBERS``, wrapping beyond it, so any ``SYNTHETIC_NUMBERS`` consecutive
    parents (one provider's) have distinct numbers."""
    return synthetic_nhs_number(person % SYNTHETIC_NUMBERS)


def synthetic_month(
    month: str = "2026-10",
    patients_per_provider: int = 120,
    providers: tuple[tuple[str, str], ...] = DEMO_PROVIDERS,
    seed: int = 20261,
    submission_prefix: str = "synthetic",
) -> Iterator[ReturnRecord]:
    """``patients_per_provider`` returns for each provider for ``month`` (``YYYY-MM``)."""
    if patients_per_provider > SYNTHETIC_NUMBERS:
        raise ValueError(f"at most {SYNTHETIC_NUMBERS} synthetic patients per provider (distinct NHS numbers "
                         f"in the unissued 999 range), not {patients_per_provider}: use more providers")
    rng = random.Random(f"{seed}-{month}")
    extra = random.Random(f"{seed}-{month}-0.2")
    start, end = _month_bounds(month)
    person = 0
    for ods, name in providers:
        not_asked_share, las = PROVIDER_PROFILES.get(ods, _DEFAULT_PROFILE)
        for n in range(patients_per_provider):
            person += 1
            status = rng.choices(
                (
                    "all-children-live-with-patient",
                    "some-children-live-with-patient",
                    "no-children-live-with-patient",
                    "not-a-parent",
                    "declined",
                ),
                weights=(40, 15, 15, 25, 5),
            )[0]
            children: tuple[ChildRecord, ...] = ()
            if status.endswith("live-with-patient"):
                count = rng.choice((1, 1, 2, 2, 3, 4))
                if status.startswith("some"):
                    count = max(count, 2)
                home = {
                    "all": [True] * count,
                    "no-": [False] * count,
                    "som": [True] + [False] + [rng.random() < 0.5 for _ in range(count - 2)],
                }[status[:3]]
                patient_la = las[0] if extra.random() < 0.6 else extra.choice(las)
                others = tuple(la for la in las if la != patient_la)
                children = tuple(
                    _child(rng, extra, end, (200_000 + person * 10 + k) % SYNTHETIC_NUMBERS, home[k], k,
                           others)
                    for k in range(count)
                )
            else:
                patient_la = las[0] if extra.random() < 0.6 else extra.choice(las)
            in_household = sum(1 for c in children if c.residence in LIVES_WITH_PATIENT)
            birth_date = date(rng.randint(1966, 2004), rng.randint(1, 12), rng.randint(1, 28))
            gender = rng.choice(("male", "female"))
            episode_start = start - timedelta(days=rng.randint(0, 400))
            asked = extra.random() >= not_asked_share
            if not asked:
                status, children, in_household = "not-asked", (), 0
            support: tuple[str, ...] = ()
            if asked and status.endswith("live-with-patient"):
                offered = extra.sample(_SUPPORT, extra.choice((0, 0, 1, 1, 2)))
                support = tuple(sorted(offered)) or ("none",)
            yield ReturnRecord(
                submission_id=f"{submission_prefix}-{ods}-{month}-{n:05d}",
                ods_code=ods,
                local_patient_id=f"{ods}-P{person:07d}",
                nhs_number=parent_nhs_number(person),
                nhs_number_verification="01",
                birth_date=birth_date,
                gender=gender,
                local_authority=patient_la,
                parental_status=status,
                date_asked=end - timedelta(days=extra.randint(0, 300)) if asked else None,
                asked_by=extra.choice(_ASKED_BY) if asked else None,
                status_source=extra.choice(_SOURCES) if asked else None,
                support_offered=support,
                reporting_period_start=start,
                reporting_period_end=end,
                legal_basis=extra.choice(_LEGAL_BASES),
                service_request_id=f"SR{ods}{person:08d}",
                team_type=extra.choice(_TEAM_TYPES),
                episode_start=episode_start,
                organisation_name=name,
                children_in_household=in_household if children else None,
                timestamp=datetime(end.year, end.month, end.day, 18, 0, tzinfo=UTC),
                children=children,
            )


SMALL_PROVIDERS: tuple[tuple[str, str], ...] = (
    ("RYA", "Southmere Community Trust (synthetic)"),
    ("RYB", "Northcliff Care Trust (synthetic)"),
    ("RYC", "Highdown Health (synthetic)"),
    ("RYD", "Lowmoor Partnership (synthetic)"),
)
SMALL_PROVIDER_RETURNS = 6


def synthetic_national_month(total: int, month: str = "2026-10", seed: int = 20261) -> Iterator[ReturnRecord]:
    """At least ``total`` returns for ``month``: the three demo providers share most of them and four small
    providers send 6 each, so a published table has suppressed cells (primary and secondary) at any size."""
    small = SMALL_PROVIDER_RETURNS * len(SMALL_PROVIDERS)
    per_large = max(1, -(-(total - small) // len(DEMO_PROVIDERS)))
    yield from synthetic_month(month, per_large, DEMO_PROVIDERS, seed)
    yield from synthetic_month(
        month, SMALL_PROVIDER_RETURNS, SMALL_PROVIDERS, seed, submission_prefix="synthetic-small"
    )
