"""The ER7 reader under the HL7 v2 mapping: separators from MSH, repetitions, components, sub-components,
escapes left as sent, and refusals as InputErrors (never a crash)."""

from __future__ import annotations

import pytest

from fhir_family.errors import InputError
from fhir_family.mapping.er7 import Er7Error, parse_er7
from fhir_family.mapping.hl7v2 import parse_hl7v2

MSH = "MSH|^~\\&|EPR|RX4^^ODS|FHIRFAMILY|NHS|20261015093000||ADT^A04^ADT_A01|CTRL-1|P|2.4"


def fields(segment, number):
    return [f for f in segment.children if f.name == f"{segment.name}_{number}"]


def test_fields_repetitions_components_and_subcomponents():
    pid3 = "MRN1^^^RX4^MR~9990000026^^^NHS&2.16.840.1.113883.2.1.4.1&ISO^NH"
    message = parse_er7(MSH + f"\rPID|1||{pid3}||A\\T\\B")
    msh, pid = message.children
    header = fields(msh, 1) + fields(msh, 2) + fields(msh, 4)
    assert [f.to_er7() for f in header] == ["|", "^~\\&", "RX4^^ODS"]
    first, second = fields(pid, 3)
    assert [c.name for c in first.children] == ["C_1", "C_4", "C_5"]  # empty components are not children
    authority = second.children[1]
    assert [s.to_er7() for s in authority.children] == ["NHS", "2.16.840.1.113883.2.1.4.1", "ISO"]
    assert fields(pid, 5)[0].to_er7() == "A\\T\\B"  # escape sequences stay as sent
    assert fields(pid, 2) == []  # an empty field has no element


def test_separators_come_from_msh():
    message = parse_er7("MSH#*!@$#EPR#RX4**ODS\rPID#1##A*B!C")
    pid = message.children[1]
    assert [r.to_er7() for r in fields(pid, 3)] == ["A*B", "C"]
    assert [c.to_er7() for c in fields(pid, 3)[0].children] == ["A", "B"]


@pytest.mark.parametrize("text", ["", "PID|1", "MSH", "MSH|", "MSH|^|x", MSH.replace("|2.4", "|9.9")])
def test_unreadable_text_is_an_er7_error(text):
    with pytest.raises(Er7Error):
        parse_er7(text)


def test_a_second_bare_msh_reads_as_a_segment_without_fields():
    assert [s.name for s in parse_er7(MSH + "\rMSH").children] == ["MSH", "MSH"]


@pytest.mark.parametrize("text", ["MSH", "MSH|", "MSH|^|x", MSH.replace("|2.4", "|9.9"), MSH + "\rMSH"])
def test_the_mapping_answers_unreadable_headers_with_an_input_error(text):
    with pytest.raises(InputError) as caught:
        parse_hl7v2(text)
    assert caught.value.issues[0].message_id == "FF-HL7-PARSE"


@pytest.mark.parametrize(
    "pid3", ["A^^^B&C^D", "^^^NHS&2.16.840.1.113883.2.1.4.1&ISO^NH", "^^", "X", "^Y", "A^B^C^D^E^F"]
)
def test_part_reads_what_the_children_hold_without_building_them(pid3: str) -> None:
    """``Element.part(n)`` (the mapping's fast path) is the text of the child at position ``n``, '' when that
    part is empty or absent, for fields and for components, whatever the other parts hold."""
    [field] = fields(parse_er7(MSH + f"\rPID|1||{pid3}").children[1], 3)
    for element in (field, *field.children):
        held = {child.position: child.to_er7() for child in element.children}
        for position in range(1, 8):
            assert element.part(position) == held.get(position, "")
