"""The synthetic month the demo and the collector tests load follows the guide's consistency rules."""

from __future__ import annotations

from fhir_family.collector.synthetic import synthetic_month
from fhir_family.conformance import default_validator
from fhir_family.mapping.bundle import build_bundle


def test_every_synthetic_return_is_valid() -> None:
    validator = default_validator()
    records = list(synthetic_month("2026-10", patients_per_provider=40))
    statuses = {r.parental_status for r in records}
    assert statuses >= {"not-a-parent", "declined", "all-children-live-with-patient", "not-asked"}
    for record in records:
        outcome = validator.validate(build_bundle(record))
        errors = [i for i in outcome["issue"] if i["severity"] in ("error", "fatal")]
        assert errors == [], (record.submission_id, errors)


def test_the_synthetic_month_carries_the_02_fields_with_realistic_shares() -> None:
    records = list(synthetic_month("2026-10", patients_per_provider=200))
    by_provider: dict[str, list] = {}
    for record in records:
        by_provider.setdefault(record.ods_code, []).append(record)
    shares = {
        ods: sum(r.parental_status == "not-asked" for r in rows) / len(rows)
        for ods, rows in by_provider.items()
    }
    # every provider has some not asked, and the providers differ (as the regulators found)
    assert all(0.02 < share < 0.40 for share in shares.values()), shares
    assert max(shares.values()) - min(shares.values()) > 0.08, shares
    assert len({r.local_authority for r in records}) >= 6
    not_asked = [r for r in records if r.parental_status == "not-asked"]
    assert all(r.date_asked is None and r.asked_by is None for r in not_asked)
    assert all(r.date_asked and r.date_asked <= r.reporting_period_end
               for r in records if r.parental_status != "not-asked")
    assert not any(r.children for r in records if r.parental_status == "not-asked")
    children = [c for r in records for c in r.children]
    actions = {c.think_family_action for c in children}
    assert {"referred", "notified", "already-known"} <= actions
    assert any(c.pr_restriction for c in children) and any(c.ended for c in children)
    assert any(c.local_authority for c in children)
    assert len({r.team_type for r in records}) >= 5
    assert {r.legal_basis for r in records} <= {"national-direction", "consent", "safeguarding"}
    assert len({(r.ods_code, r.local_patient_id) for r in records}) == len(records)


def test_a_national_month_of_a_million_returns_has_distinct_parents_per_provider() -> None:
    """bench_month's 1,000,000 returns are 333,334 per demo provider, numbered across providers: every
    provider's parents get distinct valid NHS numbers though there are only 500,000 synthetic numbers."""
    from fhir_family.collector.synthetic import SYNTHETIC_NUMBERS, parent_nhs_number
    from fhir_family.mapping.nhs_number import is_valid_nhs_number, synthetic_nhs_number

    per_provider = 333_334
    for first in (1, 1 + per_provider, 1 + 2 * per_provider):  # the three providers' parents
        numbers = {parent_nhs_number(person) for person in range(first, first + per_provider)}
        assert len(numbers) == per_provider
    last = SYNTHETIC_NUMBERS - 1
    assert parent_nhs_number(last) == synthetic_nhs_number(last)  # below the wrap: as before
    assert is_valid_nhs_number(parent_nhs_number(3 * per_provider))


def test_more_patients_per_provider_than_synthetic_numbers_is_refused_clearly() -> None:
    import pytest

    from fhir_family.collector.synthetic import SYNTHETIC_NUMBERS

    with pytest.raises(ValueError, match="at most 500000 synthetic patients per provider"):
        next(synthetic_month("2026-10", patients_per_provider=SYNTHETIC_NUMBERS + 1))
