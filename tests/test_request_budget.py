"""Work per request is bounded (issue 11): every endpoint refuses oversized input at once, 413 for bytes and
422 for counts (``fhir_family.limits``), and a batch line over the line limit costs that line only, read past
in bounded pieces. The quadratic step behind the 78 s ``$validate`` (ff-bun-5/6 rescanning the Bundle for
every child) has native twins, proven in test_validator_invariants.py."""

from __future__ import annotations

import copy
import io
import json
import uuid

import pytest

from fhir_family import messages as msg
from fhir_family.collector.tokens import issue_token
from fhir_family.facade.app import create_app as create_facade
from fhir_family.limits import (
    LINE_BYTES,
    MAX_BUNDLE_ENTRIES,
    MAX_HL7_REPETITIONS,
    MAX_HL7_SEGMENTS,
    MAX_RETURN_ENTRIES,
    SINGLE_BODY_BYTES,
)
from fhir_family.mapping.lines import DecodedLines, LineTooLong
from fhir_family.outcome import message_id

FHIR = {"Content-Type": "application/fhir+json"}
HL7 = {"Content-Type": "x-application/hl7-v2+er7"}


@pytest.fixture(scope="module")
def facade(collector_validator):
    return create_facade({"VALIDATOR": collector_validator}).test_client()


@pytest.fixture
def collector(db_url, make_collector):
    app = make_collector(db_url)
    token = issue_token(app.extensions["fhir_family_collector"].sessions, "provider", "XFF01")
    return app.test_client(), {"Authorization": f"Bearer {token}", **FHIR}


@pytest.fixture
def national(examples_dir) -> dict:
    path = examples_dir / "bundles" / "mother-with-pr-three-children-living-with-her.json"
    return json.loads(path.read_text())


def with_children(bundle: dict, total_entries: int) -> dict:
    """``bundle`` grown to ``total_entries`` by copies of its first child, each with its own id."""
    grown = copy.deepcopy(bundle)
    child = next(e for e in grown["entry"] if e["resource"]["resourceType"] == "RelatedPerson")
    while len(grown["entry"]) < total_entries:
        entry = copy.deepcopy(child)
        new_id = str(uuid.uuid4())
        entry["fullUrl"], entry["resource"]["id"] = f"urn:uuid:{new_id}", new_id
        grown["entry"].append(entry)
    return grown


def ids(response, status: int) -> list[str | None]:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome"
    return [message_id(issue) for issue in body["issue"]]


# -- bytes: 413 per endpoint --------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "headers"), [
    ("/ehr/json", {"Content-Type": "application/json"}),
    ("/ehr/hl7v2", HL7),
    ("/$validate", FHIR),
    ("/Bundle/$validate", FHIR),
])
def test_a_document_over_the_single_body_limit_is_413_at_the_facade(facade, path, headers) -> None:
    body = b" " * (SINGLE_BODY_BYTES + 1)
    assert ids(facade.post(path, data=body, headers=headers), 413) == [msg.http_status(413)]


def test_a_return_over_the_single_body_limit_is_413_at_the_collector(collector) -> None:
    client, headers = collector
    response = client.post("/", data=b" " * (SINGLE_BODY_BYTES + 1), headers=headers)
    assert response.status_code == 413
    assert response.get_json()["resourceType"] == "OperationOutcome"


# -- counts: 422 before the expensive work ------------------------------------------------------------------


def test_a_national_return_within_the_entry_limit_is_validated(facade, national) -> None:
    largest = with_children(national, MAX_RETURN_ENTRIES)
    response = facade.post("/Bundle/$validate", json=largest, headers=FHIR)
    assert msg.TOO_MANY_ENTRIES not in ids(response, response.status_code)


def test_a_national_return_over_the_entry_limit_is_422_and_not_validated(facade, national) -> None:
    response = facade.post("/Bundle/$validate", json=with_children(national, MAX_RETURN_ENTRIES + 1),
                           headers=FHIR)
    assert ids(response, 422) == [msg.TOO_MANY_ENTRIES]  # the only issue: nothing else was checked


def test_any_bundle_over_the_general_entry_limit_is_422(facade) -> None:
    entries = [{"fullUrl": f"urn:uuid:{uuid.UUID(int=n)}", "resource": {"resourceType": "Basic"}}
               for n in range(MAX_BUNDLE_ENTRIES + 1)]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    assert ids(facade.post("/$validate", json=bundle, headers=FHIR), 422) == [msg.TOO_MANY_ENTRIES]


def test_the_collector_refuses_a_return_over_the_entry_limit(collector, national) -> None:
    client, headers = collector
    response = client.post("/", data=json.dumps(with_children(national, MAX_RETURN_ENTRIES + 1)),
                           headers=headers)
    assert response.status_code == 422, response.get_data(as_text=True)[:500]
    assert msg.TOO_MANY_ENTRIES in json.dumps(response.get_json())


def test_an_hl7_message_with_too_many_segments_is_422(facade, examples_dir) -> None:
    message = (examples_dir / "ehr" / "hl7v2" / "a04-register-mother-two-children.hl7").read_text()
    segments = [s for s in message.replace("\n", "\r").split("\r") if s]
    nk1 = next(s for s in segments if s.startswith("NK1"))
    many = "\r".join(segments + [nk1] * MAX_HL7_SEGMENTS) + "\r"
    assert len(many.encode()) < SINGLE_BODY_BYTES
    assert ids(facade.post("/ehr/hl7v2", data=many, headers=HL7), 422) == [msg.HL7_TOO_MANY_SEGMENTS]
    assert facade.post("/ehr/hl7v2", data=message, headers=HL7).status_code == 200  # the example still maps


def test_an_hl7_message_with_too_many_repetitions_is_422(facade, examples_dir) -> None:
    message = (examples_dir / "ehr" / "hl7v2" / "a04-register-mother-two-children.hl7").read_text()
    segments = [s for s in message.replace("\n", "\r").split("\r") if s]
    pid = next(n for n, s in enumerate(segments) if s.startswith("PID"))
    segments[pid] += "~x" * (MAX_HL7_REPETITIONS + 1)  # 450,000 of them took 8.5 s to read
    response = facade.post("/ehr/hl7v2", data="\r".join(segments), headers=HL7)
    assert ids(response, 422) == [msg.HL7_TOO_MANY_SEGMENTS]


# -- lines: one over-long line costs that line only ---------------------------------------------------------


def test_an_over_long_ndjson_line_gets_its_own_outcome_and_the_batch_goes_on(facade, examples_dir) -> None:
    lines = (examples_dir / "ehr" / "ndjson" / "returns.ndjson").read_bytes().splitlines(keepends=True)
    long_line = b'{"submissionId": "' + b"x" * (LINE_BYTES + 10) + b'"}\n'
    body = lines[0] + long_line + b"".join(lines[1:])
    response = facade.post("/ehr/batch", data=body, headers={"Content-Type": "application/x-ndjson"})
    assert response.status_code == 200
    answers = [json.loads(line) for line in response.get_data().splitlines()]
    items = sum(1 for line in lines if line.strip()) + 1  # the example's non-blank lines and the long one
    assert len(answers) == items + 1  # one per input line, and the summary
    assert answers[0]["resourceType"] == "Bundle"
    assert [message_id(i) for i in answers[1]["issue"]] == [msg.LINE_TOO_LONG]
    assert answers[1]["issue"][0]["location"] == ["line 2"]
    bundles = sum(a["resourceType"] == "Bundle" for a in answers[:-1])
    assert bundles == 3  # every good return of the example, before and after the long line
    summary = answers[-1]["issue"][0]["diagnostics"]
    assert summary == f"Batch finished: {bundles} bundles, {items - bundles} items failed"


class _Recording(io.BytesIO):
    """A stream that remembers the largest read asked of it."""

    largest = 0

    def readline(self, size: int | None = -1) -> bytes:  # type: ignore[override]
        self.largest = max(self.largest, size if size is not None and size >= 0 else 1 << 62)
        return super().readline(size)


def test_an_over_long_line_is_read_past_in_bounded_pieces() -> None:
    stream = _Recording(b"first\n" + b"y" * 10_000 + b"\nlast\n")
    lines = DecodedLines(stream, skip_bad=True, max_line_bytes=100)
    assert list(lines) == ["first\n", "\n", "last\n"]
    assert stream.largest <= 101
    assert [(number, type(error)) for number, error in lines.bad] == [(2, LineTooLong)]


def test_a_line_of_exactly_the_limit_is_read() -> None:
    lines = DecodedLines(io.BytesIO(b"a" * 100 + b"\n" + b"b" * 100), skip_bad=False, max_line_bytes=100)
    assert list(lines) == ["a" * 100 + "\n", "b" * 100]
