"""How much work one request (or one CLI input) may ask for: every number in one place, documented in the
README's "Security" section and docs/guide.md section 4.

A national return is small (a patient, their organisation and episode of care, and their children: about 8 KB
with three children), so each limit is far above any real return and far below what makes a server slow:
oversized input is refused at once (413 for bytes, 422 for counts) instead of taking minutes and hundreds of
MiB. No Flask, no SQLAlchemy: the validator, the mappers and both servers read these numbers.
"""

from __future__ import annotations

from typing import Final

MAX_CHILDREN: Final = 50
"""Children in one national return (the EHR payload's ``children`` maxItems, CSV rows per return)."""
MAX_RETURN_ENTRIES: Final = MAX_CHILDREN + 3
"""Entries of a national return Bundle: one Patient, Organization and EpisodeOfCare, and the children."""
MAX_BUNDLE_ENTRIES: Final = 1000
"""Entries of any other Bundle given to ``$validate`` or the CLI."""
MAX_HL7_SEGMENTS: Final = 2 * MAX_CHILDREN + 20
"""Segments of one HL7 v2 message: an NK1 and a ZFC per child, the adults' NK1s and the fixed segments."""
MAX_HL7_REPETITIONS: Final = 1000
"""Field repetitions (``~``) in one HL7 v2 message: identifiers, help codes and such repeat a few times."""

SINGLE_BODY_BYTES: Final = 1024 * 1024
"""One document: ``/ehr/json``, ``/ehr/hl7v2``, ``$validate``, ``/submit`` and the collector's ``POST /``."""
LINE_BYTES: Final = 1024 * 1024
"""One line of a batch (``/ehr/batch`` NDJSON or CSV, the collector's ``$import``): one return's worth."""
