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


@pytest.mark.parametrize(
    "text",
    [
        '{"resourceType":"Patient","name":[{"family":"Ó Briain"}],"multipleBirthInteger":2}',
        '{"value": 123456789012345678901234567890}',  # past 64 bits: orjson refuses, json reads it
        '{"value": NaN}',
        '{"a": 1, "a": 2}',
        '{"decimal": 0.1000000000000000055511151231257827}',
        '{"value": 18446744073709551616}',  # 2**64: orjson would read a float
        b'{"value": 123456789012345678901234567890}',  # the same check on bytes
        '{"id": "\u00e9", "n": [-9999999999999999999]}',  # 19 digits: past int64
        '{"digits": "12345678901234567890", "n": 1}',  # a digit run in a string: json reads it, same value
    ],
)
def test_fast_reading_accepts_and_returns_exactly_what_json_does(text):
    import json

    assert repr(parse_json(text, "FF-TEST")) == repr(json.loads(text))  # repr: NaN != NaN


def test_the_depth_limit_holds_whether_or_not_the_walk_is_skipped() -> None:
    from fhir_family.jsontext import MAX_DEPTH

    assert parse_json("[" * MAX_DEPTH + "]" * MAX_DEPTH, "FF-TEST") is not None
    with pytest.raises(InputError, match="nested deeper than"):
        parse_json("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "FF-TEST")
    with pytest.raises(InputError, match="nested deeper than"):
        parse_json(b"{" + b'"a":{' * MAX_DEPTH + b"}" * MAX_DEPTH + b"}", "FF-TEST")


def test_compact_writing_matches_json_for_a_fhir_resource_and_falls_back_for_what_orjson_refuses():
    import json

    from fhir_family.jsontext import dumps_compact

    resource = {"resourceType": "Patient", "name": [{"family": "Ó Briain"}], "active": True, "x": None}
    assert dumps_compact(resource) == json.dumps(resource, ensure_ascii=False, separators=(",", ":"))
    huge = {"value": 2**80}
    assert dumps_compact(huge) == '{"value":1208925819614629174706176}'
