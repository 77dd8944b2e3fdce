"""Token lifetimes as operators write them, shared by the collector's tokens and the facade's feed tokens:
``90d``, ``12h``, ``2w``, ``30m`` (a duration from now), or a date ``2027-03-01`` (the token expires at the
start of that day, UTC) or an ISO date-time with a zone."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from .errors import InputError

_DURATION = re.compile(r"^(\d{1,6})([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """``90d``-style text as a duration; ``0`` is none. InputError naming the forms accepted."""
    text = text.strip()
    if text == "0":
        return timedelta(0)
    match = _DURATION.match(text)
    if not match:
        raise InputError(f"{text!r} is not a duration: write a number and m, h, d or w (e.g. 90d, 12h, 0)")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def parse_expiry(text: str, now: datetime | None = None) -> datetime:
    """When a token given ``--expires-in text`` expires: a duration from ``now``, a date or a date-time."""
    now = now or datetime.now(UTC)
    text = text.strip()
    if _DURATION.match(text):
        moment = now + parse_duration(text)
    else:
        try:
            if len(text) == 10:
                day = date.fromisoformat(text)
                moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            else:
                moment = datetime.fromisoformat(text)
        except ValueError:
            raise InputError(
                f"{text!r} is neither a duration (90d, 12h, 2w) nor a date (2027-03-01) or date-time"
            ) from None
        if moment.tzinfo is None:
            raise InputError(f"{text!r}: give the date-time's zone (e.g. 2027-03-01T09:00:00Z)")
    if moment <= now:
        raise InputError(f"{text!r} is not in the future")
    return moment.astimezone(UTC)


def aware(moment: datetime) -> datetime:
    """``moment`` with UTC assumed when the database handed it back without a zone (SQLite)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
