"""The synthetic month the demo and the collector tests load follows the guide's consistency rules."""

from __future__ import annotations

from fhir_family.collector.synthetic import synthetic_month
from fhir_family.conformance import default_validator
from fhir_family.mapping.bundle import build_bundle


def test_every_synthetic_return_is_valid() -> None:
    validator = default_validator()
    records = list(synthetic_month("2026-10", patients_per_provider=40))
    statuses = {r.parental_status for r in records}
    assert statuses >= {"not-a-parent", "declined", "all-children-live-with-patient"}
    for record in records:
        outcome = validator.validate(build_bundle(record))
        errors = [i for i in outcome["issue"] if i["severity"] in ("error", "fatal")]
        assert errors == [], (record.submission_id, errors)
