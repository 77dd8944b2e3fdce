"""Bad input of any shape ends as the project's own errors (400/422 with issues), never a foreign exception.

Hypothesis mutates the real examples (drops, duplicates and garbles segments, fields and characters) and
throws arbitrary text at every parser; whatever comes back must be a Parsed or a FhirFamilyError.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhir_family.errors import FhirFamilyError
from fhir_family.mapping.factory import get_parser
from fhir_family.mapping.pipeline import MappingPipeline

EHR = Path(__file__).resolve().parent.parent / "examples" / "ehr"
HL7_EXAMPLES = [p.read_text("latin-1") for p in sorted((EHR / "hl7v2").glob("*.hl7"))]
JSON_EXAMPLES = [p.read_text() for p in sorted((EHR / "json").glob("*.json")) if ".expected" not in p.name]
FUZZ = settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
NOISE = st.text(alphabet=st.sampled_from("|^~\\&\r\n0123456789AZ-+ .ÿ\x0b\x1c"), max_size=12)


class _Quiet:
    def issues(self, resource, profile=None):
        return []


@st.composite
def mutated(draw, examples: list[str]) -> str:
    text = draw(st.sampled_from(examples))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 15))
        text = text[:position] + draw(NOISE) + text[position + cut :]
    return text


def _parse_one(name: str, text: str) -> None:
    try:
        get_parser(name).parse(text)
    except FhirFamilyError as exc:
        assert exc.issues and exc.http_status in (400, 422)


@FUZZ
@given(mutated(HL7_EXAMPLES))
def test_mutated_hl7_messages(text: str) -> None:
    _parse_one("hl7v2", text)


@FUZZ
@given(mutated(JSON_EXAMPLES))
def test_mutated_json_payloads(text: str) -> None:
    _parse_one("json", text)


@pytest.mark.parametrize("name", ["json", "hl7v2"])
@FUZZ
@given(text=st.text(max_size=300))
def test_arbitrary_text_single_documents(name: str, text: str) -> None:
    _parse_one(name, text)


@pytest.mark.parametrize("name", ["csv", "ndjson"])
@FUZZ
@given(lines=st.lists(st.text(max_size=120), max_size=8))
def test_arbitrary_batches_yield_one_result_per_item_and_never_raise(name: str, lines: list[str]) -> None:
    for mapped in MappingPipeline(_Quiet()).map_stream(get_parser(name), [line + "\n" for line in lines]):
        assert mapped.ok or mapped.status in (400, 422)
