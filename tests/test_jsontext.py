"""Untrusted JSON text: every failure is an InputError saying where, never a bare exception."""

from __future__ import annotations

import pytest

from fhir_family.errors import InputError
from fhir_family.jsontext import parse_json


def test_valid_json_is_returned_as_is() -> None:
    assert parse_json('{"a": [1, 2]}', "FF-TEST") == {"a": [1, 2]}


@pytest.mark.parametrize(
    ("text", "first_line", "location", "problem"),
    [
        ('{\n  "a": 1,\n  oops\n}', 1, "line 3, column 3", "Expecting property name"),
        ("{", 7, "line 7, column 2", "Expecting property name"),  # an NDJSON line keeps its number
        (b'{"a": "\xff"}', 4, "line 4", "not UTF-8 text (byte 7)"),
        ("[" * 100_000 + "]" * 100_000, 1, "line 1", "nested too deeply to read"),  # RecursionError
    ],
    ids=["syntax", "ndjson-line", "not-utf8", "too-deep"],
)
def test_every_failure_is_an_input_error_naming_where(
    text: str | bytes, first_line: int, location: str, problem: str
) -> None:
    with pytest.raises(InputError) as raised:
        parse_json(text, "FF-TEST", first_line=first_line)
    [issue] = raised.value.outcome["issue"]
    assert issue["location"] == [location]
    assert problem in issue["diagnostics"] and location in issue["diagnostics"]
    assert issue["details"]["coding"][0]["code"] == "FF-TEST"
    assert raised.value.http_status == 400
