"""``POST /ehr/batch`` (issue 11): one bad line does not end the batch. Every NDJSON input line gets exactly
one output line naming its line number, whatever is wrong with it (not UTF-8, not JSON, not mappable), lines
before a bad byte are never lost, and the summary adds up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fhir_family.facade.app import create_app
from fhir_family.outcome import LINE_EXTENSION, message_id

EHR = Path(__file__).resolve().parent.parent / "examples" / "ehr"


@pytest.fixture(scope="module")
def client(collector_validator):
    return create_app({"VALIDATOR": collector_validator}).test_client()


def _good(number: int) -> bytes:
    payload = json.loads((EHR / "json" / "mother-two-children.json").read_text())
    payload["submissionId"] = f"batch-line-{number}"
    return json.dumps(payload).encode()


def _line_of(item: dict) -> int:
    if item["resourceType"] == "Bundle":
        return int(item["identifier"]["value"].rsplit("-", 1)[1])
    found = {ext["valueInteger"] for issue in item["issue"] for ext in issue.get("extension", [])
             if ext["url"] == LINE_EXTENSION}
    assert len(found) == 1, item
    return found.pop()


def _post(client, body: bytes, content_type: str = "application/x-ndjson") -> list[dict]:
    response = client.post("/ehr/batch", data=body, content_type=content_type)
    assert response.status_code == 200
    return [json.loads(line) for line in response.get_data(as_text=True).splitlines()]


def test_every_ndjson_line_gets_one_outcome_and_the_summary_adds_up(client):
    lines = [
        _good(1),
        b"\xff\xfe not UTF-8",
        _good(3),
        b"{not json",
        b'{"submissionId": "x"}',  # JSON, not a mappable payload
        _good(6) + b"\xc3",  # a good payload with a broken last byte
        _good(7),
    ]
    *items, summary = _post(client, b"\n".join(lines) + b"\n")
    assert [_line_of(item) for item in items] == [1, 2, 3, 4, 5, 6, 7]
    kinds = [item["resourceType"] for item in items]
    assert kinds == ["Bundle", "OperationOutcome", "Bundle", "OperationOutcome", "OperationOutcome",
                     "OperationOutcome", "Bundle"]
    assert message_id(items[1]["issue"][0]) == "FF-MAP-ENCODING"
    assert "Line 2 is not UTF-8" in items[1]["issue"][0]["diagnostics"]
    assert message_id(summary["issue"][0]) == "FF-BATCH-SUMMARY"
    assert "3 bundles, 4 items failed" in summary["issue"][0]["diagnostics"]


def test_lines_in_the_same_chunk_before_a_bad_byte_are_not_lost(client):
    # Many short good lines, then a bad one: all were in one 8 KiB decoding chunk before.
    lines = [_good(number) for number in range(1, 4)] + [b"\xff"] + [_good(5)]
    *items, summary = _post(client, b"\n".join(lines))  # no final newline
    assert [_line_of(item) for item in items] == [1, 2, 3, 4, 5]
    assert "4 bundles, 1 items failed" in summary["issue"][0]["diagnostics"]


def test_a_csv_batch_stops_at_a_bad_line_and_names_it(client):
    # A CSV return spans rows, so a bad row cannot simply be left out: reading stops there, and says where.
    rows = (EHR / "csv" / "returns.csv").read_bytes().splitlines(keepends=True)
    whole = _post(client, b"".join(rows), "text/csv")
    broken = _post(client, b"".join(rows) + b"\xff,\xfe\n", "text/csv")
    *items, stopped, summary = broken
    assert items and items == whole[: len(items)]  # the returns finished before the bad line, unchanged
    assert message_id(stopped["issue"][0]) == "FF-MAP-ENCODING"
    assert f"stopped at line {len(rows) + 1}" in stopped["issue"][0]["diagnostics"]
    assert message_id(summary["issue"][0]) == "FF-BATCH-SUMMARY"
