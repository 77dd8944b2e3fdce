"""HL7 v2 ADT -> ReturnRecord: field mapping, NK1 child rules, Z-segments, MLLP, HL7-style error locations."""

from __future__ import annotations

import re
from datetime import date

import pytest

from fhir_family import model as t
from fhir_family.errors import InputError, MappingError
from fhir_family.mapping.hl7_tables import relationship_map, table_0063
from fhir_family.mapping.hl7v2 import parse_hl7v2, strip_framing

MSH = "MSH|^~\\&|EPR|RX4^^ODS|FHIRFAMILY|NHS|20261015093000||ADT^{event}^ADT_A01|CTRL-1|P|{version}"
EVN = "EVN|{event}|20261015093000"
PID = "PID|1||MRN1^^^RX4^MR~9990000026^^^NHS^NH||Example^Alice||19880412|F|||1 Street^^Leeds||0113 4960000"
PV1 = "PV1|1|O|||||||||||||||||EP-9^^^RX4^VN|||||||||||||||||||||||||20260302"
ZEP = "ZEP|SR-9|A03"
ZPS = "ZPS|all-children-live-with-patient|1|N|||20261001||||national-direction"
ASKED = "20261001||||national-direction"
"""ZPS-6 (date asked) to ZPS-10 (legal basis): what every ZPS of a status other than not-asked needs."""


def nk1(set_id: int, rel: str, dob: str = "", sex: str = "", nk1_33: str = "", nk1_12: str = "") -> str:
    fields = [str(set_id), "Example^Kid", rel] + [""] * 30
    fields[11], fields[14], fields[15], fields[32] = nk1_12, sex, dob, nk1_33
    return "NK1|" + "|".join(fields).rstrip("|")


def zfc(set_id: int, fields: str = "", local_id: str | None = None) -> str:
    """A ZFC for child ``set_id``: ZFC-2..6 as given, ZFC-7 the local child id (``C<set id>`` by default)."""
    parts = (fields.split("|") if fields else []) + [""] * 5
    return f"ZFC|{set_id}|" + "|".join(parts[:5]) + f"|{f'C{set_id}' if local_id is None else local_id}"


def message(*segments: str, event: str = "A04", version: str = "2.5.1", head: bool = True,
            zep: bool = True) -> str:
    """An ADT message: MSH, EVN, then ``segments`` with a ZEP (the episode's service request) unless
    ``zep`` is False or one is given."""
    top = [MSH.format(event=event, version=version), EVN.format(event=event)] if head else []
    episode = [ZEP] if zep and not any(segment.startswith("ZEP") for segment in segments) else []
    return "\r".join([*top, *segments, *episode])


def locations(issues) -> list[str]:
    return [issue.extra["location"][0] for issue in issues]


@pytest.mark.parametrize("event", ["A04", "A08", "A28", "A31"])
@pytest.mark.parametrize("version", ["2.3", "2.4", "2.5.1", "2.6"])
def test_header_patient_and_episode_fields(event: str, version: str) -> None:
    parsed = parse_hl7v2(message(PID, PV1, ZPS, event=event, version=version))
    record = parsed.record
    assert record is not None
    assert (record.ods_code, record.submission_id) == ("RX4", "RX4-CTRL-1")
    assert (record.reporting_period_start, record.reporting_period_end) == (
        date(2026, 10, 1),
        date(2026, 10, 31),
    )
    assert (record.nhs_number, record.birth_date, record.gender) == (
        "9990000026",
        date(1988, 4, 12),
        "female",
    )
    assert (record.episode_start, record.episode_status, record.episode_end) == (
        date(2026, 3, 2),
        "active",
        None,
    )
    assert (record.service_request_id, record.team_type) == ("SR-9", "A03")
    assert (record.local_patient_id, record.legal_basis) == ("MRN1", "national-direction")
    assert record.parental_status == "all-children-live-with-patient"
    assert (record.children_in_household, record.expecting_child) == (1, False)
    assert parsed.issues == ()


def test_discharge_date_finishes_the_episode() -> None:
    pv1 = PV1 + "|20261010"
    record = parse_hl7v2(message(PID, pv1, ZPS)).record
    assert (record.episode_end, record.episode_status) == (date(2026, 10, 10), "finished")


def test_no_pv1_defaults_the_episode_to_the_message_date_with_an_information_issue() -> None:
    parsed = parse_hl7v2(message(PID, ZPS, event="A28"))
    assert (parsed.record.episode_start, parsed.record.episode_status) == (date(2026, 10, 15), "active")
    assert [(str(i.severity), i.message_id) for i in parsed.issues] == [("information", "FF-HL7-DEFAULTED")]


def test_reporting_month_falls_back_to_msh_7_without_evn() -> None:
    text = "\r".join(
        [MSH.format(event="A04", version="2.5.1").replace("20261015093000", "20240229"), PID, ZEP,
         ZPS.replace("20261001", "20240201")]
    )
    record = parse_hl7v2(text).record
    assert (record.reporting_period_start, record.reporting_period_end) == (
        date(2024, 2, 1),
        date(2024, 2, 29),
    )


@pytest.mark.parametrize(
    ("sex", "gender"), [("M", "male"), ("F", "female"), ("O", "other"), ("U", "unknown")]
)
def test_pid_8_maps_to_administrative_gender(sex: str, gender: str) -> None:
    pid = PID.replace("|19880412|F|", f"|19880412|{sex}|")
    assert parse_hl7v2(message(pid, PV1, ZPS)).record.gender == gender


@pytest.mark.parametrize(
    "pid_3",
    [
        "9990000026^^^NHS^NH~X1^^^RX4^MR",
        "9990000026^^^NHS~X1^^^RX4^MR",
        "9990000026^^^&2.16.840.1.113883.2.1.4.1&ISO^PI~X1^^^RX4^MR",
        "X1^^^RX4^MR~9990000026^^^^NH",
    ],
)
def test_nhs_number_is_the_pid_3_repetition_marked_as_one(pid_3: str) -> None:
    pid = f"PID|1||{pid_3}||Example^Alice||19880412|F"
    assert parse_hl7v2(message(pid, PV1, ZPS)).record.nhs_number == "9990000026"


def test_child_nk1_with_zfc_maps_every_field() -> None:
    parsed = parse_hl7v2(
        message(
            PID,
            PV1,
            nk1(1, "CHD^Child^HL70063", "20150601", "F", nk1_33="9990000042^^^NHS^NH"),
            "ZFC|1|Y|birth-mother~registered-father|part-time|Y|early-help~child-in-need|K-1|care-order|01|"
            "E09000033|referred|s47-enquiry|20261020",
            ZPS,
        )
    )
    (child,) = parsed.record.children
    assert child.relationship == "CHILD"
    assert (child.birth_date, child.gender, child.nhs_number) == (date(2015, 6, 1), "female", "9990000042")
    assert (child.pr_held, child.pr_basis, child.pr_restriction) == (
        "Y", ("birth-mother", "registered-father"), ("care-order",)
    )
    assert (child.residence, child.young_carer, child.help) == (
        "part-time",
        "Y",
        ("early-help", "child-in-need"),
    )
    assert (child.local_id, child.nhs_number_verification) == ("K-1", "01")
    assert child.local_authority == "E09000033"
    assert (child.think_family_action, child.think_family_outcome) == ("referred", "s47-enquiry")
    assert child.ended == date(2026, 10, 20)


def test_child_whose_zfc_has_only_its_local_id_is_coded_unknown() -> None:
    (child,) = parse_hl7v2(message(PID, PV1, nk1(1, "FCH", "20140404"), zfc(1), ZPS)).record.children
    assert (child.relationship, child.pr_held, child.pr_basis) == ("CHLDFOST", "UNK", ())
    assert (child.residence, child.young_carer, child.help) == ("unknown", "UNK", ("not-known",))
    assert (child.local_id, child.pr_restriction) == ("C1", ())
    assert (child.think_family_action, child.ended) == (None, None)


@pytest.mark.parametrize("segments", [(), ("ZFC|1|Y|birth-mother|full-time|N|none",)])
def test_child_without_a_local_child_id_is_an_error(segments: tuple[str, ...]) -> None:
    # the local child id keys the child's conditional update: without it the child cannot be placed
    text = message(PID, PV1, nk1(1, "CHD", "20150601"), *segments, ZPS)
    where = "ZFC[1]-7" if segments else "NK1[1]-1"
    assert _errors_of(text) == [(where, "required")]


def test_child_nhs_number_from_nk1_12_when_nk1_33_has_none() -> None:
    (child,) = parse_hl7v2(
        message(PID, PV1, nk1(1, "CHD", "20150601", nk1_12="9990000042^^^NHS^NH"), zfc(1), ZPS)
    ).record.children
    assert child.nhs_number == "9990000042"


def test_child_nhs_number_failing_the_check_is_dropped_with_a_warning() -> None:
    parsed = parse_hl7v2(message(PID, PV1, nk1(1, "CHD", "20150601", nk1_33="9990000043^^^NHS^NH"),
                                 zfc(1, "||||", None).replace("|C1", "|C1||02"), ZPS))
    assert parsed.record.children[0].nhs_number is None
    assert parsed.record.children[0].nhs_number_verification is None  # dropped with its number
    assert locations(parsed.issues) == ["NK1[1]-33"]


def test_child_verification_status_without_an_nhs_number_is_an_error() -> None:
    text = message(PID, PV1, nk1(1, "CHD", "20150601"), "ZFC|1||||||C1||01", ZPS)
    assert _errors_of(text) == [("ZFC[1]-9", "business-rule")]


@pytest.mark.parametrize(("code", "expected"), sorted(t.V2_0063_TO_RELATIONSHIP.items()))
def test_every_mapped_table_0063_code_becomes_a_child(code: str, expected: str) -> None:
    (child,) = parse_hl7v2(message(PID, PV1, nk1(1, code, "20150601"), zfc(1), ZPS)).record.children
    assert child.relationship == expected


def test_relationship_map_is_read_from_the_guides_concept_map() -> None:
    assert dict(relationship_map()) == dict(t.V2_0063_TO_RELATIONSHIP)
    assert {"CHD", "MTH", "SPO", "EMC"} <= table_0063()


@pytest.mark.parametrize("adult", ["MTH", "FTH", "SPO", "EMC", "GRD", "PAR"])
def test_adult_nk1_is_ignored_silently(adult: str) -> None:
    parsed = parse_hl7v2(message(PID, PV1, nk1(1, adult, "19600101"), ZPS))
    assert parsed.record.children == ()
    assert parsed.issues == ()


def test_repeated_nk1_each_linked_to_its_zfc_by_set_id() -> None:
    parsed = parse_hl7v2(
        message(
            PID,
            PV1,
            nk1(1, "CHD", "20100101"),
            nk1(2, "SPO"),
            nk1(3, "SCH", "20120202"),
            zfc(3, "N||other-parent|N|none"),
            zfc(1, "Y|birth-mother|full-time|Y|child-protection-plan"),
            ZPS,
        )
    )
    first, second = parsed.record.children
    assert (first.relationship, first.residence, first.help) == (
        "CHILD",
        "full-time",
        ("child-protection-plan",),
    )
    assert (second.relationship, second.residence, second.pr_held) == ("STPCHLD", "other-parent", "N")
    assert (first.local_id, second.local_id) == ("C1", "C3")


def test_children_aged_18_or_over_and_unborn_are_left_out_with_issues() -> None:
    parsed = parse_hl7v2(
        message(
            PID,
            PV1,
            nk1(1, "CHD", "20081031"),
            nk1(2, "CHD", "20081101"),
            nk1(3, "CHD", "20261101"),
            zfc(2),
            ZPS,
        )
    )
    assert [c.birth_date for c in parsed.record.children] == [date(2008, 11, 1)]
    assert [(str(i.severity), i.extra["location"][0]) for i in parsed.issues] == [
        ("information", "NK1[1]-16"),
        ("warning", "NK1[3]-16"),
    ]


def test_child_without_birth_date_is_left_out_with_a_warning() -> None:
    parsed = parse_hl7v2(message(PID, PV1, nk1(1, "CHD"), nk1(2, "CHD", "20150601"), zfc(2), ZPS))
    assert len(parsed.record.children) == 1
    assert [(str(i.severity), i.message_id, i.extra["location"][0]) for i in parsed.issues] == [
        ("warning", "FF-HL7-CHILD-NO-DOB", "NK1[1]-16")
    ]


def test_unknown_relationship_code_is_ignored_with_a_warning() -> None:
    parsed = parse_hl7v2(message(PID, PV1, nk1(1, "QQQ", "20150601"), ZPS))
    assert parsed.record.children == ()
    assert [(str(i.severity), i.extra["location"][0]) for i in parsed.issues] == [("warning", "NK1[1]-3")]


def test_zfc_without_a_matching_child_is_reported() -> None:
    parsed = parse_hl7v2(message(PID, PV1, "ZFC|7|Y", ZPS))
    assert locations(parsed.issues) == ["ZFC[1]-1"]


def test_zps_accepts_ndtms_prntstat_codes_and_expected_child_fields() -> None:
    record = parse_hl7v2(
        message(PID, PV1, f"ZPS|12|2|Y|20270115|unborn-child-protection-plan|{ASKED}")
    ).record
    assert record.parental_status == "some-children-live-with-patient"
    assert (record.children_in_household, record.expecting_child) == (2, True)
    assert (record.expected_due_date, record.unborn_child_help) == (
        date(2027, 1, 15),
        "unborn-child-protection-plan",
    )
    assert record.date_asked == date(2026, 10, 1)


def test_zps_carries_who_asked_the_source_support_legal_basis_and_local_authority() -> None:
    zps = ("ZPS|not-a-parent|0|N|||20261001|psychologist|other-agency|parenting-support~carers-assessment|"
           "safeguarding|E08000035")
    record = parse_hl7v2(message(PID, PV1, zps)).record
    assert (record.asked_by, record.status_source) == ("psychologist", "other-agency")
    assert record.support_offered == ("parenting-support", "carers-assessment")
    assert (record.legal_basis, record.local_authority) == ("safeguarding", "E08000035")


def test_not_asked_needs_no_date_asked_and_takes_none() -> None:
    record = parse_hl7v2(message(PID, PV1, "ZPS|not-asked|||||||||national-direction")).record
    assert (record.parental_status, record.date_asked, record.asked_by) == ("not-asked", None, None)
    text = message(PID, PV1, "ZPS|not-asked|||||20261001|nurse|||national-direction")
    assert _errors_of(text) == [("ZPS-6", "business-rule")]


@pytest.mark.parametrize(
    ("pid_32", "status"), [("NSTS02", "02"), ("02", "02"), ("UA~NSTS01", "01"), ("AL", None), ("", None)]
)
def test_pid_32_is_the_nhs_number_verification_status(pid_32: str, status: str | None) -> None:
    # NHS England's HL7 v2 ADT specification sends it as table 0445 code NSTS01..NSTS08 among other 0445 codes
    pid = PID + "|" * 18 + "|" + pid_32
    assert parse_hl7v2(message(pid, PV1, ZPS)).record.nhs_number_verification == status


@pytest.mark.parametrize(
    ("pid_3", "local_id"),
    [
        ("MRN1^^^RX4^MR~9990000026^^^NHS^NH", "MRN1"),
        ("OLD7^^^RX9^MR~MRN2^^^RX4^MR~9990000026^^^NHS^NH", "MRN2"),  # the sender's own, by CX-4
        ("9990000026^^^NHS^NH~PAS 9/1^^^TRUST^MR", "PAS 9/1"),  # the only MR
    ],
)
def test_local_patient_id_is_the_pid_3_repetition_of_type_mr(pid_3: str, local_id: str) -> None:
    pid = f"PID|1||{pid_3}||Example^Alice||19880412|F"
    assert parse_hl7v2(message(pid, PV1, ZPS)).record.local_patient_id == local_id


def test_mllp_framing_and_newline_separators_are_accepted() -> None:
    text = "\x0b" + message(PID, PV1, ZPS).replace("\r", "\r\n") + "\r\n\x1c\r"
    assert parse_hl7v2(text).record.nhs_number == "9990000026"
    assert strip_framing("\x0bMSH|x\nPID|y\x1c\r") == "MSH|x\rPID|y"


def test_names_addresses_and_phones_never_reach_the_record() -> None:
    record = parse_hl7v2(message(PID, PV1, nk1(1, "CHD", "20150601"), zfc(1), ZPS)).record
    text = repr(record)
    for private in ("Example", "Alice", "Kid", "Street", "Leeds", "0113"):
        assert private not in text


@pytest.mark.parametrize(
    ("segments", "location", "code"),
    [
        ((PID, PV1), "ZPS", "required"),
        ((PID, PV1, "ZEP|SR-9"), "ZEP-2", "required"),
        ((PID, PV1, "ZEP||A03"), "ZEP-1", "required"),
        ((PID, PV1, "ZEP|SR-9|Z99"), "ZEP-2", "code-invalid"),
        ((PID, PV1, "ZEP|" + "S" * 65 + "|A03"), "ZEP-1", "value"),
        (("PID|1||9990000026^^^NHS^NH||X||19880412|F", PV1, ZPS), "PID-3", "required"),
        ((PID + "|" * 18 + "|09", PV1, ZPS), "PID-32", "code-invalid"),
        ((PID + "|" * 18 + "|NSTS09", PV1, ZPS), "PID-32", "code-invalid"),
        ((PID, PV1, "ZPS|not-a-parent|0"), "ZPS-6", "required"),
        ((PID, PV1, "ZPS|not-a-parent|0|||||||"), "ZPS-10", "required"),
        ((PID, PV1, "ZPS|not-a-parent|0||||20261001|boss|||national-direction"), "ZPS-7", "code-invalid"),
        ((PID, PV1, "ZPS|not-a-parent|0||||20261001||gossip||national-direction"), "ZPS-8", "code-invalid"),
        ((PID, PV1, "ZPS|not-a-parent|0||||20261001|||none~carers-assessment|national-direction"), "ZPS-9",
         "business-rule"),
        ((PID, PV1, "ZPS|not-a-parent|0||||20261001||||because"), "ZPS-10", "code-invalid"),
        ((PID, PV1, "ZPS|not-a-parent|0||||20261001||||national-direction|W06000015"), "ZPS-11", "value"),
        ((PID, PV1, nk1(1, "CHD", "20150601"), "ZFC|1|Y||full-time|N|none|C1|by-force", ZPS), "ZFC[1]-8",
         "code-invalid"),
        ((PID, PV1, nk1(1, "CHD", "20150601", nk1_33="9990000042^^^NHS^NH"), "ZFC|1||||||C1||99", ZPS),
         "ZFC[1]-9", "code-invalid"),
        ((PID, PV1, nk1(1, "CHD", "20150601"), "ZFC|1||||||C1|||E6", ZPS), "ZFC[1]-10", "value"),
        ((PID, PV1, nk1(1, "CHD", "20150601"), "ZFC|1||||||C1||||told", ZPS), "ZFC[1]-11", "code-invalid"),
        ((PID, PV1, nk1(1, "CHD", "20150601"), "ZFC|1||||||C1||||not-needed|awaited", ZPS), "ZFC[1]-12",
         "business-rule"),
        ((PID, PV1, nk1(1, "CHD", "20150601"), "ZFC|1||||||C1||||referred|happy", ZPS), "ZFC[1]-12",
         "code-invalid"),
        ((PID, PV1, nk1(1, "CHD", "20150601"), "ZFC|1||||||C1||||||last week", ZPS), "ZFC[1]-13", "value"),
        ((PID.replace("9990000026", "9990000027"), PV1, ZPS), "PID-3[2]", "value"),
        (("PID|1||MRN1^^^RX4^MR||X||19880412|F", PV1, ZPS), "PID-3", "required"),
        ((PID.replace("19880412", ""), PV1, ZPS), "PID-7", "required"),
        ((PID.replace("19880412", "1988-04-12"), PV1, ZPS), "PID-7", "value"),
        ((PID.replace("|F|", "|Q|"), PV1, ZPS), "PID-8", "code-invalid"),
        ((PV1, ZPS), "PID", "required"),
        ((PID, PV1, "ZPS|maybe"), "ZPS-1", "code-invalid"),
        ((PID, PV1, "ZPS|not-a-parent|many"), "ZPS-2", "value"),
        ((PID, PV1, "ZPS|not-a-parent|0|N|20270101"), "ZPS-3", "business-rule"),
        ((PID, PV1, nk1(1, "CHD", "20150601"), "ZFC|1|N|birth-mother", ZPS), "ZFC[1]-3", "business-rule"),
        ((PID, PV1, nk1(1, "CHD", "20150601"), "ZFC|1|perhaps", ZPS), "ZFC[1]-2", "code-invalid"),
        ((PID, PV1, nk1(1, "CHD", "20150601"), "ZFC|1|Y|by-magic", ZPS), "ZFC[1]-3", "code-invalid"),
        ((PID, PV1, nk1(1, "CHD", "20150601"), "ZFC|1|Y||attic", ZPS), "ZFC[1]-4", "code-invalid"),
        ((PID, PV1, nk1(1, "CHD", "20150601"), "ZFC|1|Y||full-time|maybe", ZPS), "ZFC[1]-5", "code-invalid"),
        ((PID, PV1, nk1(1, "CHD", "20150601"), "ZFC|1|Y||full-time|N|lots", ZPS), "ZFC[1]-6", "code-invalid"),
        ((PID, PV1, nk1(1, "CHD", "20150601", sex="Z"), ZPS), "NK1[1]-15", "code-invalid"),
    ],
)
def test_unmappable_messages_name_segment_and_field(
    segments: tuple[str, ...], location: str, code: str
) -> None:
    with pytest.raises(MappingError) as caught:
        parse_hl7v2(message(*segments))
    errors = [i for i in caught.value.issues if str(i.severity) == "error"]
    assert location in locations(errors)
    assert {str(i.code) for i in errors if i.extra["location"][0] == location} == {code}
    assert any(location in i.diagnostics or i.extra["location"][0] == location for i in errors)


def test_unsupported_event_and_bad_sending_facility() -> None:
    with pytest.raises(MappingError) as caught:
        parse_hl7v2(message(PID, PV1, ZPS, event="A01"))
    assert locations(caught.value.issues) == ["MSH-9"]
    bad_facility = message(PID, PV1, ZPS).replace("RX4^^ODS", "not an ods")
    with pytest.raises(MappingError) as caught:
        parse_hl7v2(bad_facility)
    assert locations(caught.value.issues) == ["MSH-4"]


@pytest.mark.parametrize("text", ["", "hello", "PID|1||x", "MSH|^~\\&|EPR|RX4|||x||ADT^A04|1|P|9.9\rPID|1"])
def test_unreadable_input_is_an_input_error(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_hl7v2(text)
    assert caught.value.http_status == 400
    assert caught.value.issues[0].message_id == "FF-HL7-PARSE"


def test_segments_the_mapping_does_not_read_are_skipped() -> None:
    extra = ["PD1|||Example Surgery^^Y12345", "OBX|1|ST|note||free text about the family", "AL1|1||peanuts"]
    parsed = parse_hl7v2(message(PID, *extra, PV1, nk1(1, "CHD", "20150601"), zfc(1), ZPS))
    assert len(parsed.record.children) == 1
    assert "free text" not in repr(parsed.record)


@pytest.mark.parametrize("second", ["MSH", "PID"])
def test_two_messages_or_two_patients_in_one_body_are_refused(second: str) -> None:
    one = message(PID, PV1, nk1(1, "CHD", "20150601"), ZPS)
    text = one + "\r" + (one if second == "MSH" else PID)
    with pytest.raises(InputError) as caught:
        parse_hl7v2(text)
    assert locations(caught.value.issues) == [f"{second}[2]"]


def test_ambiguous_zfc_links_are_errors() -> None:
    with pytest.raises(MappingError) as caught:
        parse_hl7v2(message(PID, PV1, nk1(1, "CHD", "20150601"), zfc(1, "Y"), zfc(1, "N"), ZPS))
    assert locations(caught.value.issues) == ["ZFC[2]-1"]
    with pytest.raises(MappingError) as caught:
        parse_hl7v2(message(PID, PV1, nk1(1, "CHD", "20150601"), nk1(1, "SCH", "20160601"), zfc(1, "Y"), ZPS))
    assert locations(caught.value.issues) == ["ZFC[1]-1"]


def test_hl7_fields_land_in_the_right_fhir_elements() -> None:
    from fhir_family.mapping.bundle import build_bundle

    parsed = parse_hl7v2(
        message(
            PID,
            PV1 + "|20261010",
            nk1(1, "CHD^Child^HL70063", "20150601", "F", nk1_33="9990000042^^^NHS^NH"),
            zfc(1, "Y|birth-mother|part-time|Y|child-protection-plan"),
            f"ZPS|12|2|N|||{ASKED}|E08000035",
        )
    )
    bundle = build_bundle(parsed.record)
    by_type = {e["resource"]["resourceType"]: e["resource"] for e in bundle["entry"]}
    assert bundle["identifier"]["value"] == "RX4-CTRL-1"
    assert by_type["Organization"]["identifier"][0] == {"system": t.ODS_SYSTEM, "value": "RX4"}
    patient = by_type["Patient"]
    assert patient["identifier"][0] == {"system": t.NHS_NUMBER_SYSTEM, "value": "9990000026"}
    assert (patient["birthDate"], patient["gender"]) == ("1988-04-12", "female")
    assert patient["identifier"][1] == {"system": t.PROVIDER_RECORD_SYSTEM, "value": "RX4/MRN1"}
    status = {part["url"]: part for part in patient["extension"][0]["extension"]}
    assert status["status"]["valueCodeableConcept"]["coding"][0]["code"] == "some-children-live-with-patient"
    assert status["dateAsked"]["valueDate"] == "2026-10-01"
    assert patient["extension"][1]["valueCoding"]["code"] == "E08000035"
    assert bundle["meta"]["extension"][0]["valuePeriod"] == {"start": "2026-10-01", "end": "2026-10-31"}
    episode = by_type["EpisodeOfCare"]
    assert (episode["status"], episode["period"]) == (
        "finished",
        {"start": "2026-03-02", "end": "2026-10-10"},
    )
    assert episode["identifier"][1] == {"system": t.MHSDS_SERVICE_REQUEST_SYSTEM, "value": "SR-9"}
    assert episode["type"][0]["coding"][0]["code"] == "A03"
    child = by_type["RelatedPerson"]
    assert child["relationship"][0]["coding"][0]["code"] == "CHILD"
    assert child["identifier"] == [{"system": t.NHS_NUMBER_SYSTEM, "value": "9990000042"},
                                   {"system": t.PROVIDER_RECORD_SYSTEM, "value": "RX4/MRN1/C1"}]
    codes = {
        ext["url"].rsplit("/", 1)[-1]: ext.get("valueCodeableConcept", {}).get("coding", [{}])[0].get("code")
        for ext in child["extension"]
    }
    assert codes["child-residence"] == "part-time"
    assert codes["young-carer"] == "Y"
    assert codes["help-and-protection"] == "child-protection-plan"
    assert "name" not in child and "address" not in child and "telecom" not in patient


def test_nhs_number_written_with_spaces_is_the_same_number() -> None:
    pid = "PID|1||999 000 0026^^^NHS^NH~X1^^^RX4^MR||Example^Alice||19880412|F"
    assert parse_hl7v2(message(pid, PV1, ZPS)).record.nhs_number == "9990000026"


def test_zfc_u_is_read_as_unknown_for_responsibility_and_young_carer() -> None:
    parsed = parse_hl7v2(message(PID, PV1, nk1(1, "CHD", "20150601"), zfc(1, "U||full-time|U|none"), ZPS))
    [child] = parsed.record.children
    assert (child.pr_held, child.young_carer, child.help) == ("UNK", "UNK", ("none",))


def _errors_of(text: str) -> list[tuple[str, str]]:
    with pytest.raises(MappingError) as caught:
        parse_hl7v2(text)
    return [(i.extra["location"][0], str(i.code)) for i in caught.value.issues if str(i.severity) == "error"]


def test_a_bad_child_birth_date_does_not_hide_the_childs_other_errors() -> None:
    text = message(PID, PV1, nk1(1, "CHD", "2015-06-01", sex="Z"), zfc(1, "perhaps||attic"), ZPS)
    assert sorted(_errors_of(text)) == [
        ("NK1[1]-15", "code-invalid"), ("NK1[1]-16", "value"), ("ZFC[1]-2", "code-invalid"),
        ("ZFC[1]-4", "code-invalid"),
    ]


def test_an_unreadable_message_date_does_not_hide_the_childrens_errors() -> None:
    text = message(PID, PV1, nk1(1, "CHD", "20150601"), zfc(1, "Y||attic"), ZPS)
    found = _errors_of(text.replace("20261015093000", "soon"))
    assert ("ZFC[1]-4", "code-invalid") in found
    assert any(where.startswith(("MSH-7", "EVN-2")) for where, _ in found)


def test_the_zfc_of_an_nk1_left_out_keeps_its_own_errors_and_is_not_called_unlinked() -> None:
    text = message(PID, PV1, nk1(1, "QQQ", "20150601"), zfc(1, "Y||attic"), ZPS)
    with pytest.raises(MappingError) as caught:
        parse_hl7v2(text)
    issues = [(str(i.severity), i.extra["location"][0]) for i in caught.value.issues]
    assert sorted(issues) == [("error", "ZFC[1]-4"), ("warning", "NK1[1]-3")]  # no "matches no child NK1"


@pytest.mark.parametrize(
    ("segments", "only"),
    [
        ((PID, PV1, nk1(1, "CHD", "20150601"), zfc(1, "perhaps|birth-mother"), ZPS), "ZFC[1]-2"),
        ((PID, PV1, f"ZPS|not-a-parent|0|maybe|20270101||{ASKED}"), "ZPS-3"),
    ],
)
def test_no_follow_on_error_repeats_the_first(segments: tuple[str, ...], only: str) -> None:
    assert _errors_of(message(*segments)) == [(only, "code-invalid")]


@pytest.mark.parametrize(("segment", "fields"), [("ZEP", 2), ("ZPS", 11), ("ZFC", 13)])
def test_every_z_segment_field_is_documented(repo_root, segment: str, fields: int) -> None:
    # docs/payload.md section 2 is the Z-segments' one home (the guide's mapping page renders it)
    section = (repo_root / "docs" / "payload.md").read_text().split("## 2. HL7 v2", 1)[1].split("\n## ", 1)[0]
    documented = {int(n) for n in re.findall(rf"^\| {segment}-(\d+) \|", section, flags=re.M)}
    assert documented == set(range(1, fields + 1))
