"""R4 rules on data types that no invariant states, checked natively as the HL7 reference validator does.

- Coding.system names a code system: an absolute URI, and not a ValueSet's canonical (a common mistake is to
  copy the binding's ValueSet url into ``system``) (datatypes.html#Coding).
- Attachment.size and Attachment.hash describe ``data``: the decoded byte count and its base64 SHA-1
  (datatypes.html#Attachment).
- A string (and markdown) is at most 1 MB (datatypes.html#string).
- A narrative's internal links (``href="#x"``) point at an element id in the narrative or a contained
  resource (narrative.html).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable
from typing import Any

from .. import messages as msg
from ..outcome import IssueSeverity, IssueType

ERROR = IssueSeverity.ERROR
#: R4 datatypes.html: "strings SHALL NOT exceed 1MB in size"
MAX_STRING_BYTES = 1024 * 1024
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_CORE_VALUE_SET = re.compile(r"^https?://hl7\.org/fhir/ValueSet/")
_HREF = re.compile(r"""\bhref\s*=\s*["']#([^"']*)["']""")
_ANCHOR = re.compile(r"""\b(?:id|name)\s*=\s*["']([^"']+)["']""")

Add = Callable[[IssueSeverity, IssueType, str, str, str | None], None]


def check_coding(coding: dict[str, Any], expr: str, add: Add, is_value_set: Callable[[str], bool]) -> bool:
    """Coding.system is an absolute code system URI; False after reporting a problem."""
    system = coding.get("system")
    if not isinstance(system, str):
        return True
    if _SCHEME.match(system) is None:
        add(
            ERROR,
            IssueType.VALUE,
            msg.CODING_SYSTEM,
            f"Coding.system must be an absolute URI naming a code system, found {system!r}",
            f"{expr}.system",
        )
        return False
    if _CORE_VALUE_SET.match(system) or is_value_set(system):
        add(
            ERROR,
            IssueType.VALUE,
            msg.CODING_SYSTEM,
            f"Coding.system {system!r} is a ValueSet, not a code system: give the system of the code itself "
            "(the ValueSet is what the element is bound to)",
            f"{expr}.system",
        )
        return False
    return True


def check_attachment(attachment: dict[str, Any], expr: str, add: Add) -> bool:
    """Attachment.size and .hash agree with the decoded ``data``; False after reporting a problem."""
    data = attachment.get("data")
    if not isinstance(data, str):
        return True
    try:
        decoded = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return True  # the base64Binary format check reports it
    ok = True
    size = attachment.get("size")
    if isinstance(size, int) and not isinstance(size, bool) and size != len(decoded):
        add(
            ERROR,
            IssueType.VALUE,
            msg.ATTACHMENT,
            f"Attachment.size is {size} but the data decodes to {len(decoded)} bytes",
            f"{expr}.size",
        )
        ok = False
    digest = attachment.get("hash")
    if isinstance(digest, str):
        expected = base64.b64encode(hashlib.sha1(decoded).digest()).decode("ascii")
        if digest != expected:
            add(
                ERROR,
                IssueType.VALUE,
                msg.ATTACHMENT,
                f"Attachment.hash must be the base64 SHA-1 of the data ({expected}), found {digest!r}",
                f"{expr}.hash",
            )
            ok = False
    return ok


def string_too_long(value: str) -> int | None:
    """The UTF-8 size of a string over R4's 1 MB limit, else None (cheap for the usual short strings)."""
    if len(value) * 4 <= MAX_STRING_BYTES:
        return None
    size = len(value.encode("utf-8"))
    return size if size > MAX_STRING_BYTES else None


def check_narrative_links(div: str, expr: str, add: Add, resource: Any) -> None:
    """Every ``href="#x"`` in the narrative names an id (or anchor name) in it or a contained resource."""
    if "#" not in div:
        return
    targets = set(_ANCHOR.findall(div))
    contained = resource.get("contained") if isinstance(resource, dict) else None
    if isinstance(contained, list):
        targets.update(c["id"] for c in contained if isinstance(c, dict) and isinstance(c.get("id"), str))
    for target in dict.fromkeys(_HREF.findall(div)):
        if target and target not in targets:
            add(
                ERROR,
                IssueType.VALUE,
                msg.NARRATIVE_LINK,
                f"the narrative links to '#{target}', but no element in the narrative has id '{target}' "
                "and no contained resource has that id",
                expr,
            )
