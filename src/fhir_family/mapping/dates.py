"""Date rules the parsers share: ages on the reporting date and reporting months.

Ages are counted the way English law counts them: a person attains an age at the start of the anniversary
of their birth, and someone born on 29 February attains it on 1 March in a non-leap year.
"""

from __future__ import annotations

import calendar
from datetime import date

ADULT_AGE = 18


def age_on(birth_date: date, on: date) -> int:
    """Completed years of age on ``on``; negative when ``on`` is before the birth."""
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - (1 if before_birthday else 0)


def is_dependent_child(birth_date: date, reporting_date: date) -> bool:
    """True when the child is under 18 on the reporting date (docs/model.md: the dependent-child rule)."""
    return age_on(birth_date, reporting_date) < ADULT_AGE


def calendar_month(day: date) -> tuple[date, date]:
    """The first and last day of the calendar month holding ``day``."""
    last = calendar.monthrange(day.year, day.month)[1]
    return day.replace(day=1), day.replace(day=last)
