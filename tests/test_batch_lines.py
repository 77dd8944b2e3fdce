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


def _csv_rows() -> list[bytes]:
    """The CSV example: header, then the rows of returns RX4-CSV-0001 (two rows) to -0004."""
    return (EHR / "csv" / "returns.csv").read_bytes().splitlines(keepends=True)


def _by_submission(items: list[dict]) -> dict[str, str]:
    """submission id -> "Bundle" or the first issue's message id, for every item but the summary."""
    out = {}
    for item in items:
        if item["resourceType"] == "Bundle":
            out[item["identifier"]["value"]] = "Bundle"
        else:
            diagnostics = item["issue"][0]["diagnostics"]
            submission = diagnostics.split(":", 1)[0].removeprefix("submission ")
            out[submission] = message_id(item["issue"][0])
    return out


def _bad_child_row(rows: list[bytes], damage) -> list[bytes]:
    """The example with a third child row of RX4-CSV-0002 (after its row), damaged by ``damage``."""
    second = next(n for n, row in enumerate(rows) if row.startswith(b"RX4-CSV-0002"))
    return rows[: second + 1] + [damage(rows[second])] + rows[second + 1:]


@pytest.mark.parametrize(("name", "damage", "expected"), [
    ("is not UTF-8", lambda row: row.replace(b"1996-09-30", b"19\xff96-09-30"), "FF-MAP-ENCODING"),
    ("is longer than", lambda row: row.rstrip(b"\n") + b"x" * (1024 * 1024 + 5) + b"\n", "FF-LINE-TOO-LONG"),
    ("unterminated quote", lambda row: row.replace(b",Beth Example,", b',"Beth Example,'), "FF-MAP-CSV"),
    ("cells but the header has", lambda row: b"RX4-CSV-0002,2026-10-01\n", "FF-MAP-CSV"),
])
def test_a_bad_csv_row_fails_its_own_return_and_the_batch_goes_on(client, name, damage, expected):
    # A return spans rows, so a bad row is not left out (its return would lose a child silently): the
    # return it belongs to fails, naming the line, and every other return is mapped as without it.
    # (Deliberate change: a row that was not UTF-8 used to stop the whole batch there.)
    rows = _csv_rows()
    whole = _by_submission(_post(client, b"".join(rows), "text/csv")[:-1])
    *items, summary = _post(client, b"".join(_bad_child_row(rows, damage)), "text/csv")
    results = _by_submission(items)
    assert results == {**whole, "RX4-CSV-0002": expected}, name
    refused = next(i for i in items if i["resourceType"] == "OperationOutcome" and "0002" in json.dumps(i))
    bad_line = next(n for n, row in enumerate(rows, 1) if row.startswith(b"RX4-CSV-0002")) + 1
    assert f"line {bad_line}" in json.dumps(refused)
    assert name in json.dumps(refused)  # the problem itself is named
    bundles = sum(1 for value in results.values() if value == "Bundle")
    assert f"{bundles} bundles, {len(results) - bundles} items failed" in summary["issue"][0]["diagnostics"]


def test_a_quoted_line_break_is_still_one_row(client):
    rows = _csv_rows()
    second = next(n for n, row in enumerate(rows) if row.startswith(b"RX4-CSV-0002"))
    rows[second] = rows[second].replace(b",Beth Example,", b',"Beth\nExample",')
    results = _by_submission(_post(client, b"".join(rows), "text/csv")[:-1])
    assert results["RX4-CSV-0002"] == "Bundle"
