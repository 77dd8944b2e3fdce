"""Keyed pseudonymisation of NHS numbers, applied to a bundle the moment it is received.

An NHS number becomes ``HMAC-SHA256(key, number)`` in hex: stable (the same patient links across months and
providers, so resubmissions supersede correctly) but not reversible without the key, and not brute-forceable
over the 10^9 possible numbers without it either (a plain hash would be). Every identifier with the NHS number
system is rewritten to the pseudonym system, and any other string carrying the number (such as the
conditional ``Patient?identifier=...|<nhs>`` request URL) is rewritten too, so no copy survives. Any other
valid NHS number, wherever it stands (under another identifier system, inside an episode identifier or a
submission id, in free text), is replaced by its pseudonym as well: nothing that could be a patient's number
is stored raw.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from ..mapping.nhs_number import is_valid_nhs_number
from ..model import NHS_NUMBER_SYSTEM, PSEUDONYM_SYSTEM

_TEN_DIGITS = re.compile(r"(?<!\d)\d{10}(?!\d)|(?<!\d)\d{3}([ -])\d{3}\1\d{4}(?!\d)")
_NUMBER_IN_TEXT = re.compile(
    rf"(?P<system>{re.escape(NHS_NUMBER_SYSTEM)}\|)?"
    r"(?<!\d)(?P<number>\d{10}|\d{3}([ -])\d{3}\3\d{4})(?!\d)"  # \d: any script's digits, read as 0-9
)

_MAYBE_NUMBER = re.compile(r"\d{3}[ -]?\d{3}[ -]?\d{4}")
"""Anything ``_NUMBER_IN_TEXT`` matches matches this too; four times cheaper to search, so it sorts out the
strings that cannot hold a number."""


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
        """A deep copy of ``bundle`` with every NHS number replaced by its pseudonym: the values of
        identifiers with the NHS-number system (their system becomes the pseudonym system), and any valid NHS
        number (``pseudonymise_text``) in any other string, whatever element holds it (another identifier's
        value or system, an episode identifier, a submission id, a reference, free text)."""
        numbers: dict[str, str] = {}
        _collect_nhs_numbers(bundle, numbers)
        known = {raw: self.pseudonym(raw) for raw in numbers}
        return _Rewriter(self, known).node(bundle)

    def pseudonymise_text(self, text: str, known: dict[str, str] | None = None) -> str:
        """``text`` with every valid NHS number in it (ten digits, or 3-3-4 with spaces or hyphens, not part
        of a longer run of digits; modulus 11) replaced by its pseudonym, in one pass (a pseudonym's own
        digits are never read again). ``known`` maps raw NHS-number identifier values to their pseudonyms:
        those are replaced even when not valid, and ``<NHS system>|<number>`` (a conditional request URL)
        becomes ``<pseudonym system>|<pseudonym>``."""
        known = known or {}

        def replace(match: re.Match[str]) -> str:
            digits = "".join(str(int(c)) for c in match.group("number") if c not in " -")
            pseudonym = known.get(digits)
            if pseudonym is None and is_valid_nhs_number(digits):
                pseudonym = self.pseudonym(digits)
            if pseudonym is None:
                return match.group(0)
            return (f"{PSEUDONYM_SYSTEM}|" if match.group("system") else "") + pseudonym

        text = _NUMBER_IN_TEXT.sub(replace, text)
        for raw, pseudonym in known.items():  # an identifier value not shaped like a number
            if raw and raw in text:
                text = text.replace(f"{NHS_NUMBER_SYSTEM}|{raw}", f"{PSEUDONYM_SYSTEM}|{pseudonym}")
                text = text.replace(raw, pseudonym)
        return text


def _collect_nhs_numbers(node: Any, found: dict[str, str]) -> None:
    if isinstance(node, dict):
        if node.get("system") == NHS_NUMBER_SYSTEM and isinstance(node.get("value"), str):
            found[node["value"]] = node["value"]
        for value in node.values():
            _collect_nhs_numbers(value, found)
    elif isinstance(node, list):
        for item in node:
            _collect_nhs_numbers(item, found)


class _Rewriter:
    """One pass over a bundle making its pseudonymised deep copy. A string is handed to
    ``pseudonymise_text`` only when it could hold a number: one at least as long as the shortest thing to
    replace (ten digits, or a known identifier value) that holds ten digits or a known value. Most strings of
    a return (codes, URLs, dates) are returned as they are, without the call."""

    def __init__(self, pseudo: Pseudonymiser, known: dict[str, str]) -> None:
        self.pseudo = pseudo
        self.known = known
        self.raws = [raw for raw in known if raw]
        self.shortest = min([10, *(len(raw) for raw in self.raws)])

    def text(self, text: str) -> str:
        if len(text) < self.shortest:
            return text
        if _MAYBE_NUMBER.search(text) is None:
            for raw in self.raws:
                if raw in text:
                    break
            else:
                return text
        return self.pseudo.pseudonymise_text(text, self.known)

    def node(self, node: Any) -> Any:
        kind = type(node)
        if kind is str:
            return self.text(node)
        if kind is dict:
            if node.get("system") == NHS_NUMBER_SYSTEM and isinstance(node.get("value"), str):
                rewritten = {k: self.node(v) for k, v in node.items() if k not in ("system", "value")}
                rewritten["system"] = PSEUDONYM_SYSTEM
                rewritten["value"] = self.known[node["value"]]
                return rewritten
            return {key: self.node(value) for key, value in node.items()}
        if kind is list:
            return [self.node(item) for item in node]
        if isinstance(node, dict):  # a dict or str subclass: the general path, as before
            return self.node(dict(node))
        if isinstance(node, str):
            return self.pseudo.pseudonymise_text(node, self.known)
        if isinstance(node, list):
            return [self.node(item) for item in node]
        return node


def chain_step(key: bytes, value: str) -> str:
    """One step of the chain: ``HMAC-SHA256(key, value)`` in hex (a number, or the previous pseudonym)."""
    return hmac.new(key, value.encode("ascii", "replace"), hashlib.sha256).hexdigest()


def redact_numbers(text: str) -> str:
    """``text`` with anything shaped like an NHS number masked: for diagnostics kept in audit and job rows."""
    return _TEN_DIGITS.sub("[redacted]", text)
