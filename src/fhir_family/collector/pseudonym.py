"""Keyed pseudonymisation of NHS numbers, applied to a bundle the moment it is received.

An NHS number becomes ``HMAC-SHA256(key, number)`` in hex: stable (the same patient links across months and
providers, so resubmissions supersede correctly) but not reversible without the key, and not brute-forceable
over the 10^9 possible numbers without it either (a plain hash would be). Every identifier with the NHS number
system is rewritten to the pseudonym system, and any other string carrying the number (such as the
conditional ``Patient?identifier=...|<nhs>`` request URL) is rewritten too, so no copy survives.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from ..model import NHS_NUMBER_SYSTEM, PSEUDONYM_SYSTEM

_TEN_DIGITS = re.compile(r"(?<!\d)\d{10}(?!\d)|(?<!\d)\d{3} \d{3} \d{4}(?!\d)")


class Pseudonymiser:
    """Replaces NHS numbers with keyed pseudonyms; holds the key so callers never handle it.

    After a re-keying (``rekey.py``) the database's pseudonyms were made through a chain of keys: ``earlier``
    holds the keys before the current one, oldest first, and a pseudonym is ``HMAC(key_n, ... HMAC(key_1,
    number))`` in hex at each step. Without ``earlier`` (never re-keyed) it is ``HMAC(key, number)``."""

    def __init__(self, key: bytes, earlier: tuple[bytes, ...] | list[bytes] = ()) -> None:
        if len(key) < 32:
            raise ValueError("The pseudonymisation key must be at least 32 bytes")
        self._keys = (*earlier, key)

    def pseudonym(self, nhs_number: str) -> str:
        value = nhs_number.replace(" ", "")
        for key in self._keys:
            value = chain_step(key, value)
        return value

    def pseudonymise_bundle(self, bundle: dict[str, Any]) -> dict[str, Any]:
        """A deep copy of ``bundle`` with every NHS number replaced by its pseudonym."""
        numbers: dict[str, str] = {}
        _collect_nhs_numbers(bundle, numbers)
        replacements = {raw: self.pseudonym(raw) for raw in numbers}
        return _rewrite(bundle, replacements)


def _collect_nhs_numbers(node: Any, found: dict[str, str]) -> None:
    if isinstance(node, dict):
        if node.get("system") == NHS_NUMBER_SYSTEM and isinstance(node.get("value"), str):
            found[node["value"]] = node["value"]
        for value in node.values():
            _collect_nhs_numbers(value, found)
    elif isinstance(node, list):
        for item in node:
            _collect_nhs_numbers(item, found)


def _rewrite(node: Any, replacements: dict[str, str]) -> Any:
    if isinstance(node, dict):
        if node.get("system") == NHS_NUMBER_SYSTEM and isinstance(node.get("value"), str):
            rewritten = {
                k: _rewrite(v, replacements) for k, v in node.items() if k not in ("system", "value")
            }
            rewritten["system"] = PSEUDONYM_SYSTEM
            rewritten["value"] = replacements[node["value"]]
            return rewritten
        return {key: _rewrite(value, replacements) for key, value in node.items()}
    if isinstance(node, list):
        return [_rewrite(item, replacements) for item in node]
    if isinstance(node, str):
        for raw, pseudo in replacements.items():
            if raw and raw in node:
                node = node.replace(f"{NHS_NUMBER_SYSTEM}|{raw}", f"{PSEUDONYM_SYSTEM}|{pseudo}")
                node = node.replace(raw, pseudo)
        return node
    return node


def chain_step(key: bytes, value: str) -> str:
    """One step of the chain: ``HMAC-SHA256(key, value)`` in hex (a number, or the previous pseudonym)."""
    return hmac.new(key, value.encode("ascii", "replace"), hashlib.sha256).hexdigest()


def redact_numbers(text: str) -> str:
    """``text`` with anything shaped like an NHS number masked: for diagnostics kept in audit and job rows."""
    return _TEN_DIGITS.sub("[redacted]", text)
