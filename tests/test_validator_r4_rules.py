"""Generic FHIR R4 rules the validator applies to any resource (issue 10), each with small valid and invalid
instances and the exact issues expected (severity, code, expression, message id)."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_family.conformance import default_validator
from fhir_family.conformance.invariants import Invariant
from fhir_family.outcome import message_id

CORE = "http://hl7.org/fhir/StructureDefinition/"


Found = set[tuple[str, str, str | None, str | None]]


def issues(resource: dict[str, Any], profile: str | None = None) -> Found:
    """(severity, code, expression, message id) of every non-information issue; a resource on its own is
    validated against its R4 core definition (not the guide's role profile) unless a profile is named."""
    outcome = default_validator().validate(resource, profile or CORE + resource["resourceType"])
    return {
        (i["severity"], i["code"], (i.get("expression") or [None])[0], message_id(i))
        for i in outcome["issue"]
        if i["severity"] != "information"
    }


def rendered(resource: dict[str, Any], profile: str | None = None) -> list[dict[str, Any]]:
    outcome = default_validator().validate(resource, profile or CORE + resource["resourceType"])
    return [i for i in outcome["issue"] if i["severity"] != "information"]


# -- %resource, %rootResource and date comparisons (FHIRPath) ---------------------------------------------


def _patient_with_period(start: str, end: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "identifier": [{"value": "x", "period": {"start": start, "end": end}}]}


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2020", "2020-01-01"),  # equal as far as both go, different precision: empty, so not satisfied
        ("2020-01-01", "2020"),
        ("2020-01-01T10:00:00Z", "2020-01-01"),
        ("2020-01-02", "2020-01-01"),
        ("2020-01-01T10:00:00+00:00", "2020-01-01T09:59:59Z"),
    ],
)
def test_per1_fails_when_the_comparison_is_false_or_empty(start: str, end: str) -> None:
    assert issues(_patient_with_period(start, end)) == {
        ("error", "invariant", "Patient.identifier[0].period", "FF-INVARIANT")
    }


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2020", "2021-01-01"),  # decided at the year
        ("2019-12", "2020"),
        ("2020-01-01", "2020-01-01"),
        ("2020-01-01T10:00:00+01:00", "2020-01-01T09:30:00Z"),  # 09:00 UTC before 09:30 UTC
        ("2020-01-01T10:00:00Z", "2020-01-01T10:00:00.000Z"),  # seconds and milliseconds: one precision
    ],
)
def test_per1_passes_when_start_is_not_after_end(start: str, end: str) -> None:
    assert issues(_patient_with_period(start, end)) == set()


def _patient_referring_to_contained() -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": "p",
        "contained": [{"resourceType": "Practitioner", "id": "gp", "name": [{"family": "Jones"}]}],
        "generalPractitioner": [{"reference": "#gp"}],
    }


def test_root_resource_of_a_bundle_entry_is_the_entry_resource_not_the_bundle() -> None:
    """ref-1 reads %rootResource.contained: inside a Bundle entry that is the entry's resource."""
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "http://example.org/fhir/Patient/p", "resource": _patient_referring_to_contained()}
        ],
    }
    assert issues(bundle) == set()


def test_root_resource_of_a_parameters_resource_is_that_resource() -> None:
    parameters = {
        "resourceType": "Parameters",
        "parameter": [{"name": "patient", "resource": _patient_referring_to_contained()}],
    }
    assert issues(parameters) == set()


def test_root_resource_of_a_contained_resource_is_its_container() -> None:
    """A contained resource may refer to a sibling contained resource (ref-1 via the container)."""
    patient = _patient_referring_to_contained()
    patient["contained"].append(
        {"resourceType": "PractitionerRole", "id": "role", "practitioner": {"reference": "#gp"}}
    )
    patient["generalPractitioner"].append({"reference": "#role"})
    assert issues(patient) == set()


def test_reference_to_a_missing_contained_resource_fails_ref1() -> None:
    patient = _patient_referring_to_contained()
    patient["generalPractitioner"] = [{"reference": "#gp"}, {"reference": "#nobody"}]
    assert ("error", "invariant", "Patient.generalPractitioner[1]", "FF-INVARIANT") in issues(patient)


def test_per1_follows_fhirpath_also_without_native_fast_paths() -> None:
    """per-1 is always native: fhirpathpy pads the coarser date and would pass 2020 <= 2020-01-01."""
    per1 = Invariant.from_constraint(
        {
            "key": "per-1",
            "severity": "error",
            "human": "If present, start SHALL have a lower value than end",
            "expression": "start.hasValue().not() or end.hasValue().not() or (start <= end)",
        },
        fast_paths=False,
    )
    assert per1.evaluate({"start": "2020", "end": "2020-01-01"}, "Period", None, None) is False
    assert per1.evaluate({"start": "2020", "end": "2021-01-01"}, "Period", None, None) is True
