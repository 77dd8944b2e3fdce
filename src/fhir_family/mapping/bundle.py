"""ReturnRecord -> NationalReturnBundle: the one place that writes the guide's FHIR resources.

Every input format ends here, so the shape of the national return is decided once (docs/model.md, "The
national-return Bundle"). Each resource comes from a pure ``to_fhir_*`` function returning a plain dict; the
dicts are built field by field, never by string templating. The builder places codes; it does not judge them:
a code outside its ValueSet is carried through (without a display) so the validator can report it with a
precise location, rather than failing here with less context.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from fhir_family import model as t
from fhir_family.mapping.ids import entry_full_url
from fhir_family.mapping.record import ChildRecord, ReturnRecord

Resource = dict[str, Any]


def build_bundle(record: ReturnRecord) -> Resource:
    """The NationalReturnBundle (a FHIR R4 transaction Bundle) for one patient's return.

    https://hl7.org/fhir/R4/bundle.html. Entries: Organization, Patient, EpisodeOfCare, then one
    RelatedPerson per child, in the record's order. Every entry but the Organization is a conditional update
    on its provider-scoped identifier (guide.md 0.7), so loading the same return twice changes nothing and two
    providers never write the same resource. The return's own facts (reporting period, legal basis) are on
    ``Bundle.meta``: an R4 Bundle has no extensions of its own, and they belong to the return, not the person.
    The same record always gives the same dict.
    """
    org_url = entry_full_url(record.submission_id, "organization")
    patient_url = entry_full_url(record.submission_id, "patient")
    episode_url = entry_full_url(record.submission_id, "episode")
    patient_key = provider_record_value(record.ods_code, record.local_patient_id)
    entries = [
        _entry(org_url, to_fhir_organization(record), _organization_request(record)),
        _entry(patient_url, to_fhir_patient(record, org_url), _conditional_put("Patient", patient_key)),
        _entry(
            episode_url,
            to_fhir_episode_of_care(record, patient_url, org_url),
            _conditional_put("EpisodeOfCare", episode_key(record)),
        ),
    ]
    for position, child in enumerate(record.children):
        child_url = entry_full_url(record.submission_id, "child", position)
        entries.append(
            _entry(
                child_url,
                to_fhir_related_person(child, patient_url, record),
                _conditional_put("RelatedPerson", child_key(record, child)),
            )
        )
    return {
        "resourceType": "Bundle",
        "meta": {
            "extension": [
                {
                    "url": t.EXT_REPORTING_PERIOD,
                    "valuePeriod": {
                        "start": _date(record.reporting_period_start),
                        "end": _date(record.reporting_period_end),
                    },
                },
                {
                    "url": t.EXT_LEGAL_BASIS,
                    "valueCodeableConcept": _concept(t.LEGAL_BASIS_SYSTEM, record.legal_basis, t.LEGAL_BASIS),
                },
            ],
            "profile": [t.NATIONAL_RETURN_BUNDLE],
        },
        "identifier": {"system": t.SUBMISSION_SYSTEM, "value": record.submission_id},
        "type": "transaction",
        # When the return was assembled (the guide's meaning): now, unless the record fixes it (the committed
        # examples do, so they stay byte-for-byte reproducible).
        "timestamp": _instant(record.timestamp or datetime.now(UTC).replace(microsecond=0)),
        "entry": entries,
    }


def provider_record_value(ods_code: str, *local_ids: str) -> str:
    """A provider-scoped business identifier: ``<ODS>/<local id>[/<local child id>]``.

    Each local id is percent-encoded (``/`` and ``%`` included), so two different id pairs can never give the
    same value, whatever characters a vendor's ids contain. ODS codes are alphanumeric.
    """
    return "/".join((ods_code, *(quote(local_id, safe="") for local_id in local_ids)))


def episode_key(record: ReturnRecord) -> str:
    """The MentalHealthEpisode's provider-scoped identifier: the ODS code and the MHSDS service request id."""
    return provider_record_value(record.ods_code, record.service_request_id)


def child_key(record: ReturnRecord, child: ChildRecord) -> str:
    """A DependentChild's provider-scoped identifier: ODS code, the patient's and the child's local ids."""
    return provider_record_value(record.ods_code, record.local_patient_id, child.local_id)


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

    Identity is the NHS number (with its UK Core verification status), the provider's own patient id and the
    date of birth only: no name, telecom, address or text (data minimisation); geography is the local
    authority's GSS code, never an address.
    """
    extensions = [parental_status_extension(record)]
    if record.local_authority is not None:
        extensions.append(local_authority_extension(record.local_authority))
    return {
        "resourceType": "Patient",
        "meta": {"profile": [t.PARENT_PATIENT]},
        "extension": extensions,
        "identifier": [
            nhs_number_identifier(record.nhs_number, record.nhs_number_verification),
            {"system": t.PROVIDER_RECORD_SYSTEM,
             "value": provider_record_value(record.ods_code, record.local_patient_id)},
        ],
        "gender": record.gender,
        "birthDate": _date(record.birth_date),
        "managingOrganization": {"reference": organization_ref},
    }


def nhs_number_identifier(
    nhs_number: str, verification: str | None, extension_url: str = t.NHS_NUMBER_VERIFICATION_EXT
) -> Resource:
    """An NHS number identifier, with its verification status when known: UK Core's extension on a Patient,
    the guide's ``child-nhs-number-verification`` on a RelatedPerson (UK Core's is for Patient only)."""
    identifier: Resource = {}
    if verification is not None:
        identifier["extension"] = [
            {
                "url": extension_url,
                "valueCodeableConcept": _concept(
                    t.NHS_NUMBER_VERIFICATION_SYSTEM, verification, t.NHS_NUMBER_VERIFICATION
                ),
            }
        ]
    identifier.update({"system": t.NHS_NUMBER_SYSTEM, "value": nhs_number})
    return identifier


def local_authority_extension(gss_code: str) -> Resource:
    """The ``local-authority`` extension: a local authority of residence as its ONS GSS code."""
    return {"url": t.EXT_LOCAL_AUTHORITY, "valueCoding": {"system": t.GSS_SYSTEM, "code": gss_code}}


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
    if record.date_asked is not None:
        parts.append({"url": "dateAsked", "valueDate": _date(record.date_asked)})
    if record.asked_by is not None:
        parts.append(
            {"url": "askedBy", "valueCodeableConcept": _concept(t.ASKED_BY_ROLE_SYSTEM, record.asked_by,
                                                                 t.ASKED_BY_ROLE)}
        )
    if record.status_source is not None:
        parts.append(
            {"url": "source", "valueCodeableConcept": _concept(t.STATUS_SOURCE_SYSTEM, record.status_source,
                                                               t.STATUS_SOURCE)}
        )
    parts.extend(
        {"url": "supportOffered", "valueCodeableConcept": _concept(t.SUPPORT_OFFERED_SYSTEM, code,
                                                                   t.SUPPORT_OFFERED)}
        for code in _codes(record.support_offered)
    )
    return {"url": t.EXT_PARENTAL_STATUS, "extension": parts}


def to_fhir_episode_of_care(record: ReturnRecord, patient_ref: str, organization_ref: str) -> Resource:
    """The mental health service episode that puts the parent in scope (https://hl7.org/fhir/R4/episodeofcare.html).

    Its MHSDS service request id and team type join the return to MHSDS and let the collector check the scope.
    """
    period = {"start": _date(record.episode_start)}
    if record.episode_end is not None:
        period["end"] = _date(record.episode_end)
    return {
        "resourceType": "EpisodeOfCare",
        "meta": {"profile": [t.MENTAL_HEALTH_EPISODE]},
        "identifier": [
            {"system": t.PROVIDER_RECORD_SYSTEM, "value": episode_key(record)},
            {"system": t.MHSDS_SERVICE_REQUEST_SYSTEM, "value": record.service_request_id},
        ],
        "status": record.episode_status,
        "type": [_concept(t.MHSDS_TEAM_TYPE_SYSTEM, record.team_type, t.MHSDS_TEAM_TYPE)],
        "patient": {"reference": patient_ref},
        "managingOrganization": {"reference": organization_ref},
        "period": period,
    }


def to_fhir_related_person(child: ChildRecord, patient_ref: str, record: ReturnRecord) -> Resource:
    """One dependent child as a DependentChild RelatedPerson (https://hl7.org/fhir/R4/relatedperson.html).

    ``relationship`` is the role the child plays towards the patient; the extensions say what the patient's
    parental responsibility is, where the child lives, whether the child is a young carer, what help the
    child has (one ``help-and-protection`` extension per kind of help), any think-family referral and, where
    it differs from the patient's, the child's local authority. An ended child has ``period.end``.
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
    if child.think_family_action is not None:
        extensions.append(think_family_extension(child))
    if child.local_authority is not None:
        extensions.append(local_authority_extension(child.local_authority))
    identifiers: list[Resource] = []
    if child.nhs_number is not None:
        identifiers.append(
            nhs_number_identifier(
                child.nhs_number, child.nhs_number_verification, t.EXT_CHILD_NHS_NUMBER_VERIFICATION
            )
        )
    identifiers.append({"system": t.PROVIDER_RECORD_SYSTEM, "value": child_key(record, child)})
    person: Resource = {
        "resourceType": "RelatedPerson",
        "meta": {"profile": [t.DEPENDENT_CHILD]},
        "extension": extensions,
        "identifier": identifiers,
    }
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
    if child.ended is not None:
        person["period"] = {"end": _date(child.ended)}
    return person


def think_family_extension(child: ChildRecord) -> Resource:
    """The ``think-family-referral`` extension: the ``action`` taken and, when known, its ``outcome``."""
    parts: list[Resource] = [
        {
            "url": "action",
            "valueCodeableConcept": _concept(
                t.THINK_FAMILY_ACTION_SYSTEM, child.think_family_action or "", t.THINK_FAMILY_ACTION
            ),
        }
    ]
    if child.think_family_outcome is not None:
        parts.append(
            {
                "url": "outcome",
                "valueCodeableConcept": _concept(
                    t.THINK_FAMILY_OUTCOME_SYSTEM, child.think_family_outcome, t.THINK_FAMILY_OUTCOME
                ),
            }
        )
    return {"url": t.EXT_THINK_FAMILY_REFERRAL, "extension": parts}


def parental_responsibility_extension(child: ChildRecord) -> Resource:
    """The patient's parental responsibility for this child: ``held``, each legal ``basis`` (how it was
    acquired), then each ``restriction`` (what shares or limits it)."""
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
    parts.extend(
        {
            "url": "restriction",
            "valueCodeableConcept": _concept(t.PR_RESTRICTION_SYSTEM, code, t.PR_RESTRICTION),
        }
        for code in _codes(child.pr_restriction)
    )
    return {"url": t.EXT_PARENTAL_RESPONSIBILITY, "extension": parts}


def _organization_request(record: ReturnRecord) -> Resource:
    # Conditional create: a provider's Organization is created once, however many returns it sends, and a
    # return never changes it (http.html, "Conditional create").
    return {
        "method": "POST",
        "url": "Organization",
        "ifNoneExist": identifier_query(t.ODS_SYSTEM, record.ods_code),
    }


def _conditional_put(resource_type: str, provider_key: str) -> Resource:
    # Conditional update on the provider-scoped identifier (http.html, "Conditional update"): no match
    # creates, one match updates that resource, so a resend or next month's return updates in place.
    query = identifier_query(t.PROVIDER_RECORD_SYSTEM, provider_key)
    return {"method": "PUT", "url": f"{resource_type}?{query}"}


def identifier_query(system: str, value: str) -> str:
    """The FHIR search ``identifier=system|value`` for a conditional create or update.

    Search-special characters in each part are escaped with a backslash (``\\ | , $``, FHIR search "Escaping
    Search Parameters") and anything that would break a URL query is percent-encoded, so a vendor's episode id
    such as ``EP 7&8`` cannot split the query. ``:`` and ``/`` stay readable: NHS numbers, ODS codes and
    system URLs come out unchanged.
    """
    return f"identifier={_system_token(system)}|{_search_token(value)}"


_SEARCH_ESCAPES = str.maketrans({char: f"\\{char}" for char in "\\|,$"})


@lru_cache(maxsize=64)
def _system_token(system: str) -> str:
    """A code system's search token: a handful of constant URLs, escaped once each."""
    return _search_token(system)


def _search_token(part: str) -> str:
    return quote(part.translate(_SEARCH_ESCAPES), safe=":/")


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
