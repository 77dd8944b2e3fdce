"""A short, stable summary of what an input mapped to, for the examples' ``*.expected.json`` files.

Golden files of whole Bundles would break on every cosmetic change; this keeps what a reader of an example
cares about and lets tests compare exactly: status, submission, the keys every conditional update uses (the
provider-scoped identifiers), the facts of guide 0.2 a reviewer checks an input against (status, date asked,
legal basis, local authority, MHSDS service request and team type), each child's relationship, birth date and,
when sent, its think-family referral, own local authority and end, and which issues where.
"""

from __future__ import annotations

from typing import Any

from fhir_family import model as t
from fhir_family.outcome import message_id

from .pipeline import Mapped

Resource = dict[str, Any]


def summarise(mapped: Mapped) -> dict[str, Any]:
    """status, submissionId, the return's 0.2 facts, the children, the input-located issues."""
    item: dict[str, Any] = {"line": mapped.line, "status": mapped.status}
    if mapped.bundle is not None:
        resources = [entry["resource"] for entry in mapped.bundle["entry"]]
        item["submissionId"] = mapped.bundle["identifier"]["value"]
        item["legalBasis"] = _code(_extension(mapped.bundle["meta"], t.EXT_LEGAL_BASIS))
        patient = next(r for r in resources if r["resourceType"] == "Patient")
        episode = next(r for r in resources if r["resourceType"] == "EpisodeOfCare")
        item["patient"] = _patient(patient)
        item["episode"] = {
            "key": _identifier(episode, t.PROVIDER_RECORD_SYSTEM),
            "teamType": episode["type"][0]["coding"][0]["code"],
        }
        item["children"] = [_child(r) for r in resources if r["resourceType"] == "RelatedPerson"]
    item["issues"] = [
        {"severity": issue["severity"], "location": issue["location"][0], "messageId": message_id(issue)}
        for issue in mapped.outcome["issue"]
        if issue.get("location")
    ]
    return item


def _patient(patient: Resource) -> dict[str, Any]:
    status = _extension(patient, t.EXT_PARENTAL_STATUS) or {}
    parts = {part["url"]: part for part in status.get("extension", [])}
    summary: dict[str, Any] = {
        "key": _identifier(patient, t.PROVIDER_RECORD_SYSTEM),
        "status": _code(parts.get("status")),
    }
    if "dateAsked" in parts:
        summary["dateAsked"] = parts["dateAsked"]["valueDate"]
    local_authority = _extension(patient, t.EXT_LOCAL_AUTHORITY)
    if local_authority is not None:
        summary["localAuthority"] = local_authority["valueCoding"]["code"]
    return summary


def _child(person: Resource) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "key": _identifier(person, t.PROVIDER_RECORD_SYSTEM),
        "relationship": person["relationship"][0]["coding"][0]["code"],
        "birthDate": person["birthDate"],
    }
    referral = _extension(person, t.EXT_THINK_FAMILY_REFERRAL)
    if referral is not None:
        summary["thinkFamily"] = [_code(part) for part in referral["extension"]]
    local_authority = _extension(person, t.EXT_LOCAL_AUTHORITY)
    if local_authority is not None:
        summary["localAuthority"] = local_authority["valueCoding"]["code"]
    if "end" in person.get("period", {}):
        summary["ended"] = person["period"]["end"]
    return summary


def _extension(element: Resource, url: str) -> Resource | None:
    return next((ext for ext in element.get("extension", []) if ext["url"] == url), None)


def _identifier(resource: Resource, system: str) -> str | None:
    return next((i["value"] for i in resource.get("identifier", []) if i["system"] == system), None)


def _code(extension: Resource | None) -> str | None:
    return extension["valueCodeableConcept"]["coding"][0]["code"] if extension else None
