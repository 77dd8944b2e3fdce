"""Deterministic entry ids for a national-return Bundle.

A resend of the same submission must give a byte-identical Bundle (the collector de-duplicates on it and the
examples are compared byte for byte), so fullUrls are name-based UUIDs (RFC 4122 version 5), never random.
"""

from __future__ import annotations

import hashlib
import uuid

from fhir_family.model import SUBMISSION_SYSTEM

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, SUBMISSION_SYSTEM)
_NAMESPACE_BYTES = _NAMESPACE.bytes


def entry_full_url(submission_id: str, role: str, position: int = 0) -> str:
    """``urn:uuid:`` fullUrl of the entry playing ``role`` (e.g. ``child``) at ``position`` in that role.

    ``uuid.uuid5(_NAMESPACE, name)`` computed as RFC 4122 section 4.3 does (SHA-1 of namespace and name,
    version and variant bits set), without building a ``uuid.UUID``: a sixth of the cost, five per Bundle."""
    name = f"{submission_id}|{role}|{position}".encode()
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name).digest())
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest[:16].hex()
    return f"urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
