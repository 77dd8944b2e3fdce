"""The JSON payload contract (schema/ehr-payload-v2.schema.json) -> ReturnRecord.

The schema is the published contract: EHR vendors validate against it themselves, and every field's
description names the FHIR element it becomes (docs/payload.md has the table). ``jsonschema`` reports every
problem at once, each as an issue located by JSON pointer; a few rules a schema cannot say (modulus-11 check
digits, date order, the under-18 rule, child ids unique in a return) are checked after it. Names, addresses
and telecoms are accepted by the schema and never read, so they cannot reach a Bundle.

Version 2 (guide 0.2) is the only version read: version 1 cannot carry the local ids every conditional update
is keyed on, so a v1 payload is refused with one issue naming v2 instead of a list of v2's missing fields.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from fhir_family import messages as msg
from fhir_family.errors import MappingError
from fhir_family.jsontext import parse_json
from fhir_family.model import is_dependent_child
from fhir_family.outcome import Issue, IssueType

from .base import Parsed, Parser, error
from .nhs_number import is_valid_nhs_number
from .payload_fast import compile_conforms
from .record import ChildRecord, ReturnRecord

PAYLOAD_VERSION = "2"
SCHEMA_RESOURCE = f"ehr-payload-v{PAYLOAD_VERSION}.schema.json"
RETIRED_VERSIONS = frozenset({"1"})
"""``payloadVersion`` values of earlier contracts, refused with one issue naming the current version."""

Locate = Callable[[str], str]
"""Turns a JSON pointer into a location in the sender's input (a CSV column, an NDJSON line ...)."""

MSG_JSON = msg.MAP_JSON
MSG_SCHEMA = msg.MAP_SCHEMA
MSG_NHS = msg.MAP_NHS_NUMBER
MSG_DATE_ORDER = msg.MAP_DATE_ORDER
MSG_CHILD_AGE = msg.MAP_CHILD_AGE


@cache
def payload_schema() -> dict[str, Any]:
    """The published JSON Schema (Draft 2020-12) of the payload, as shipped in the package."""
    text = resources.files("fhir_family.mapping").joinpath("schema", SCHEMA_RESOURCE).read_text("utf-8")
    return json.loads(text)


def inline_refs(node: Any, defs: dict[str, Any], inside: tuple[str, ...] = ()) -> Any:
    """``node`` with each ``{"$ref": "#/$defs/x", ...}`` replaced by ``{"allOf": [x], ...}`` (x inlined too).

    The same validation (in Draft 2020-12 a ``$ref`` applies beside its sibling keywords, as ``allOf``
    does) and the same errors, without jsonschema resolving a reference at every use, which was a third
    of the schema's cost per payload. A recursive definition keeps its ``$ref`` (``$defs`` stays)."""
    if isinstance(node, list):
        return [inline_refs(item, defs, inside) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: inline_refs(value, defs, inside) if key != "$defs" else value for key, value in node.items()}
    ref = out.get("$ref")
    name = ref[len("#/$defs/") :] if isinstance(ref, str) and ref.startswith("#/$defs/") else None
    if name is None or name not in defs or name in inside or "allOf" in out:
        return out
    target = inline_refs(defs[name], defs, (*inside, name))
    if len(out) == 1:
        return target
    # "allOf" where "$ref" was: keywords keep their order, so errors come in the same order
    return dict(("allOf", [target]) if key == "$ref" else (key, value) for key, value in out.items())


@cache
def _schema_validator() -> Draft202012Validator:
    schema = payload_schema()
    flat = inline_refs(schema, schema.get("$defs", {}))
    return Draft202012Validator(flat, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _pointer(path: Any) -> str:
    return "".join(f"/{str(part).replace('~', '~0').replace('/', '~1')}" for part in path) or "/"


def _schema_issue(err: ValidationError, locate: Locate) -> Iterator[Issue]:
    pointer = _pointer(err.absolute_path)
    if err.validator == "required":
        present = err.instance if isinstance(err.instance, dict) else {}
        for name in err.validator_value:
            if name not in present:
                where = locate(f"{pointer.rstrip('/')}/{name}")
                yield error(IssueType.REQUIRED, f"Required field {name!r} is missing", where, MSG_SCHEMA)
        return
    if err.validator == "dependentRequired":
        present = err.instance if isinstance(err.instance, dict) else {}
        for name, needs in err.validator_value.items():
            for need in (need for need in needs if name in present and need not in present):
                where = locate(f"{pointer.rstrip('/')}/{need}")
                yield error(IssueType.REQUIRED, f"Field {need!r} is required when {name!r} is sent", where,
                            MSG_SCHEMA)
        return
    if err.validator == "additionalProperties":
        allowed = set(err.schema.get("properties", {}))
        for name in sorted(set(err.instance) - allowed):
            where = locate(f"{pointer.rstrip('/')}/{name}")
            text = f"Unknown field {name!r}: not part of payload v{PAYLOAD_VERSION}"
            yield error(IssueType.STRUCTURE, text, where, MSG_SCHEMA)
        return
    if err.validator == "enum":
        allowed = ", ".join(str(v) for v in err.validator_value)
        text = f"Code {err.instance!r} is not allowed here; expected one of: {allowed}"
        yield error(IssueType.CODE_INVALID, text, locate(pointer), MSG_SCHEMA)
        return
    described = err.schema.get("description") if isinstance(err.schema, dict) else None
    if err.validator == "maxItems" and err.validator_value > 0 and "then" not in err.relative_schema_path:
        # The schema's description says what the field is, not what is wrong with it: say the limit.
        text = f"Too many entries: at most {err.validator_value} allowed here, found {len(err.instance)}"
    elif described and (err.validator == "not" or "then" in err.relative_schema_path):
        # a rule (``if``/``then``, ``not``) says in its description what it requires
        text = described
    elif err.validator == "pattern":
        text = f"Value {err.instance!r} has the wrong format (expected to match {err.validator_value})"
    else:
        text = err.message
    code = IssueType.STRUCTURE if err.validator == "type" else IssueType.VALUE
    yield error(code, text, locate(pointer), MSG_SCHEMA)


@cache
def _fast_conforms() -> Callable[[Any], bool] | None:
    schema = payload_schema()
    return compile_conforms(inline_refs(schema, schema.get("$defs", {})))


def schema_issues(payload: Any, locate: Locate = lambda p: p) -> list[Issue]:
    """Every way ``payload`` breaks the schema, one issue per problem, in document order. A payload the
    compiled check (``payload_fast``) finds conforming has none; any other is judged by jsonschema."""
    fast = _fast_conforms()
    if fast is not None and fast(payload):
        return []
    errors = sorted(_schema_validator().iter_errors(payload), key=lambda e: [str(p) for p in e.absolute_path])
    return [issue for err in errors for issue in _schema_issue(err, locate)]


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _semantic_issues(payload: dict[str, Any], locate: Locate) -> list[Issue]:
    """Rules the schema cannot state: check digits, date order, children under 18 on the reporting date,
    child ids unique in the return (two children with one id would be one conditional update)."""
    issues: list[Issue] = []

    def check_nhs(value: str | None, pointer: str) -> None:
        if value is not None and not is_valid_nhs_number(value):
            text = f"NHS number {value!r} fails the modulus-11 check digit"
            issues.append(error(IssueType.VALUE, text, locate(pointer), MSG_NHS))

    def check_order(start: str | None, end: str | None, pointer: str, what: str) -> None:
        if start and end and end < start:
            text = f"{what} ends ({end}) before it starts ({start})"
            issues.append(error(IssueType.VALUE, text, locate(pointer), MSG_DATE_ORDER))

    period = payload["reportingPeriod"]
    check_order(period["start"], period["end"], "/reportingPeriod/end", "The reporting period")
    check_order(payload["episode"]["start"], payload["episode"].get("end"), "/episode/end", "The episode")
    check_nhs(payload["patient"]["nhsNumber"], "/patient/nhsNumber")
    reporting_date = date.fromisoformat(period["end"])
    first_with_id: dict[str, int] = {}
    for index, child in enumerate(payload["children"]):
        check_nhs(child.get("nhsNumber"), f"/children/{index}/nhsNumber")
        local_id = child["localId"]
        if local_id in first_with_id:
            text = (f"Child localId {local_id!r} is also /children/{first_with_id[local_id]}: each child of "
                    "a return needs its own id (it keys the child's conditional update)")
            issues.append(error(IssueType.DUPLICATE, text, locate(f"/children/{index}/localId"), MSG_SCHEMA))
        first_with_id.setdefault(local_id, index)
        ended_at = f"/children/{index}/ended"
        check_order(child["birthDate"], child.get("ended"), ended_at, "The child's dependence")
        born = date.fromisoformat(child["birthDate"])
        where = locate(f"/children/{index}/birthDate")
        if born > reporting_date:
            text = f"Child born {born}, after the reporting date {reporting_date}: record an expected child"
            issues.append(error(IssueType.BUSINESS_RULE, text, where, MSG_CHILD_AGE))
        elif not is_dependent_child(born, reporting_date):
            text = f"Child born {born} is 18 or over on the reporting date {reporting_date}: not dependent"
            issues.append(error(IssueType.BUSINESS_RULE, text, where, MSG_CHILD_AGE))
    return issues


def _child(child: dict[str, Any]) -> ChildRecord:
    responsibility = child["parentalResponsibility"]
    think_family = child.get("thinkFamily", {})
    return ChildRecord(
        local_id=child["localId"],
        relationship=child["relationship"],
        birth_date=date.fromisoformat(child["birthDate"]),
        pr_held=responsibility["held"],
        pr_basis=tuple(responsibility.get("basis", ())),
        pr_restriction=tuple(responsibility.get("restriction", ())),
        residence=child["residence"],
        young_carer=child["youngCarer"],
        help=tuple(child["help"]),
        nhs_number=child.get("nhsNumber"),
        nhs_number_verification=child.get("nhsNumberVerification"),
        gender=child.get("gender"),
        local_authority=child.get("localAuthority"),
        think_family_action=think_family.get("action"),
        think_family_outcome=think_family.get("outcome"),
        ended=_date(child.get("ended")),
    )


def _retired_version(payload: Any, locate: Locate) -> list[Issue]:
    """One issue for a version 1 payload: v2's thirty missing fields would hide what is actually wrong."""
    version = payload.get("payloadVersion") if isinstance(payload, dict) else None
    if not isinstance(version, str) or version not in RETIRED_VERSIONS:
        return []
    text = (f"Payload version {version!r} is no longer accepted: send payloadVersion "
            f"\"{PAYLOAD_VERSION}\" ({SCHEMA_RESOURCE}, docs/payload.md), which carries the local patient "
            "and child ids, the MHSDS service request id and team type, the local authority and the legal "
            "basis that guide 0.2 requires")
    return [error(IssueType.NOT_SUPPORTED, text, locate("/payloadVersion"), MSG_SCHEMA)]


def payload_to_record(payload: Any, locate: Locate = lambda p: p) -> ReturnRecord:
    """Check ``payload`` against the contract and build its ReturnRecord; MappingError lists every problem."""
    issues = _retired_version(payload, locate) or schema_issues(payload, locate)
    if not issues:
        issues = _semantic_issues(payload, locate)
    if issues:
        count = len(issues)
        raise MappingError(f"payload does not meet the contract ({count} problem{'s' * (count > 1)})", issues)
    period, provider = payload["reportingPeriod"], payload["provider"]
    patient, episode, status = payload["patient"], payload["episode"], payload["parentalStatus"]
    return ReturnRecord(
        submission_id=payload["submissionId"],
        ods_code=provider["odsCode"],
        organisation_name=provider.get("name"),
        local_patient_id=patient["localId"],
        nhs_number=patient["nhsNumber"],
        nhs_number_verification=patient.get("nhsNumberVerification"),
        birth_date=date.fromisoformat(patient["birthDate"]),
        gender=patient["gender"],
        local_authority=patient.get("localAuthority"),
        parental_status=status["status"],
        children_in_household=status.get("childrenInHousehold"),
        expecting_child=status.get("expectingChild"),
        expected_due_date=_date(status.get("expectedDueDate")),
        unborn_child_help=status.get("unbornChildHelp"),
        date_asked=_date(status.get("dateAsked")),
        asked_by=status.get("askedBy"),
        status_source=status.get("source"),
        support_offered=tuple(status.get("supportOffered", ())),
        reporting_period_start=date.fromisoformat(period["start"]),
        reporting_period_end=date.fromisoformat(period["end"]),
        legal_basis=payload["legalBasis"],
        service_request_id=episode["serviceRequestId"],
        team_type=episode["teamType"],
        episode_start=date.fromisoformat(episode["start"]),
        episode_end=_date(episode.get("end")),
        episode_status=episode["status"],
        children=tuple(_child(child) for child in payload["children"]),
    )


def load_json(text: str) -> Any:
    """The payload document's JSON; not JSON is an InputError naming the line and column."""
    return parse_json(text, MSG_JSON)


class JsonPayloadParser(Parser):
    """One JSON payload document (contract v2)."""

    name = "json"
    media_types = ("application/json", "application/fhir+json")
    extensions = (".json",)

    def parse(self, text: str) -> Parsed:
        return Parsed(record=payload_to_record(load_json(text)))

    def describe(self) -> str:
        return f"one JSON payload (schema ehr-payload-v{PAYLOAD_VERSION})"
