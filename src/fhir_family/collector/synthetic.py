"""A deterministic synthetic month of national returns: for the demo (`fhir-family up`), tests and the bench.

Same arguments, same records, byte for byte. NHS numbers come from the unissued 999 range
(``mapping.nhs_number.synthetic_nhs_number``), so no real person can be identified.
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
    "registered-parent",
    "pr-agreement",
    "child-arrangements-order",
)


#: a basis that fits a child who is not the patient's birth child (a birth-parent basis would break ff-pr-3)
_NON_BIRTH_BASIS = {
    "STPCHLD": "step-parent-agreement",
    "CHLDFOST": "child-arrangements-order",
    "GRNDCHILD": "special-guardianship-order",
}

SYNTHETIC_NUMBERS = 500_000
"""How many synthetic NHS numbers there are (``synthetic_nhs_number`` seeds). Beyond 30,000 patients in one
call, children's numbers repeat (and may equal a parent's): harmless for synthetic data, where only parents
must be distinct per provider, which holds up to 500,000 patients per call."""


def _month_bounds(month: str) -> tuple[date, date]:
    start = date.fromisoformat(f"{month}-01")
    end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return start, end


_AT_HOME = ("full-time", "full-time", "full-time", "part-time")
_AWAY = ("other-parent", "relatives", "looked-after", "other-parent")


def _child(rng: random.Random, period_end: date, seed: int, at_home: bool) -> ChildRecord:
    age_days = rng.randint(30, 17 * 365)
    residence = rng.choice(_AT_HOME if at_home else _AWAY)
    help_code = "looked-after" if residence == "looked-after" else rng.choice(_HELP)
    pr_held = rng.choice(("Y", "Y", "Y", "N", "UNK"))
    relationship = rng.choice(_RELATIONSHIPS)
    birth_date = period_end - timedelta(days=age_days)
    basis = rng.choice(_PR_BASIS) if pr_held == "Y" else None  # drawn as before, so the data stay the same
    if basis is not None:
        basis = _NON_BIRTH_BASIS.get(relationship, basis)
    return ChildRecord(
        relationship=relationship,
        birth_date=birth_date,
        pr_held=pr_held,
        pr_basis=(basis,) if basis else (),
        residence=residence,
        young_carer=rng.choice(("N", "N", "N", "N", "Y", "UNK")),
        help=(help_code,),
        nhs_number=synthetic_nhs_number(seed) if rng.random() < 0.6 else None,
        gender=rng.choice(("male", "female")),
    )


def synthetic_month(
    month: str = "2026-10",
    patients_per_provider: int = 120,
    providers: tuple[tuple[str, str], ...] = DEMO_PROVIDERS,
    seed: int = 20261,
    submission_prefix: str = "synthetic",
) -> Iterator[ReturnRecord]:
    """``patients_per_provider`` returns for each provider for ``month`` (``YYYY-MM``)."""
    rng = random.Random(f"{seed}-{month}")
    start, end = _month_bounds(month)
    person = 0
    for ods, name in providers:
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
                children = tuple(
                    _child(rng, end, (200_000 + person * 10 + k) % SYNTHETIC_NUMBERS, home[k])
                    for k in range(count)
                )
            in_household = sum(1 for c in children if c.residence in LIVES_WITH_PATIENT)
            yield ReturnRecord(
                submission_id=f"{submission_prefix}-{ods}-{month}-{n:05d}",
                ods_code=ods,
                nhs_number=synthetic_nhs_number(person),
                birth_date=date(rng.randint(1966, 2004), rng.randint(1, 12), rng.randint(1, 28)),
                gender=rng.choice(("male", "female")),
                parental_status=status,
                reporting_period_start=start,
                reporting_period_end=end,
                episode_start=start - timedelta(days=rng.randint(0, 400)),
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
