"""NHS numbers: the modulus-11 check (the same rule as the guide's ``ff-nhs-1``) and synthetic test numbers.

Parsers use ``is_valid_nhs_number`` to reject bad numbers at the door; examples and tests use
``synthetic_nhs_number`` so no example ever carries a real person's number (the 999 range is not issued).

Why not the ``nhs-number`` package (PyPI, 2.2): checked against these rules, it does not do what this module
must, so it is used only in the tests, as an independent cross-check of the modulus-11 rule
(``tests/test_bundle_builder.py``):
- it normalises before validating, so ``"943 476 5919"``, ``"943-476-5919"``, padded strings, integers
  and even full-width digits (``"９４３４７６５９１９"``: its regex digit class is Unicode) count as
  valid; a national return carries the bare ten ASCII digits, and the guide's invariant ``ff-nhs-1``
  rejects anything else, so the parsers would accept numbers the validator then refuses;
- it adds a Scottish CHI rule (numbers 010 101 0000 to 311 299 9999 must start with a real DDMMYY date) that
  ``ff-nhs-1`` does not have: on random ten-digit strings the two disagree about 2.4% of the time, all there;
- its generator is random; the examples need the same valid number for the same seed, in the 999 range.
What the two share (weights 10..2, check = 11 - sum mod 11, 11 -> 0, 10 never valid) is these few lines.
"""

from __future__ import annotations

import re

_TEN_DIGITS = re.compile(r"[0-9]{10}")
_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)
SYNTHETIC_PREFIX = "999"


def check_digit(first_nine: str) -> int | None:
    """The modulus-11 check digit for nine digits, or None when it would be 10 (unusable)."""
    if len(first_nine) != 9 or not first_nine.isascii() or not first_nine.isdigit():
        raise ValueError(f"expected nine digits, got {first_nine!r}")
    total = sum(int(digit) * weight for digit, weight in zip(first_nine, _WEIGHTS, strict=True))
    check = (11 - total % 11) % 11
    return None if check == 10 else check


def is_valid_nhs_number(value: str) -> bool:
    """True when ``value`` is exactly ten ASCII digits whose last digit is the modulus-11 check digit.

    No spaces or separators are accepted: a national return carries the bare ten digits.
    """
    if not isinstance(value, str) or not _TEN_DIGITS.fullmatch(value):
        return False
    return check_digit(value[:9]) == int(value[9])


def synthetic_nhs_number(seed: int) -> str:
    """A valid NHS number in the unissued 999 range: same seed, same number; distinct seeds, distinct numbers.

    Seed ``s`` (0 <= s < 500,000) tries stem ``2s`` then ``2s + 1``: their check sums differ by 2 (mod 11), so
    at most one of the pair hits the unusable check value 10.
    """
    if not 0 <= seed < 500_000:
        raise ValueError("seed must be in 0..499999")
    for stem in (2 * seed, 2 * seed + 1):
        first_nine = f"{SYNTHETIC_PREFIX}{stem:06d}"
        check = check_digit(first_nine)
        if check is not None:
            return f"{first_nine}{check}"
    raise AssertionError("unreachable: one of two adjacent stems always has a usable check digit")
