"""Pseudonymisation and facts extraction: pure functions over bundle dicts, no database."""

from __future__ import annotations

import json

import pytest

from fhir_family.collector.facts import extract, reporting_ods
from fhir_family.collector.pseudonym import PSEUDONYM_SYSTEM, Pseudonymiser, redact_numbers
from fhir_family.errors import NonConformantError


@pytest.fixture
def bundle(examples_dir):
    return json.loads(
        (examples_dir / "bundles" / "mother-with-pr-three-children-living-with-her.json").read_text()
    )


def nhs_numbers(bundle) -> set[str]:
    return {
        identifier["value"]
        for entry in bundle["entry"]
        for identifier in entry["resource"].get("identifier", [])
        if identifier["system"] == "https://fhir.nhs.uk/Id/nhs-number"
    }


def test_every_copy_of_every_nhs_number_is_replaced(bundle):
    numbers = nhs_numbers(bundle)
    assert len(numbers) >= 2  # the parent and at least one child
    # guide 0.2: conditional updates key on provider-scoped ids, so no request URL carries an NHS number
    assert not any(n in entry["request"]["url"] for entry in bundle["entry"] for n in numbers)
    pseudo = Pseudonymiser(b"k" * 32)
    stored = pseudo.pseudonymise_bundle(bundle)
    text = json.dumps(stored)
    assert not any(n in text for n in numbers)
    parent_number = bundle["entry"][1]["resource"]["identifier"][0]["value"]
    patient = stored["entry"][1]["resource"]
    original = bundle["entry"][1]["resource"]["identifier"][0]
    pseudonymised = patient["identifier"][0]
    assert pseudonymised["system"] == PSEUDONYM_SYSTEM
    assert pseudonymised["value"] == pseudo.pseudonym(parent_number)
    # anything else on the identifier (UK Core's NHS number verification status) is kept
    assert {k: v for k, v in pseudonymised.items() if k not in ("system", "value")} == {
        k: v for k, v in original.items() if k not in ("system", "value")
    }
    # guide 0.2 requests key on the provider-scoped id, which holds no NHS number: kept as sent
    assert stored["entry"][1]["request"]["url"] == bundle["entry"][1]["request"]["url"]
    assert nhs_numbers(bundle) == numbers  # the input is not modified


def test_pseudonyms_are_keyed_stable_and_distinct():
    a, b = Pseudonymiser(b"a" * 32), Pseudonymiser(b"b" * 32)
    assert a.pseudonym("9990000026") == a.pseudonym("999 000 0026")
    assert a.pseudonym("9990000026") != b.pseudonym("9990000026")
    assert a.pseudonym("9990000026") != a.pseudonym("9990000034")
    assert len(a.pseudonym("9990000026")) == 64
    with pytest.raises(ValueError):
        Pseudonymiser(b"short")


def test_redaction_masks_anything_shaped_like_an_nhs_number():
    assert redact_numbers("value 9990000026 and 999 000 0026 but not 12345") == (
        "value [redacted] and [redacted] but not 12345"
    )
    assert redact_numbers("id 99900000261") == "id 99900000261"  # 11 digits is not an NHS number


def test_facts_of_an_example(bundle):
    facts = extract(bundle)
    assert facts.ods_code == reporting_ods(bundle) == "XFF01"
    assert facts.parental_status == "all-children-live-with-patient"
    assert len(facts.children) == 3 and all(c.residence == "full-time" for c in facts.children)
    assert facts.report_month == facts.period_end.strftime("%Y-%m")
    assert all(0 <= c.age_years < 18 for c in facts.children)


def test_facts_refuse_a_bundle_without_what_the_report_needs(bundle):
    del bundle["entry"][1]["resource"]["extension"]
    with pytest.raises(NonConformantError):
        extract(bundle)
