"""The JSON texts the collector stores: the canonical form a return's content hash is taken of, and the
compact form of each stored resource. orjson writes both (several times faster than ``json``), ``json``
whatever orjson refuses (an integer past 64 bits), and installs without orjson."""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - installs without the collector extra
    orjson = None


def canonical_json(resource: dict[str, Any]) -> str:
    """Keys sorted, compact, UTF-8 as is: the form a return's content hash is taken of. orjson writes it
    (~5x faster; a float may be written in a shorter form than ``json``'s, which only changes the hash of a
    return stored before, and a resend of that is still recognised by content: ``_same_return``)."""
    if orjson is not None:
        try:
            return orjson.dumps(resource, option=orjson.OPT_SORT_KEYS).decode("utf-8")
        except TypeError:  # an integer past 64 bits: json writes it
            pass
    return json.dumps(resource, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def compact_json(resource: dict[str, Any]) -> str:
    """Compact, keys in the order built, one line: a stored resource, ready for NDJSON export."""
    if orjson is not None:
        try:
            return orjson.dumps(resource).decode("utf-8")
        except TypeError:  # an integer past 64 bits: json writes it
            pass
    return json.dumps(resource, ensure_ascii=False, separators=(",", ":"))
