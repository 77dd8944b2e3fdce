"""A short, stable summary of what an input mapped to, for the examples' ``*.expected.json`` files.

Golden files of whole Bundles would break on every cosmetic change; this keeps what a reader of an example
cares about (status, submission, which children, which issues where) and lets tests compare exactly.
"""

from __future__ import annotations

from typing import Any

from fhir_family.outcome import message_id

from .pipeline import Mapped


def summarise(mapped: Mapped) -> dict[str, Any]:
    """status, submissionId, the children's relationship codes and birth dates, the input-located issues."""
    item: dict[str, Any] = {"line": mapped.line, "status": mapped.status}
    if mapped.bundle is not None:
        item["submissionId"] = mapped.bundle["identifier"]["value"]
        item["children"] = [
            {
                "relationship": entry["resource"]["relationship"][0]["coding"][0]["code"],
                "birthDate": entry["resource"]["birthDate"],
            }
            for entry in mapped.bundle["entry"]
            if entry["resource"]["resourceType"] == "RelatedPerson"
        ]
    item["issues"] = [
        {"severity": issue["severity"], "location": issue["location"][0], "messageId": message_id(issue)}
        for issue in mapped.outcome["issue"]
        if issue.get("location")
    ]
    return item
