"""Deterministic entry ids for a national-return Bundle.

A resend of the same submission must give a byte-identical Bundle (the collector de-duplicates on it and the
examples are compared byte for byte), so fullUrls are name-based UUIDs (RFC 4122 version 5), never random.
"""

from __future__ import annotations

import uuid

from fhir_family.model import SUBMISSION_SYSTEM

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, SUBMISSION_SYSTEM)


def entry_full_url(submission_id: str, role: str, position: int = 0) -> str:
    """``urn:uuid:`` fullUrl of the entry playing ``role`` (e.g. ``child``) at ``position`` in that role."""
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{submission_id}|{role}|{position}')}"
