"""Export pseudonymised returns as Bulk Data NDJSON: one file per resource type plus ``manifest.json``, and
the same resources as Parquet beside them.

Layout follows the FHIR Bulk Data Access ``$export`` output (http://hl7.org/fhir/uv/bulkdata/export.html):
each line of ``Patient.ndjson`` etc. is one complete resource as compact JSON, so ``spark.read.json(folder)``
or Pathling reads it as-is. Only current returns are exported unless asked (superseded ones are history).
References between resources are ``Type/id`` (resolved when the return was stored), so they join across
files.

What the export changes from the stored returns, so that it matches the guide:

* **One Organization per ODS code.** Every return carries its provider's Organization; exported once, with an
  id derived from the ODS code (the same in every export), from the provider's latest return, and every
  ``Organization/...`` reference points at it.
* **The pseudonymised profiles.** ParentPatient and DependentChild require the NHS number, which the
  collector replaced by its pseudonym, so exported Patients claim ``pseudonymised-parent-patient`` and
  children ``pseudonymised-dependent-child`` instead (the guide's profiles for exactly this, issue 13).
* **Each return as a Bundle too** (``Bundle.ndjson``). The reporting period and legal basis are facts of
  the return, on its ``Bundle.meta`` (guide 0.2), not of the person, and an R4 extension with context
  ``Bundle.meta`` may only sit there. So each current return is also exported as a ``collection`` Bundle
  holding those extensions, the submission id and the return's (exported) Patient
  (``analytics.bundles.return_bundle``); the ``return_bundle`` view reads it and joins on the Patient's id.
* **Consent withheld.** A ``consent-withheld`` return stored no resources (only its counts flow), so it is
  not in the export; its counts are in the collector's own report only.
* **Parquet beside NDJSON**: ``{Type}.parquet`` with the same resources, nested as in JSON (listed in the
  manifest's ``extension.parquet``; written by DuckDB, the ``analytics`` extra).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from ..analytics.bundles import return_bundle
from ..errors import FhirFamilyError
from ..guide import CANONICAL
from ..model import (
    DEPENDENT_CHILD,
    EXT_LEGAL_BASIS,
    EXT_REPORTING_PERIOD,
    LEGAL_BASIS,
    LEGAL_BASIS_SYSTEM,
    PSEUDONYMISED_DEPENDENT_CHILD,
    PSEUDONYMISED_PARENT_PATIENT,
    SUBMISSION_SYSTEM,
)
from ..private_files import FILE_MODE, open_private, private_folder, touch_private
from .database import READ_ONLY
from .schema import CURRENT, StoredResource, Submission

RESOURCE_TYPES = ("Organization", "Patient", "EpisodeOfCare", "RelatedPerson")
"""The stored resource types the export writes; ``Bundle`` (each return, ``return_bundle``) comes after."""
EXPORT_TYPES = (*RESOURCE_TYPES, "Bundle")
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
PARENT_PATIENT = f"{CANONICAL}/StructureDefinition/parent-patient"
"""Claimed by submitted Patients; not met once the NHS number is a pseudonym: exported as
``PSEUDONYMISED_PARENT_PATIENT``."""
EXPORT_CLAIMS = {
    PARENT_PATIENT: PSEUDONYMISED_PARENT_PATIENT,
    DEPENDENT_CHILD: PSEUDONYMISED_DEPENDENT_CHILD,
}

_ORGANIZATION_REFERENCE = re.compile(r'"reference":"Organization/[^"]*"')


class ExportError(FhirFamilyError):
    """The export could not be written as asked (one line, exit 2 in the CLI)."""


@dataclass(frozen=True)
class ExportResult:
    manifest: dict
    folder: Path


def organization_id(ods_code: str) -> str:
    """The exported Organization's id: derived from the ODS code alone, so stable across exports."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ODS_SYSTEM}|{ods_code}"))


def export_request_url(base_url: str, include_superseded: bool = False) -> str:
    """The request as Bulk Data names it: the collector's system-level ``$export`` kick-off URL."""
    url = f"{base_url.rstrip('/')}/$export?_type={','.join(EXPORT_TYPES)}"
    return url + ("&includeSuperseded=true" if include_superseded else "")


def export_ndjson(
    engine: Engine,
    folder: Path,
    include_superseded: bool = False,
    request: str = "",
    parquet: bool = False,
) -> ExportResult:
    """Write ``{Type}.ndjson`` for each resource type that has rows, ``Bundle.ndjson`` (each return, its
    Patient and its ``Bundle.meta`` facts), ``{Type}.parquet`` beside each when asked, and ``manifest.json``;
    returns both. ``request`` is the URL the manifest names (``export_request_url``)."""
    private_folder(folder)  # the export is pseudonymised but still personal data: folder 0700, files 0600
    transaction_time = datetime.now(UTC).replace(microsecond=0).isoformat()
    output: list[dict[str, Any]] = []
    bundles: ReturnBundles | None = None
    with engine.connect().execution_options(**READ_ONLY) as conn:
        for resource_type in RESOURCE_TYPES:
            query = (
                select(
                    Submission.ods_code,
                    StoredResource.body,
                    Submission.submission_id,
                    Submission.period_start,
                    Submission.period_end,
                    Submission.legal_basis,
                )
                .join(Submission, Submission.id == StoredResource.submission_pk)
                .where(StoredResource.resource_type == resource_type)
                .order_by(Submission.id, StoredResource.position)
            )
            if not include_superseded:
                query = query.where(Submission.status == CURRENT)
            rows = conn.execute(query.execution_options(stream_results=True, yield_per=500))
            if resource_type == "Organization":
                _write(output, folder, resource_type, _organizations(rows))
            elif resource_type == "Patient":
                # each return's Bundle is written as its Patient streams past: memory stays flat
                bundles = ReturnBundles(folder / "Bundle.ndjson")
                with open_private(bundles.path) as bundles.out:
                    _write(output, folder, resource_type, _resources(rows, bundles))
            else:
                _write(output, folder, resource_type, _resources(rows, None))
    if bundles is not None:
        _keep(output, bundles.path, "Bundle", bundles.count)
    manifest: dict[str, Any] = {
        "transactionTime": transaction_time,
        "request": request or export_request_url("http://localhost:8081", include_superseded),
        "requiresAccessToken": False,
        "output": output,
        "error": [],
    }
    if parquet:
        manifest["extension"] = {"parquet": write_parquet(folder, output)}
    with open_private(folder / "manifest.json") as out:
        out.write(json.dumps(manifest, indent=2) + "\n")
    return ExportResult(manifest, folder)


class ReturnBundles:
    """Where each exported Patient's return Bundle goes (``Bundle.ndjson``), and how many were written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.out: Any = None
        self.count = 0

    def write(self, line: str) -> None:
        self.out.write(line)
        self.out.write("\n")
        self.count += 1


def _write(output: list[dict[str, Any]], folder: Path, resource_type: str, lines: Any) -> None:
    path = folder / f"{resource_type}.ndjson"
    count = 0
    with open_private(path) as out:
        for line in lines:
            out.write(line)
            out.write("\n")
            count += 1
    _keep(output, path, resource_type, count)


def _keep(output: list[dict[str, Any]], path: Path, resource_type: str, count: int) -> None:
    """List a file that holds resources in the manifest; remove an empty one."""
    if count:
        output.append({"type": resource_type, "url": path.resolve().as_uri(), "count": count})
    else:
        path.unlink()


def _organizations(rows: Any) -> list[str]:
    """One Organization per ODS code (the latest return's), id from the code, sorted by code."""
    latest: dict[str, str] = {}
    for ods_code, body, *_return in rows:
        latest[ods_code] = body
    out = []
    for ods_code in sorted(latest):
        organization = json.loads(latest[ods_code])
        organization["id"] = organization_id(ods_code)
        out.append(json.dumps(organization, ensure_ascii=False, separators=(",", ":")))
    return out


def _resources(rows: Any, bundles: ReturnBundles | None) -> Any:
    for ods_code, body, submission_id, period_start, period_end, legal_basis in rows:
        # Stored bodies are compact JSON; a return references only its own provider's Organization.
        body = _ORGANIZATION_REFERENCE.sub(f'"reference":"Organization/{organization_id(ods_code)}"', body)
        if PARENT_PATIENT in body or DEPENDENT_CHILD in body:
            resource = json.loads(body)
            _claim_pseudonymised(resource)
            body = json.dumps(resource, ensure_ascii=False, separators=(",", ":"))
            if bundles is not None and resource.get("resourceType") == "Patient":
                identifier = {"system": SUBMISSION_SYSTEM, "value": submission_id}
                extensions = return_extensions(period_start, period_end, legal_basis)
                bundle = return_bundle(extensions, identifier, resource)
                bundles.write(json.dumps(bundle, ensure_ascii=False, separators=(",", ":")))
        yield body


def _claim_pseudonymised(resource: dict[str, Any]) -> None:
    meta = resource.get("meta") or {}
    if meta.get("profile"):
        meta["profile"] = [EXPORT_CLAIMS.get(profile, profile) for profile in meta["profile"]]


def return_extensions(period_start: Any, period_end: Any, legal_basis: str | None) -> list[dict[str, Any]]:
    """The return's ``Bundle.meta`` facts, rebuilt from its stored row (the bundle is not re-read)."""
    extensions: list[dict[str, Any]] = [
        {
            "url": EXT_REPORTING_PERIOD,
            "valuePeriod": {"start": period_start.isoformat(), "end": period_end.isoformat()},
        }
    ]
    if legal_basis:
        coding = {"system": LEGAL_BASIS_SYSTEM, "code": legal_basis}
        if legal_basis in LEGAL_BASIS:
            coding["display"] = LEGAL_BASIS[legal_basis]
        extensions.append({"url": EXT_LEGAL_BASIS, "valueCodeableConcept": {"coding": [coding]}})
    return extensions


def write_parquet(folder: Path, output: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``{Type}.parquet`` beside each ``{Type}.ndjson``: the same resources, one row each, nested columns
    (DuckDB infers one schema over the whole file). Returns the manifest entries."""
    try:
        import duckdb
    except ImportError as exc:
        raise ExportError(
            "Parquet needs the analytics extra: pip install 'fhir-family[analytics]' (or export --no-parquet)"
        ) from exc
    entries = []
    con = duckdb.connect()
    try:
        for item in output:
            source = folder / f"{item['type']}.ndjson"
            target = touch_private(folder / f"{item['type']}.parquet")  # inside the 0700 export folder
            con.execute(
                "COPY (SELECT * FROM read_json(?, format = 'newline_delimited', sample_size = -1,"
                " maximum_depth = -1)) TO '" + str(target).replace("'", "''") + "' (FORMAT parquet)",
                [str(source)],
            )
            os.chmod(target, FILE_MODE)  # however DuckDB replaced the file, it stays private
            entries.append({"type": item["type"], "url": target.resolve().as_uri(), "count": item["count"]})
    finally:
        con.close()
    return entries
