"""Date helpers the parsers share: reporting months.

The model's age rule (under 18 on the reporting date) lives in ``fhir_family.model``.
"""

from __future__ import annotations

import calendar
from datetime import date


def calendar_month(day: date) -> tuple[date, date]:
    """The first and last day of the calendar month holding ``day``."""
    last = calendar.monthrange(day.year, day.month)[1]
    return day.replace(day=1), day.replace(day=last)
