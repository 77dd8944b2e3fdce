"""Statistical disclosure control for published counts (the NHS England small-numbers convention).

1. Primary suppression: a count from 1 to 7 is hidden (``*``); 0 is shown as 0.
2. Secondary suppression: wherever published cells add up to a published total (a row of a breakdown and its
   total, a column of providers and the national figure), a single hidden cell could be recovered by
   subtraction. So in every such group, if exactly one cell is hidden, the next smallest visible cell (a
   non-zero one first) is hidden too; repeated until no group has exactly one hidden cell, because a hidden
   cell added for one group can expose another.
3. Every visible count is rounded to the nearest 5 (totals are rounded from their true value, not summed).

Pure functions over plain keys and integers, so the rules are unit-tested without a database.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

SUPPRESSED = "*"
PRIMARY = "primary"
SECONDARY = "secondary"


@dataclass(frozen=True)
class Group:
    """A published identity: ``total`` = sum of ``members``."""

    members: tuple[Hashable, ...]
    total: Hashable


@dataclass(frozen=True)
class Cell:
    value: int
    """The true count (never published)."""
    suppressed: str | None = None
    """None, ``primary`` or ``secondary``."""

    @property
    def published(self) -> int | str:
        return SUPPRESSED if self.suppressed else round_to_5(self.value)


def round_to_5(value: int) -> int:
    """The nearest multiple of 5 (integers have no ties: 12 -> 10, 13 -> 15)."""
    return 5 * ((value + 2) // 5)


def primary(value: int) -> bool:
    return 1 <= value <= 7


def protect(counts: Mapping[Hashable, int], groups: Iterable[Group]) -> dict[Hashable, Cell]:
    """Apply primary and secondary suppression; every key of ``counts`` gets a Cell."""
    groups = [g for g in groups if all(k in counts for k in (*g.members, g.total))]
    hidden: dict[Hashable, str] = {key: PRIMARY for key, value in counts.items() if primary(value)}
    changed = True
    while changed:
        changed = False
        for group in groups:
            cells = (*group.members, group.total)
            if sum(1 for key in cells if key in hidden) != 1:
                continue
            visible = [key for key in cells if key not in hidden]
            if not visible:
                continue
            # Smallest non-zero first: hiding a known zero protects nothing a reader cannot infer anyway,
            # unless zeros are all that is left.
            choice = min(visible, key=lambda key: (counts[key] == 0, counts[key], str(key)))
            hidden[choice] = SECONDARY
            changed = True
    return {key: Cell(value, hidden.get(key)) for key, value in counts.items()}
