"""Counts checked before the expensive work of a request: what ``fhir_family.limits`` allows, said as a 422
OperationOutcome at once (bytes are refused earlier, as a 413, by each app's body limit).

No Flask, no SQLAlchemy: the facade's endpoints call these on text they already hold.
"""

from __future__ import annotations

import re

from . import messages as msg
from .errors import MappingError
from .limits import MAX_HL7_REPETITIONS, MAX_HL7_SEGMENTS
from .outcome import Issue, IssueSeverity, IssueType

_SEGMENT = re.compile(r"[^\r\n]+")


def check_hl7_segments(text: str) -> None:
    """Refuse an HL7 v2 message with more than ``MAX_HL7_SEGMENTS`` segments or ``MAX_HL7_REPETITIONS``
    field repetitions (422) before it is parsed: each child NK1 becomes a Bundle entry, and a message of
    thousands took minutes and hundreds of MiB; each repetition costs the reader a field of its own."""
    for count, _segment in enumerate(_SEGMENT.finditer(text), 1):
        if count > MAX_HL7_SEGMENTS:
            _refuse(f"HL7 v2 message has more than {MAX_HL7_SEGMENTS} segments; one return's message holds a "
                    "few fixed segments and an NK1 and a ZFC per child: not read further")
    repetitions = text.count(_repetition_separator(text))
    if repetitions > MAX_HL7_REPETITIONS:
        _refuse(f"HL7 v2 message has {repetitions} field repetitions, more than the {MAX_HL7_REPETITIONS} "
                "one return's message could need: not read further")


def _repetition_separator(text: str) -> str:
    """MSH-2's second character (``~`` unless the message says otherwise)."""
    start = text.find("MSH")
    encoding = text[start + 4: start + 8] if start >= 0 else ""
    return encoding[1] if len(encoding) > 1 and encoding[1] not in "\r\n" else "~"


def _refuse(diagnostics: str) -> None:
    raise MappingError(diagnostics, [Issue(
        severity=IssueSeverity.ERROR,
        code=IssueType.TOO_COSTLY,
        diagnostics=diagnostics,
        message_id=msg.HL7_TOO_MANY_SEGMENTS,
    )])
