"""Export pseudonymised returns as Bulk Data NDJSON: one file per resource type plus ``manifest.json``.

Layout follows the FHIR Bulk Data Access ``$export`` output (http://hl7.org/fhir/uv/bulkdata/export.html):
each line of ``Patient.ndjson`` etc. is one complete resource as compact JSON, so ``spark.read.json(folder)``
or Pathling reads it as-is. Only current returns are exported unless asked (superseded ones are history).
References between resources are ``Type/id`` (resolved when the return was stored), so they join across
files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select

from ..private_files import open_private, private_folder
from .database import READ_ONLY
from .schema import CURRENT, StoredResource, Submission

RESOURCE_TYPES = ("Organization", "Patient", "EpisodeOfCare", "RelatedPerson")


@dataclass(frozen=True)
class ExportResult:
    manifest: dict
    folder: Path


def export_ndjson(
    engine: Engine, folder: Path, include_superseded: bool = False, request: str = ""
) -> ExportResult:
    """Write ``{Type}.ndjson`` for each resource type that has rows, and ``manifest.json``; returns both."""
    private_folder(folder)  # the export is pseudonymised but still personal data: folder 0700, files 0600
    transaction_time = datetime.now(UTC).replace(microsecond=0).isoformat()
    output = []
    with engine.connect().execution_options(**READ_ONLY) as conn:
        for resource_type in RESOURCE_TYPES:
            query = (
                select(StoredResource.body)
                .join(Submission, Submission.id == StoredResource.submission_pk)
                .where(StoredResource.resource_type == resource_type)
                .order_by(Submission.id, StoredResource.position)
            )
            if not include_superseded:
                query = query.where(Submission.status == CURRENT)
            path = folder / f"{resource_type}.ndjson"
            count = 0
            with open_private(path) as out:
                for (body,) in conn.execute(query.execution_options(stream_results=True, yield_per=500)):
                    # Stored bodies are already compact canonical JSON; re-dumping would only cost time.
                    out.write(body)
                    out.write("\n")
                    count += 1
            if count:
                output.append({"type": resource_type, "url": path.resolve().as_uri(), "count": count})
            else:
                path.unlink()
    manifest = {
        "transactionTime": transaction_time,
        "request": request or "fhir-family export",
        "requiresAccessToken": False,
        "output": output,
        "error": [],
    }
    with open_private(folder / "manifest.json") as out:
        out.write(json.dumps(manifest, indent=2) + "\n")
    return ExportResult(manifest, folder)
