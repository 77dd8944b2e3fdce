"""A small, fast reader of HL7 v2 ER7 text: segments, fields, repetitions, components, sub-components.

The mapping (``hl7v2.py``) reads a handful of fields of seven segments. A full HL7 library builds a typed
element per field from its message-structure tables (hl7apy spent ~78% of a message's mapping time there,
importing a module per element), although the mapping only needs positions and text. This reader splits the
text by the separators the message itself declares in MSH-1/MSH-2, and offers the small interface the
mapping's field helpers use (the one hl7apy elements have): ``name`` (``PID``, ``PID_3``, ``C_4``),
``children`` (non-empty ones only) and ``to_er7()`` (the raw text: escape sequences are left as sent, as
before). It refuses what hl7apy refused: no MSH-2 encoding characters, or an HL7 version it does not know.
"""

from __future__ import annotations

from dataclasses import dataclass

from fhir_family import messages as msg
from fhir_family.errors import InputError

VERSIONS = frozenset(
    {"2.1", "2.2", "2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2"}
)
"""The HL7 v2 versions a message may declare in MSH-12 (empty: unstated, read as 2.5)."""


class Er7Error(InputError):
    """The text is not an ER7 message this reader can split (the mapping reports it as ``FF-HL7-PARSE``)."""

    message_id = msg.HL7_PARSE


@dataclass(frozen=True)
class _Parts:
    """How an element's text splits into parts: the separator, the parts' name prefix, how they split."""

    separator: str
    prefix: str
    then: _Parts | None = None


class Element:
    """A message, segment, field repetition, component or sub-component: its name, its non-empty parts.

    A field's components and a component's sub-components are split on first use, not when the message is
    read: the mapping reads a few dozen of a message's hundreds of parts (splitting them all was ~60% of
    reading an A04); ``part(n)`` reads one part's text without building elements for the others."""

    __slots__ = ("_children", "_parts", "name", "position", "text")

    def __init__(self, name: str, text: str, children: tuple[Element, ...] = (), position: int = 1,
                 parts: _Parts | None = None) -> None:
        self.name = name
        self.text = text
        self.position = position
        """1-based place among its parent's parts (a field's component number; a repetition: 1)."""
        self._children = children if parts is None else None
        self._parts = parts

    @property
    def children(self) -> tuple[Element, ...]:
        if self._children is None:
            assert self._parts is not None
            parts = self._parts
            self._children = tuple(
                Element(f"{parts.prefix}{position}", text, position=position, parts=parts.then)
                for position, text in enumerate(self.text.split(parts.separator), 1)
                if text
            )
        return self._children

    def part(self, position: int) -> str:
        """The text of part ``position`` (1-based; a field's component), '' when empty or absent: the text
        of the child at that position, had ``children`` been built."""
        if self._parts is None:
            return ""
        found = self.text.split(self._parts.separator, position)
        return found[position - 1] if len(found) >= position else ""

    def to_er7(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Element({self.name!r}, {self.text!r})"


@dataclass(frozen=True)
class _Separators:
    field: str
    component: str
    repetition: str
    subcomponent: str


def _separators(msh: str) -> _Separators:
    if len(msh) < 5 or msh[3] in "\r\n":
        raise Er7Error("MSH has no field separator and encoding characters (MSH-1, MSH-2)")
    field_sep = msh[3]
    encoding = msh[4:].split(field_sep, 1)[0]
    if len(encoding) < 2 or field_sep in encoding:
        raise Er7Error(f"MSH-2 encoding characters {encoding!r} are incomplete")
    component, repetition = encoding[0], encoding[1]
    subcomponent = encoding[3] if len(encoding) > 3 else "&"
    return _Separators(field_sep, component, repetition, subcomponent)


def _segment(text: str, seps: _Separators, components: _Parts) -> Element:
    parts = text.split(seps.field)
    name = parts[0]
    fields: list[Element] = []
    if name == "MSH":
        # MSH-1 is the field separator itself and MSH-2 the encoding characters: neither is split further.
        fields.append(Element("MSH_1", seps.field))
        fields.append(Element("MSH_2", parts[1] if len(parts) > 1 else ""))
        numbered = enumerate(parts[2:], 3)
    else:
        numbered = enumerate(parts[1:], 1)
    for number, value in numbered:
        if not value:
            continue
        field_name = f"{name}_{number}"
        for repetition in value.split(seps.repetition):
            if repetition:
                fields.append(Element(field_name, repetition, parts=components))
    return Element(name, text, tuple(fields))


def parse_er7(text: str) -> Element:
    """The message in ``text`` (segments separated by carriage returns, MSH first)."""
    segments = [segment for segment in text.split("\r") if segment]
    if not segments or not segments[0].startswith("MSH"):
        raise Er7Error("not an HL7 v2 message: it must start with an MSH segment")
    seps = _separators(segments[0])
    components = _Parts(seps.component, "C_", _Parts(seps.subcomponent, "S_"))
    message = Element("message", text, tuple(_segment(segment, seps, components) for segment in segments))
    version = next((f for f in message.children[0].children if f.name == "MSH_12"), None)
    declared = version.children[0].text.strip() if version is not None and version.children else ""
    if declared and declared not in VERSIONS:
        raise Er7Error(f"HL7 version {declared!r} (MSH-12) is not supported: use 2.1 to 2.8.2")
    return message
