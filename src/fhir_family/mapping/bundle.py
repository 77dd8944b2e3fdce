"""ReturnRecord -> NationalReturnBundle: the one place that writes the guide's FHIR resources.

Every input format ends here, so the shape of the national return is decided once (docs/model.md, "The
national-return Bundle"). Each resource comes from a pure ``to_fhir_*`` function returning a plain dict; the
dicts are built field by field, never by string templating. The builder places codes; it does not judge them:
a code outside its ValueSet is carried through (without a display) so the validator can report it with a
precise location, rather than failing here with less context.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import quote

from fhir_family import model as t
from fhir_family.mapping.ids import entry_full_url
from fhir_family.mapping.record import ChildRecord, ReturnRecord

Resource = dict[str, Any]


def build_bundle(record: ReturnRecord) -> Resource:
    """The NationalReturnBundle (a FHIR R4 transaction Bundle) for one patient's return.

    https://hl7.org/fhir/R4/bundle.html. Entries: Organization, Patient, EpisodeOfCare, then one
    RelatedPerson per child, in the record's order. The same record always gives the same dict.
    """
    org_url = entry_full_url(record.submission_id, "organization")
    patient_url = entry_full_url(record.submission_id, "patient")
    episode_url = entry_full_url(record.submission_id, "episode")
    entries = [
        _entry(org_url, to_fhir_organization(record), _organization_request(record)),
        _entry(patient_url, to_fhir_patient(record, org_url), _patient_request(record)),
        _entry(episode_url, to_fhir_episode_of_care(record, patient_url, org_url), _episode_request(record)),
    ]
    for position, child in enumerate(record.children):
        child_url = entry_full_url(record.submission_id, "child", position)
        entries.append(
            _entry(
                child_url,
                to_fhir_related_person(child, patient_url),
                {"method": "POST", "url": "RelatedPerson"},
            )
        )
    return {
        "resourceType": "Bundle",
        "meta": {"profile": [t.NATIONAL_RETURN_BUNDLE]},
        "identifier": {"system": t.SUBMISSION_SYSTEM, "value": record.submission_id},
        "type": "transaction",
        "timestamp": _instant(record.timestamp or datetime.combine(record.reporting_period_end, time(), UTC)),
        "entry": entries,
    }


def to_fhir_organization(record: ReturnRecord) -> Resource:
    """The submitting provider as a ReportingProvider Organization (https://hl7.org/fhir/R4/organization.html)."""
    organization: Resource = {
        "resourceType": "Organization",
        "meta": {"profile": [t.REPORTING_PROVIDER]},
        "identifier": [{"system": t.ODS_SYSTEM, "value": record.ods_code}],
    }
    if record.organisation_name:
        organization["name"] = record.organisation_name
    return organization


def to_fhir_patient(record: ReturnRecord, organization_ref: str) -> Resource:
    """The adult patient as a ParentPatient (https://hl7.org/fhir/R4/patient.html).

    Identity is the NHS number and date of birth only: no name, telecom, address or text (data minimisation).
    """
    return {
        "resourceType": "Patient",
        "meta": {"profile": [t.PARENT_PATIENT]},
        "extension": [parental_status_extension(record)],
        "identifier": [{"system": t.NHS_NUMBER_SYSTEM, "value": record.nhs_number}],
        "gender": record.gender,
        "birthDate": _date(record.birth_date),
        "managingOrganization": {"reference": organization_ref},
    }


def parental_status_extension(record: ReturnRecord) -> Resource:
    """The complex ``parental-status`` extension, sub-extensions in the order docs/model.md lists them."""
    parts: list[Resource] = [
        {
            "url": "status",
            "valueCodeableConcept": _concept(
                t.PARENTAL_STATUS_SYSTEM, record.parental_status, t.PARENTAL_STATUS
            ),
        },
    ]
    if record.children_in_household is not None:
        parts.append({"url": "childrenInHousehold", "valueUnsignedInt": record.children_in_household})
    if record.expecting_child is not None:
        parts.append({"url": "expectingChild", "valueBoolean": record.expecting_child})
    if record.expected_due_date is not None:
        parts.append({"url": "expectedDueDate", "valueDate": _date(record.expected_due_date)})
    if record.unborn_child_help is not None:
        parts.append(
            {
                "url": "unbornChildHelp",
                "valueCodeableConcept": _concept(
                    t.HELP_AND_PROTECTION_SYSTEM, record.unborn_child_help, t.HELP_AND_PROTECTION
                ),
            }
        )
    parts.append(
        {
            "url": "reportingPeriod",
            "valuePeriod": {
                "start": _date(record.reporting_period_start),
                "end": _date(record.reporting_period_end),
            },
        }
    )
    if record.date_recorded is not None:
        parts.append({"url": "dateRecorded", "valueDate": _date(record.date_recorded)})
    return {"url": t.EXT_PARENTAL_STATUS, "extension": parts}


def to_fhir_episode_of_care(record: ReturnRecord, patient_ref: str, organization_ref: str) -> Resource:
    """The mental health service episode that puts the parent in scope (https://hl7.org/fhir/R4/episodeofcare.html)."""
    episode: Resource = {
        "resourceType": "EpisodeOfCare",
        "meta": {"profile": [t.MENTAL_HEALTH_EPISODE]},
    }
    if record.episode_identifier is not None:
        system, value = record.episode_identifier
        episode["identifier"] = [{"system": system, "value": value}]
    period = {"start": _date(record.episode_start)}
    if record.episode_end is not None:
        period["end"] = _date(record.episode_end)
    episode.update(
        {
            "status": record.episode_status,
            "patient": {"reference": patient_ref},
            "managingOrganization": {"reference": organization_ref},
            "period": period,
        }
    )
    return episode


def to_fhir_related_person(child: ChildRecord, patient_ref: str) -> Resource:
    """One dependent child as a DependentChild RelatedPerson (https://hl7.org/fhir/R4/relatedperson.html).

    ``relationship`` is the role the child plays towards the patient; the extensions say what the patient's
    parental responsibility is, where the child lives, whether the child is a young carer and what help the
    child has (one ``help-and-protection`` extension per kind of help).
    """
    extensions: list[Resource] = [
        parental_responsibility_extension(child),
        {
            "url": t.EXT_CHILD_RESIDENCE,
            "valueCodeableConcept": _concept(t.CHILD_RESIDENCE_SYSTEM, child.residence, t.CHILD_RESIDENCE),
        },
        {
            "url": t.EXT_YOUNG_CARER,
            "valueCodeableConcept": _concept(t.YES_NO_UNKNOWN_SYSTEM, child.young_carer, t.YES_NO_UNKNOWN),
        },
    ]
    extensions.extend(
        {
            "url": t.EXT_HELP_AND_PROTECTION,
            "valueCodeableConcept": _concept(t.HELP_AND_PROTECTION_SYSTEM, code, t.HELP_AND_PROTECTION),
        }
        for code in _codes(child.help)
    )
    person: Resource = {
        "resourceType": "RelatedPerson",
        "meta": {"profile": [t.DEPENDENT_CHILD]},
        "extension": extensions,
    }
    if child.nhs_number is not None:
        person["identifier"] = [{"system": t.NHS_NUMBER_SYSTEM, "value": child.nhs_number}]
    relationship_system = t.relationship_system(child.relationship)
    person["patient"] = {"reference": patient_ref}
    person["relationship"] = [
        {
            "coding": [
                _coding(relationship_system, child.relationship, t.relationship_display(child.relationship))
            ]
        }
    ]
    if child.gender is not None:
        person["gender"] = child.gender
    if child.birth_date is not None:
        person["birthDate"] = _date(child.birth_date)
    return person


def parental_responsibility_extension(child: ChildRecord) -> Resource:
    """The patient's parental responsibility for this child: ``held`` then each legal ``basis``."""
    parts: list[Resource] = [
        {
            "url": "held",
            "valueCodeableConcept": _concept(t.YES_NO_UNKNOWN_SYSTEM, child.pr_held, t.YES_NO_UNKNOWN),
        },
    ]
    parts.extend(
        {"url": "basis", "valueCodeableConcept": _concept(t.PR_BASIS_SYSTEM, code, t.PR_BASIS)}
        for code in _codes(child.pr_basis)
    )
    return {"url": t.EXT_PARENTAL_RESPONSIBILITY, "extension": parts}


def _organization_request(record: ReturnRecord) -> Resource:
    # Conditional create: a provider's Organization is created once, however many returns it sends.
    return {
        "method": "POST",
        "url": "Organization",
        "ifNoneExist": identifier_query(t.ODS_SYSTEM, record.ods_code),
    }


def _patient_request(record: ReturnRecord) -> Resource:
    # Conditional update on the NHS number: a resend updates the same Patient instead of creating another.
    return {"method": "PUT", "url": f"Patient?{identifier_query(t.NHS_NUMBER_SYSTEM, record.nhs_number)}"}


def _episode_request(record: ReturnRecord) -> Resource:
    request: Resource = {"method": "POST", "url": "EpisodeOfCare"}
    if record.episode_identifier is not None:
        system, value = record.episode_identifier
        request["ifNoneExist"] = identifier_query(system, value)
    return request


def identifier_query(system: str, value: str) -> str:
    """The FHIR search ``identifier=system|value`` for a conditional create or update.

    Search-special characters in each part are escaped with a backslash (``\\ | , $``, FHIR search "Escaping
    Search Parameters") and anything that would break a URL query is percent-encoded, so a vendor's episode id
    such as ``EP 7&8`` cannot split the query. ``:`` and ``/`` stay readable: NHS numbers, ODS codes and
    system URLs come out unchanged.
    """
    return f"identifier={_search_token(system)}|{_search_token(value)}"


def _search_token(part: str) -> str:
    escaped = "".join(f"\\{char}" if char in "\\|,$" else char for char in part)
    return quote(escaped, safe=":/")


def _codes(codes: str | tuple[str, ...]) -> tuple[str, ...]:
    """A repeating code field; a bare string is one code (never iterated character by character)."""
    return (codes,) if isinstance(codes, str) else tuple(codes)


def _entry(full_url: str, resource: Resource, request: Resource) -> Resource:
    return {"fullUrl": full_url, "resource": resource, "request": request}


def _concept(system: str, code: str, displays: Mapping[str, str]) -> Resource:
    return {"coding": [_coding(system, code, displays.get(code))]}


def _coding(system: str, code: str, display: str | None) -> Resource:
    coding = {"system": system, "code": code}
    if display is not None:
        coding["display"] = display
    return coding


def _date(value: date) -> str:
    return value.isoformat()


def _instant(value: datetime) -> str:
    """A FHIR instant; a naive datetime is taken as UTC, and UTC is written with ``Z``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
