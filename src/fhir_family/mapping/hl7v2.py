"""HL7 v2.x ADT (A04, A08, A28, A31) -> ReturnRecord, read with the ER7 reader of ``er7.py``.

The mapping (docs/payload.md has the full table and the Z-segment definitions):

* MSH-4 sending facility -> ODS code (MSH-4.1, or MSH-4.2 when it is set and MSH-4.3 is ``ODS``);
  MSH-10 -> submission id ``{ODS}-{MSH-10}``; the reporting period is the calendar month of EVN-2
  (else MSH-7).
* PID-3 (the repetition whose CX-5 is ``NH`` or whose assigning authority is ``NHS``) -> NHS number; PID-3
  (the repetition whose CX-5 is ``MR``, the one assigned by the sender's ODS code when several) -> the local
  patient id; PID-32 (``NSTS01``..``NSTS08``) -> NHS number verification status; PID-7 -> birth date, PID-8
  (table 0001) -> gender.
* ZEP (one, required): ZEP-1 MHSDS service request id, ZEP-2 team type. PV1-44 -> episode start, PV1-45 ->
  episode end (status ``finished``); with no PV1 or no PV1-44 the episode starts on the message date and is
  ``active``.
* NK1 whose NK1-3 (table 0063) maps through ConceptMap v2-0063-to-dependent-child-relationship -> a child:
  NK1-16 birth date, NK1-15 sex, NK1-33 then NK1-12 for an NHS-number identifier. Adults (codes with no map)
  are ignored; children 18 or over on the reporting date, or without a birth date, are left out with an issue.
* ZPS (one, required): the patient's parental status, who asked and how it is known, support offered, the
  legal basis and the patient's local authority. ZFC (one per child, ZFC-1 = the child's NK1-1, required for
  ZFC-7, the local child id): parental responsibility, residence, young carer, help, restriction, the child's
  NHS number verification and local authority, the think-family referral and the day the child was ended.

Names (PID-5, NK1-2), addresses and phone numbers are never read. Issues name segment and field the HL7 way:
``NK1[2]-16`` is field 16 of the second NK1 segment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fhir_family import messages as msg
from fhir_family.errors import InputError, MappingError
from fhir_family.model import (
    ASKED_BY_ROLE,
    CHILD_HELP_CODES,
    CHILD_RESIDENCE,
    GSS_LOCAL_AUTHORITY_PATTERN,
    LEGAL_BASIS,
    MHSDS_TEAM_TYPE,
    NHS_NUMBER_VERIFICATION,
    NOT_ASKED,
    PARENTAL_STATUS,
    PR_BASIS,
    PR_RESTRICTION,
    PRNTSTAT_TO_PARENTAL_STATUS,
    STATUS_SOURCE,
    SUPPORT_OFFERED,
    THINK_FAMILY_ACTION,
    THINK_FAMILY_OUTCOME,
    UNBORN_HELP_CODES,
    is_dependent_child,
)
from fhir_family.outcome import Issue, IssueSeverity, IssueType

from .base import Parsed, Parser, error, located, warning
from .dates import calendar_month
from .er7 import Er7Error, parse_er7
from .hl7_tables import (
    SEX_TO_GENDER,
    YES_NO_UNKNOWN_ALIASES,
    relationship_map,
    table_0063,
)
from .nhs_number import is_valid_nhs_number
from .record import ChildRecord, ReturnRecord

SUPPORTED_EVENTS = ("A04", "A08", "A28", "A31")
NHS_NUMBER_OID = "2.16.840.1.113883.2.1.4.1"
_HL7_DATE = re.compile(r"^([0-9]{4})([0-9]{2})([0-9]{2})")
_ODS = re.compile(r"^[A-Z0-9]{3,6}$")
_GSS = re.compile(GSS_LOCAL_AUTHORITY_PATTERN)
_NHS_STATUS_PREFIX = "NSTS"
"""NHS England's table 0445 codes for the NHS number status: ``NSTS`` and the UK Core code."""
_LOCAL_ID_MAX = 64
"""Local ids (PID-3 MR, ZEP-1, ZFC-7) are at most 64 characters, as in the JSON payload."""
_REPEATING = frozenset({"NK1", "ZFC"})
"""Segments always located with their occurrence (``NK1[1]-16``), even when the message has only one."""

MSG_PARSE = msg.HL7_PARSE
MSG_UNSUPPORTED = msg.HL7_UNSUPPORTED
MSG_FIELD = msg.HL7_FIELD
MSG_CHILD_ADULT = msg.HL7_CHILD_ADULT
MSG_CHILD_NO_DOB = msg.HL7_CHILD_NO_DOB
MSG_RELATIONSHIP = msg.HL7_RELATIONSHIP
MSG_DEFAULTED = msg.HL7_DEFAULTED
MSG_ZFC_UNLINKED = msg.HL7_ZFC_UNLINKED
MSG_CHILD_NHS = msg.HL7_CHILD_NHS_NUMBER


READ_SEGMENTS = frozenset({"MSH", "EVN", "PID", "PV1", "NK1", "ZFC", "ZPS", "ZEP"})
"""The only segments the mapping reads; others (PD1, OBX, AL1, DG1 ...) are not parsed at all."""


def strip_framing(text: str) -> str:
    """Drop MLLP framing (0x0b ... 0x1c 0x0d) and normalise segment separators to carriage returns."""
    start = text.find("\x0b")
    if start != -1:
        text = text[start + 1 :]
    end = text.find("\x1c")
    if end != -1:
        text = text[:end]
    lines = text.replace("\r\n", "\r").replace("\n", "\r").split("\r")
    return "\r".join(line for line in lines if line.strip())


def _index(element: Any) -> int:
    """1-based position of a field's component (``C_4`` -> 4), as the ER7 reader numbered it."""
    return element.position


def _component(element: Any, position: int) -> str:
    """Component ``position`` of a field (or sub-component of a component), '' when empty."""
    return element.part(position).strip()


def _first_component(element: Any) -> str:
    """Component 1 of a field; a field with no non-empty component (or a sub-component) as it is."""
    first = element.part(1).strip()
    return first if first or element.children else element.to_er7().strip()


def _hl7_date(value: str) -> date | None:
    """The date part of an HL7 DT/DTM/TS value (``YYYYMMDD[HHMM[SS]][+ZZZZ]``), None if it has none."""
    match = _HL7_DATE.match(value)
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


@dataclass
class _Segment:
    """A segment with its HL7-style name for locations (``NK1[2]`` when the message has several)."""

    element: Any
    label: str
    _fields: dict[str, list[Any]] | None = field(default=None, repr=False, compare=False)

    def reps(self, number: int) -> list[Any]:
        """The repetitions of field ``number`` (indexed by field name once: the mapping asks ~80 times)."""
        if self._fields is None:
            self._fields = {}
            for child in self.element.children:
                self._fields.setdefault(child.name, []).append(child)
        return self._fields.get(f"{self.element.name}_{number}", [])

    def first(self, number: int) -> str:
        reps = self.reps(number)
        return _first_component(reps[0]) if reps else ""

    def where(self, number: int, component: int | None = None) -> str:
        return f"{self.label}-{number}" + (f".{component}" if component else "")


@dataclass
class _Reader:
    """Reads one parsed message, collecting warnings as it goes and errors until the end."""

    segments: dict[str, list[_Segment]]
    issues: list[Issue] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)

    def one(self, name: str) -> _Segment | None:
        found = self.segments.get(name, [])
        return found[0] if found else None

    def fail(self, code: IssueType, text: str, where: str, message_id: str = MSG_FIELD) -> None:
        self.errors.append(error(code, text, where, message_id))

    def warn(self, code: IssueType, text: str, where: str, message_id: str) -> None:
        self.issues.append(warning(code, text, where, message_id))

    def inform(self, text: str, where: str, message_id: str) -> None:
        info = located(IssueSeverity.INFORMATION, IssueType.INFORMATIONAL, text, where, message_id)
        self.issues.append(info)

    def date_field(self, segment: _Segment, number: int, what: str, required: bool) -> date | None:
        raw = segment.first(number)
        if not raw:
            if required:
                where = segment.where(number)
                self.fail(IssueType.REQUIRED, f"{where} ({what}) is empty", where)
            return None
        parsed = _hl7_date(raw)
        if parsed is None:
            text = f"{segment.where(number)} ({what}) {raw!r} is not an HL7 date (YYYYMMDD...)"
            self.fail(IssueType.VALUE, text, segment.where(number))
        return parsed

    def code_field(self, segment: _Segment, number: int, allowed: Any, what: str, default: str) -> str:
        raw = segment.first(number)
        if not raw:
            return default
        if raw not in allowed:
            self._wrong_code(segment, number, what, raw, allowed)
            return default
        return raw

    def _wrong_code(self, segment: _Segment, number: int, what: str, code: str, allowed: Any) -> None:
        text = f"{segment.where(number)} ({what}) code {code!r} is not one of: {', '.join(sorted(allowed))}"
        self.fail(IssueType.CODE_INVALID, text, segment.where(number))

    def yes_no_unknown(self, segment: _Segment, number: int, what: str) -> str:
        """A Y/N/UNK field (``U`` accepted for UNK); empty or wrong is UNK, wrong also an issue."""
        return YES_NO_UNKNOWN_ALIASES[self.code_field(segment, number, YES_NO_UNKNOWN_ALIASES, what, "UNK")]

    def local_id(self, raw: str, where: str, what: str) -> str:
        """A required local id (ST) found at ``where``: not empty, at most 64 characters; '' after reporting
        the problem."""
        if not raw:
            self.fail(IssueType.REQUIRED, f"{where} ({what}) is empty", where)
        elif len(raw) > _LOCAL_ID_MAX:
            self.fail(IssueType.VALUE, f"{where} ({what}) is {len(raw)} characters: at most {_LOCAL_ID_MAX}",
                      where)
            return ""
        return raw

    def local_authority(self, segment: _Segment, number: int) -> str | None:
        """An ONS GSS local authority code, checked against its pattern; None when empty or wrong."""
        raw = segment.first(number)
        if raw and not _GSS.match(raw):
            text = (f"{segment.where(number)} (local authority) {raw!r} is not an ONS GSS local authority "
                    "code (E06, E07, E08, E09 or E10 and six digits)")
            self.fail(IssueType.VALUE, text, segment.where(number))
            return None
        return raw or None

    def verification(self, segment: _Segment, number: int) -> str | None:
        """The NHS number verification status among the field's repetitions: ``NSTS01``..``NSTS08`` (table
        0445 as NHS England's HL7 v2 ADT specification extends it for PID-32) or the bare UK Core code
        ``01``..``08``; other table 0445 codes (``AL``, ``UA`` ...) say something else and are skipped."""
        for rep in segment.reps(number):
            raw = _first_component(rep).upper()
            if not (raw.startswith(_NHS_STATUS_PREFIX) or raw.isdigit()):
                continue
            code = raw.removeprefix(_NHS_STATUS_PREFIX)
            if code in NHS_NUMBER_VERIFICATION:
                return code
            allowed = [f"{_NHS_STATUS_PREFIX}{c}" for c in NHS_NUMBER_VERIFICATION]
            self._wrong_code(segment, number, "NHS number verification status", raw, allowed)
            return None
        return None

    def optional_code(self, segment: _Segment, number: int, allowed: Any, what: str) -> str | None:
        """A coded field with no default: None when empty (or wrong, which is also an error)."""
        return self.code_field(segment, number, allowed, what, "") or None

    def code_list(self, segment: _Segment, number: int, allowed: Any, what: str) -> tuple[str, ...]:
        """The first component of each repetition of a coded field, each checked against ``allowed``."""
        codes = tuple(_first_component(rep) for rep in segment.reps(number) if _first_component(rep))
        for code in codes:
            if code not in allowed:
                self._wrong_code(segment, number, what, code, allowed)
        return codes


def _segments(message: Any) -> dict[str, list[_Segment]]:
    by_name: dict[str, list[Any]] = {}
    for element in message.children:
        by_name.setdefault(element.name, []).append(element)
    labelled: dict[str, list[_Segment]] = {}
    for name, elements in by_name.items():
        many = len(elements) > 1 or name in _REPEATING
        labelled[name] = [_Segment(el, f"{name}[{i}]" if many else name) for i, el in enumerate(elements, 1)]
    return labelled


def _nhs_number_in(reps: list[Any]) -> tuple[str, int] | None:
    """(value, repetition number) of the identifier marked as an NHS number, if any repetition is."""
    for number, rep in enumerate(reps, 1):
        authority = [c for c in rep.children if _index(c) == 4]
        authority_id = _first_component(authority[0]).upper() if authority else ""
        universal_id = _component(authority[0], 2) if authority else ""
        id_type = _component(rep, 5).upper()
        if id_type == "NH" or authority_id in ("NHS", "NHSNBR") or universal_id == NHS_NUMBER_OID:
            return "".join(_component(rep, 1).split()), number  # "999 000 0026" is the same number
    return None


def _local_patient_id(reps: list[Any], ods: str) -> tuple[str, int] | None:
    """(value, repetition number) of the provider's own patient id: a repetition whose CX-5 is ``MR``; when
    several are, the one whose assigning authority (CX-4.1) is the sender's ODS code, else the first."""
    records = [(number, rep) for number, rep in enumerate(reps, 1) if _component(rep, 5).upper() == "MR"]
    for number, rep in records:
        authority = [c for c in rep.children if _index(c) == 4]
        if authority and _first_component(authority[0]) == ods:
            return _component(rep, 1), number
    return (_component(records[0][1], 1), records[0][0]) if records else None


def _message_header(reader: _Reader) -> tuple[str, str, date]:
    """(ODS code, submission id, message date) from MSH and EVN."""
    msh = reader.one("MSH")
    assert msh is not None  # parse_er7 refuses a message without MSH
    event = _component(msh.reps(9)[0], 2) if msh.reps(9) else ""
    if event not in SUPPORTED_EVENTS:
        text = f"MSH-9 event {event or '(empty)'!r} is not supported: send ADT {', '.join(SUPPORTED_EVENTS)}"
        raise MappingError(text, [error(IssueType.NOT_SUPPORTED, text, "MSH-9", MSG_UNSUPPORTED)])
    facility = msh.reps(4)[0] if msh.reps(4) else None
    ods = ""
    if facility is not None:
        by_type = _component(facility, 3).upper() == "ODS" and _component(facility, 2)
        ods = _component(facility, 2) if by_type else _first_component(facility)
    if not _ODS.match(ods):
        text = f"MSH-4 sending facility {ods!r} is not an ODS code (3 to 6 upper-case letters or digits)"
        reader.fail(IssueType.VALUE, text, "MSH-4")
    control_id = msh.first(10)
    if not control_id:
        reader.fail(IssueType.REQUIRED, "MSH-10 (message control id) is empty", "MSH-10")
    evn = reader.one("EVN")
    when = (reader.date_field(evn, 2, "recorded date/time", required=False) if evn else None) or (
        reader.date_field(msh, 7, "message date/time", required=True)
    )
    return ods, f"{ods}-{control_id}", when or date.min


@dataclass(frozen=True)
class _Patient:
    """PID's part of the return."""

    nhs_number: str
    local_id: str
    birth_date: date | None
    gender: str
    nhs_number_verification: str | None = None


def _patient(reader: _Reader, ods: str) -> _Patient:
    pid = reader.one("PID")
    if pid is None:
        reader.fail(IssueType.REQUIRED, "PID segment is missing", "PID")
        return _Patient("", "", None, "unknown")
    found = _nhs_number_in(pid.reps(3))
    nhs = ""
    if found is None:
        text = "PID-3 has no NHS number (a repetition with CX-5 'NH' or assigning authority 'NHS')"
        reader.fail(IssueType.REQUIRED, text, "PID-3")
    else:
        nhs, rep = found
        where = pid.where(3) + (f"[{rep}]" if len(pid.reps(3)) > 1 else "")
        if not is_valid_nhs_number(nhs):
            text = f"{where} NHS number {nhs!r} fails the modulus-11 check digit"
            reader.fail(IssueType.VALUE, text, where)
    local = _local_patient_id(pid.reps(3), ods)
    local_id = ""
    if local is None:
        text = ("PID-3 has no local patient id (a repetition with CX-5 'MR', assigned by the sender's ODS "
                "code): it keys the Patient's conditional update")
        reader.fail(IssueType.REQUIRED, text, "PID-3")
    else:
        where = pid.where(3) + (f"[{local[1]}]" if len(pid.reps(3)) > 1 else "")
        local_id = reader.local_id(local[0], where, "local patient id")
    verification = reader.verification(pid, 32)
    birth = reader.date_field(pid, 7, "date of birth", required=True)
    sex = pid.first(8).upper()
    gender = SEX_TO_GENDER.get(sex)
    if gender is None:
        if sex:
            reader.fail(IssueType.CODE_INVALID, f"PID-8 sex {sex!r} is not in HL7 table 0001", "PID-8")
        else:
            reader.inform("PID-8 (sex) is empty: gender sent as 'unknown'", "PID-8", MSG_DEFAULTED)
        gender = "unknown"
    return _Patient(nhs, local_id, birth, gender, verification)


@dataclass(frozen=True)
class _Episode:
    """PV1's and ZEP's part of the return: the episode of care."""

    start: date
    status: str = "active"
    end: date | None = None
    service_request_id: str = ""
    team_type: str = ""


def _episode(reader: _Reader, message_date: date) -> _Episode:
    zep = reader.one("ZEP")
    if zep is None:
        text = ("ZEP segment is missing: the episode's MHSDS service request id (ZEP-1) and team type "
                "(ZEP-2) have no standard HL7 v2 field and the national return requires them")
        reader.fail(IssueType.REQUIRED, text, "ZEP")
        service_request, team_type = "", ""
    else:
        service_request = reader.local_id(zep.first(1), zep.where(1), "MHSDS service request id")
        team_type = reader.code_field(zep, 2, MHSDS_TEAM_TYPE, "MHSDS team type", "")
        if not zep.first(2):
            reader.fail(IssueType.REQUIRED, "ZEP-2 (MHSDS team type) is empty", "ZEP-2")
    pv1 = reader.one("PV1")
    start = reader.date_field(pv1, 44, "admit date/time", required=False) if pv1 else None
    if start is None:
        where = pv1.where(44) if pv1 else "PV1"
        reader.inform(f"No {where} admit date: the episode starts on the message date {message_date}", where,
                      MSG_DEFAULTED)
        return _Episode(message_date, service_request_id=service_request, team_type=team_type)
    assert pv1 is not None
    end = reader.date_field(pv1, 45, "discharge date/time", required=False)
    return _Episode(
        start,
        status="finished" if end is not None else "active",
        end=end,
        service_request_id=service_request,
        team_type=team_type,
    )


@dataclass(frozen=True)
class _Status:
    """ZPS's part of the return: the parental-status extension, the legal basis and the local authority."""

    parental_status: str
    children_in_household: int | None = None
    expecting_child: bool | None = None
    expected_due_date: date | None = None
    unborn_child_help: str | None = None
    date_asked: date | None = None
    asked_by: str | None = None
    source: str | None = None
    support_offered: tuple[str, ...] = ()
    legal_basis: str = ""
    local_authority: str | None = None


def _parental_status(reader: _Reader) -> _Status:
    zps = reader.one("ZPS")
    if zps is None:
        text = ("ZPS segment is missing: parental status has no standard HL7 v2 field and the national "
                "return requires it (ZPS-1: a parental-status code or NDTMS PRNTSTAT 11-15)")
        reader.fail(IssueType.REQUIRED, text, "ZPS")
        return _Status("declined")
    raw_status = zps.first(1)
    status = PRNTSTAT_TO_PARENTAL_STATUS.get(raw_status, raw_status)
    if status not in PARENTAL_STATUS:
        allowed = ", ".join(PARENTAL_STATUS)
        reader.fail(IssueType.CODE_INVALID, f"ZPS-1 parental status {raw_status!r} is not one of: {allowed} "
                    "(or PRNTSTAT 11-15)", "ZPS-1")
    household = zps.first(2)
    in_household = int(household) if household.isdigit() else None
    if household and in_household is None:
        reader.fail(IssueType.VALUE, f"ZPS-2 children in household {household!r} is not a number", "ZPS-2")
    expecting = reader.code_field(zps, 3, YES_NO_UNKNOWN_ALIASES, "expecting a child", "")
    due = reader.date_field(zps, 4, "expected due date", required=False)
    unborn_help = reader.code_field(zps, 5, UNBORN_HELP_CODES, "unborn child help", "")
    expecting_readable = zps.first(3) in ("", *YES_NO_UNKNOWN_ALIASES)  # else already reported
    if (due or unborn_help) and expecting != "Y" and expecting_readable:
        reader.fail(IssueType.BUSINESS_RULE, "ZPS-4/ZPS-5 are allowed only when ZPS-3 is 'Y'", "ZPS-3")
    asked = reader.date_field(zps, 6, "date asked", required=False)
    asked_by = reader.optional_code(zps, 7, ASKED_BY_ROLE, "asked by (role)")
    source = reader.optional_code(zps, 8, STATUS_SOURCE, "source")
    if status == NOT_ASKED:
        given = [zps.where(n) for n in (6, 7, 8) if zps.first(n)]
        if given:
            text = (f"{', '.join(given)} given but ZPS-1 is 'not-asked': a patient nobody asked has none "
                    "(ff-ps-2)")
            reader.fail(IssueType.BUSINESS_RULE, text, given[0])
    elif not zps.first(6) and status in PARENTAL_STATUS:
        reader.fail(IssueType.REQUIRED, "ZPS-6 (date asked) is empty: required unless ZPS-1 is 'not-asked' "
                    "(ff-ps-2)", "ZPS-6")
    support = reader.code_list(zps, 9, SUPPORT_OFFERED, "support offered")
    if "none" in support and len(support) > 1:
        reader.fail(IssueType.BUSINESS_RULE, "ZPS-9 support offered 'none' must stand alone", "ZPS-9")
    legal_basis = reader.code_field(zps, 10, LEGAL_BASIS, "legal basis", "")
    if not zps.first(10):
        reader.fail(IssueType.REQUIRED, "ZPS-10 (legal basis) is empty: every return states the basis under "
                    "which it flows", "ZPS-10")
    return _Status(
        status,
        children_in_household=in_household,
        expecting_child=expecting == "Y" if expecting in ("Y", "N") else None,
        expected_due_date=due,
        unborn_child_help=unborn_help or None,
        date_asked=asked,
        asked_by=asked_by,
        source=source,
        support_offered=support,
        legal_basis=legal_basis,
        local_authority=reader.local_authority(zps, 11),
    )


@dataclass(frozen=True)
class _ChildDetails:
    """ZFC's part of one child: what the NK1 segment cannot say."""

    local_id: str
    pr_held: str = "UNK"
    pr_basis: tuple[str, ...] = ()
    residence: str = "unknown"
    young_carer: str = "UNK"
    help: tuple[str, ...] = ("not-known",)
    pr_restriction: tuple[str, ...] = ()
    nhs_number_verification: str | None = None
    local_authority: str | None = None
    think_family_action: str | None = None
    think_family_outcome: str | None = None
    ended: date | None = None

    def record(self, *, relationship: str, birth_date: date, nhs_number: str | None,
               gender: str | None) -> ChildRecord:
        """The child's record: NK1's fields with these; a verification status only with an NHS number."""
        return ChildRecord(
            local_id=self.local_id, relationship=relationship, birth_date=birth_date, nhs_number=nhs_number,
            gender=gender, pr_held=self.pr_held, pr_basis=self.pr_basis, pr_restriction=self.pr_restriction,
            residence=self.residence, young_carer=self.young_carer, help=self.help,
            nhs_number_verification=self.nhs_number_verification if nhs_number else None,
            local_authority=self.local_authority, think_family_action=self.think_family_action,
            think_family_outcome=self.think_family_outcome, ended=self.ended,
        )


_OUTCOME_ACTIONS = frozenset({"referred", "notified"})
"""Think-family actions that have an outcome (ZFC-12)."""


def _child_details(reader: _Reader, zfc: _Segment | None) -> _ChildDetails | None:
    """ZFC fields for one child; None when the child has no ZFC (then it has no local id: an error)."""
    if zfc is None:
        return None
    held = reader.yes_no_unknown(zfc, 2, "parental responsibility held")
    basis = reader.code_list(zfc, 3, PR_BASIS, "parental-responsibility-basis")
    held_readable = zfc.first(2) in ("", *YES_NO_UNKNOWN_ALIASES)  # else already reported: no follow-on
    if basis and held != "Y" and held_readable:
        reader.fail(IssueType.BUSINESS_RULE, f"{zfc.where(3)} gives a basis but {zfc.where(2)} is not 'Y'",
                    zfc.where(3))
    residence = reader.code_field(zfc, 4, CHILD_RESIDENCE, "residence", "unknown")
    young_carer = reader.yes_no_unknown(zfc, 5, "young carer")
    help_codes = reader.code_list(zfc, 6, CHILD_HELP_CODES, "help and protection")
    action = reader.optional_code(zfc, 11, THINK_FAMILY_ACTION, "think-family action")
    outcome = reader.optional_code(zfc, 12, THINK_FAMILY_OUTCOME, "think-family outcome")
    action_readable = zfc.first(11) in ("", *THINK_FAMILY_ACTION)  # else already reported: no follow-on
    if zfc.first(12) and action_readable and action not in _OUTCOME_ACTIONS:
        text = f"{zfc.where(12)} gives an outcome but {zfc.where(11)} is not 'referred' or 'notified'"
        reader.fail(IssueType.BUSINESS_RULE, text, zfc.where(12))
    return _ChildDetails(
        local_id=reader.local_id(zfc.first(7), zfc.where(7), "local child id"),
        pr_held=held,
        pr_basis=basis,
        residence=residence,
        young_carer=young_carer,
        help=help_codes or ("not-known",),
        pr_restriction=reader.code_list(zfc, 8, PR_RESTRICTION, "parental-responsibility-restriction"),
        nhs_number_verification=reader.verification(zfc, 9),
        local_authority=reader.local_authority(zfc, 10),
        think_family_action=action,
        think_family_outcome=outcome,
        ended=reader.date_field(zfc, 13, "ended", required=False),
    )


def _child_fields(
    reader: _Reader, nk1: _Segment, zfc: _Segment | None
) -> tuple[str | None, _ChildDetails | None]:
    """The child's sex (NK1-15) and ZFC details, each checked; run even for a child left out because of an
    error elsewhere, so one message reports all its independent errors at once."""
    sex = nk1.first(15).upper()
    gender = SEX_TO_GENDER.get(sex) if sex else None
    if sex and gender is None:
        text = f"{nk1.where(15)} sex {sex!r} is not in HL7 table 0001"
        reader.fail(IssueType.CODE_INVALID, text, nk1.where(15))
    return gender, _child_details(reader, zfc)


def _children(reader: _Reader, reporting_date: date | None) -> list[ChildRecord]:
    """The dependent children from NK1 + ZFC; ``reporting_date`` None when the message date is unreadable
    (already an error): every field is still checked, no child is placed."""
    zfc_by_set_id: dict[str, _Segment] = {}
    for zfc in reader.segments.get("ZFC", []):
        set_id = zfc.first(1)
        if set_id in zfc_by_set_id:
            first = zfc_by_set_id[set_id].label
            text = f"{zfc.where(1)} repeats set id {set_id!r} of {first}: one ZFC per child"
            reader.fail(IssueType.DUPLICATE, text, zfc.where(1))
        zfc_by_set_id.setdefault(set_id, zfc)
    nk1_set_ids = [nk1.first(1) for nk1 in reader.segments.get("NK1", []) if nk1.first(1)]
    for set_id in sorted({s for s in nk1_set_ids if nk1_set_ids.count(s) > 1}):
        if set_id in zfc_by_set_id:
            text = f"NK1-1 set id {set_id!r} is used by more than one NK1, so its ZFC cannot be linked"
            reader.fail(IssueType.DUPLICATE, text, zfc_by_set_id[set_id].where(1))
    linked: set[str] = set()
    ignored: set[str] = set()  # set ids of NK1s left out with a warning of their own
    children: list[ChildRecord] = []
    mapping, table = relationship_map(), table_0063()
    for nk1 in reader.segments.get("NK1", []):
        code = nk1.first(3).upper()
        if not code:
            text = f"{nk1.where(3)} (relationship) is empty: next of kin ignored"
            reader.warn(IssueType.REQUIRED, text, nk1.where(3), MSG_RELATIONSHIP)
            ignored.add(nk1.first(1))
            continue
        if code not in mapping:
            if code not in table:
                text = f"{nk1.where(3)} relationship {code!r} is not in HL7 table 0063: next of kin ignored"
                reader.warn(IssueType.CODE_INVALID, text, nk1.where(3), MSG_RELATIONSHIP)
                ignored.add(nk1.first(1))
            continue  # an adult relationship (MTH, SPO, EMC ...): not a dependent child
        set_id = nk1.first(1)
        linked.add(set_id)
        zfc = zfc_by_set_id.get(set_id) if set_id else None
        birth = reader.date_field(nk1, 16, "date of birth", required=False)
        if birth is None or reporting_date is None:
            if nk1.first(16):
                _child_fields(reader, nk1, zfc)  # an error already stops the message: report the rest too
            else:
                text = (f"{nk1.where(16)} (date of birth) is empty: the child cannot be placed under 18 "
                        "and is left out")
                reader.warn(IssueType.REQUIRED, text, nk1.where(16), MSG_CHILD_NO_DOB)
            continue
        if birth > reporting_date:
            reader.warn(IssueType.BUSINESS_RULE, f"{nk1.where(16)} birth date {birth} is after the reporting "
                        f"date {reporting_date}: left out (send an expected child in ZPS)", nk1.where(16),
                        MSG_CHILD_ADULT)
            continue
        if not is_dependent_child(birth, reporting_date):
            text = (f"{nk1.where(16)} born {birth} is 18 or over on the reporting date {reporting_date}: "
                    "not a dependent child, left out")
            reader.inform(text, nk1.where(16), MSG_CHILD_ADULT)
            continue
        nhs = _child_nhs_number(reader, nk1)
        gender, details = _child_fields(reader, nk1, zfc)
        if details is None:
            text = (f"{nk1.where(1)}: the child has no ZFC segment (ZFC-1 = NK1-1), so no local child id "
                    "(ZFC-7), which keys the child's conditional update")
            reader.fail(IssueType.REQUIRED, text, nk1.where(1))
            continue
        if details.nhs_number_verification and not _has_nhs_number(nk1):
            text = (f"{zfc.where(9) if zfc else 'ZFC-9'} gives an NHS number verification status but "
                    f"{nk1.label} has no NHS number (NK1-33 or NK1-12)")
            reader.fail(IssueType.BUSINESS_RULE, text, zfc.where(9) if zfc else nk1.label)
        children.append(details.record(relationship=mapping[code], birth_date=birth, nhs_number=nhs,
                                       gender=gender))
    for set_id, zfc in zfc_by_set_id.items():
        if set_id in ignored and set_id not in linked:
            _child_details(reader, zfc)  # its NK1 was left out (said once, there); its own errors still count
        elif set_id not in linked:
            text = f"{zfc.where(1)} set id {set_id!r} matches no child NK1-1: ignored"
            reader.warn(IssueType.NOT_FOUND, text, zfc.where(1), MSG_ZFC_UNLINKED)
    return children


def _has_nhs_number(nk1: _Segment) -> bool:
    """The NK1 marks an NHS number in NK1-33 or NK1-12, valid or not."""
    return any(_nhs_number_in(nk1.reps(number)) for number in (33, 12))


def _child_nhs_number(reader: _Reader, nk1: _Segment) -> str | None:
    for number in (33, 12):
        found = _nhs_number_in(nk1.reps(number))
        if found is None:
            continue
        value, rep = found
        if is_valid_nhs_number(value):
            return value
        where = nk1.where(number) + (f"[{rep}]" if len(nk1.reps(number)) > 1 else "")
        text = f"{where} NHS number {value!r} fails the modulus-11 check digit: the child is sent without it"
        reader.warn(IssueType.VALUE, text, where, MSG_CHILD_NHS)
    return None


def parse_hl7v2(text: str) -> Parsed:
    """Parse one ER7 message (MLLP framing optional) into a record plus warnings; raise on errors."""
    er7 = strip_framing(text)
    if not er7.startswith("MSH"):
        issue = error(IssueType.STRUCTURE, "Not an HL7 v2 message: it must start with an MSH segment", "MSH",
                      MSG_PARSE)
        raise InputError("not an HL7 v2 message (no MSH segment first)", [issue])
    needed = "\r".join(segment for segment in er7.split("\r") if segment[:3] in READ_SEGMENTS)
    try:
        message = parse_er7(needed)
    except Er7Error as exc:
        text_ = f"HL7 v2 message could not be parsed: {exc}"
        raise InputError(text_, [error(IssueType.STRUCTURE, text_, "MSH", MSG_PARSE)]) from None
    reader = _Reader(_segments(message))
    for name in ("MSH", "PID"):
        extra = reader.segments.get(name, [])[1:]
        if extra:
            # Two messages (or patients) in one body would mix one patient's children into another's return.
            text = f"{len(extra) + 1} {name} segments: send one message, for one patient, per request"
            raise InputError(text, [error(IssueType.STRUCTURE, text, extra[0].label, MSG_PARSE)])
    ods, submission_id, message_date = _message_header(reader)
    known_date = message_date != date.min
    period_start, period_end = calendar_month(message_date) if known_date else (date.min, date.min)
    patient = _patient(reader, ods)
    episode = _episode(reader, message_date)
    status = _parental_status(reader)
    children = _children(reader, period_end if known_date else None)
    if reader.errors:
        count = len(reader.errors)
        raise MappingError(f"HL7 v2 message cannot be mapped ({count} problem{'s' * (count > 1)})",
                           reader.issues + reader.errors)
    assert patient.birth_date is not None
    record = ReturnRecord(
        submission_id=submission_id, ods_code=ods, local_patient_id=patient.local_id,
        nhs_number=patient.nhs_number, nhs_number_verification=patient.nhs_number_verification,
        birth_date=patient.birth_date, gender=patient.gender, local_authority=status.local_authority,
        reporting_period_start=period_start, reporting_period_end=period_end, legal_basis=status.legal_basis,
        children=tuple(children), service_request_id=episode.service_request_id, team_type=episode.team_type,
        episode_start=episode.start, episode_status=episode.status, episode_end=episode.end,
        parental_status=status.parental_status, children_in_household=status.children_in_household,
        expecting_child=status.expecting_child, expected_due_date=status.expected_due_date,
        unborn_child_help=status.unborn_child_help, date_asked=status.date_asked, asked_by=status.asked_by,
        status_source=status.source, support_offered=status.support_offered,
    )
    return Parsed(record=record, issues=tuple(reader.issues))


class Hl7v2Parser(Parser):
    """One HL7 v2.x ADT message in ER7 encoding."""

    name = "hl7v2"
    media_types = ("x-application/hl7-v2+er7", "text/plain", "application/hl7-v2")
    extensions = (".hl7", ".er7", ".txt")

    def parse(self, text: str) -> Parsed:
        return parse_hl7v2(text)

    def describe(self) -> str:
        return "one HL7 v2.x ADT A04/A08/A28/A31 message (ER7, MLLP framing optional)"
