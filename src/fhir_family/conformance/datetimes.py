"""FHIRPath comparison of FHIR date/dateTime/instant values given at different precisions.

FHIRPath (http://hl7.org/fhirpath/N1/#comparison, used by R4 invariants such as ``per-1``) compares date/time
values component by component from the year down: the first component that differs decides; when every
component both values have is equal but one value is more precise, the answer is empty (unknown), and an
invariant whose result is empty is not satisfied. So ``start 2020`` / ``end 2020-01-01`` fails per-1, while
``start 2020`` / ``end 2021-01-01`` passes. fhirpathpy answers these by padding the coarser value, which turns
"unknown" into a verdict; this module gives the specification's answer.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

_DATE_TIME = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def components(value: str) -> tuple[list[Decimal], str | None] | None:
    """The components (year, month, day, hour, minute, second) present in ``value``, in UTC when a time
    with a zone is given, plus the zone text; None when ``value`` is not a FHIR date/dateTime/instant."""
    match = _DATE_TIME.match(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    parts = [Decimal(p) for p in (year, month, day, hour, minute, second) if p is not None]
    if hour is not None and zone is not None:
        offset = timedelta(0) if zone == "Z" else _offset(zone)
        whole = int(parts[5]) if len(parts) > 5 else 0
        try:
            moment = datetime(
                int(year), int(month), int(day), int(hour), int(minute), whole, tzinfo=timezone(offset)
            )
        except ValueError:
            return None
        utc = moment.astimezone(UTC)
        parts[:5] = [Decimal(n) for n in (utc.year, utc.month, utc.day, utc.hour, utc.minute)]
    return parts, zone


def _offset(zone: str) -> timedelta:
    sign = -1 if zone[0] == "-" else 1
    hours, minutes = zone[1:].split(":")
    return sign * timedelta(hours=int(hours), minutes=int(minutes))


def compare(left: str, right: str) -> int | None:
    """-1, 0 or 1 as ``left`` is before, equal to or after ``right``; None when FHIRPath's answer is empty
    (different precisions equal as far as both go, or a value that is not a date/time)."""
    a, b = components(left), components(right)
    if a is None or b is None:
        return None
    (left_parts, left_zone), (right_parts, right_zone) = a, b
    if len(left_parts) > 3 and len(right_parts) > 3 and (left_zone is None) != (right_zone is None):
        return None  # a time with a zone against one without: not comparable
    for x, y in zip(left_parts, right_parts, strict=False):
        if x != y:
            return -1 if x < y else 1
    if len(left_parts) != len(right_parts):
        # seconds and fractions of a second are one precision in FHIRPath
        return None
    return 0


def less_or_equal(left: str, right: str) -> bool | None:
    """FHIRPath ``left <= right`` for two date/time strings (None: empty)."""
    same_date_precision = len(left) == len(right) and len(left) in (4, 7, 10)
    if same_date_precision and _DATE_TIME.match(left) and _DATE_TIME.match(right):
        return left <= right  # two dates of one precision: their text sorts as they do
    answer = compare(left, right)
    return None if answer is None else answer <= 0
