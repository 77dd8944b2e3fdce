"""Three synthetic months in a collector, for the dashboard tests (HTTP and browser): large and small
providers (so published cells are suppressed), one small provider missing a month, and refused submissions."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from fhir_family.collector.bulk_load import bulk_load
from fhir_family.collector.synthetic import synthetic_national_month
from fhir_family.collector.tokens import issue_token
from fhir_family.mapping.bundle import build_bundle

MONTHS = ("2026-08", "2026-09", "2026-10")
PER_MONTH = 1500


@dataclass
class LoadedCollector:
    app: Any
    analyst: str
    providers: dict[str, str]
    records: list


def load(make_collector, database_url: str) -> LoadedCollector:
    app = make_collector(database_url)
    collector = app.extensions["fhir_family_collector"]
    records = []
    for month in MONTHS:
        month_records = [
            r
            for r in synthetic_national_month(PER_MONTH, month)
            if not (r.ods_code == "RYD" and month == "2026-09")  # RYD misses a month
        ]
        bulk_load(collector.store, (build_bundle(r) for r in month_records), "dashboard test")
        records += month_records
    providers = {ods: issue_token(collector.sessions, "provider", ods) for ods in ("RXA", "RXB", "RYD")}
    client = app.test_client()
    # Refused submissions, audited with their reasons: an invalid return and one for another provider.
    bundle = build_bundle(next(r for r in records if r.ods_code == "RXB"))
    broken = copy.deepcopy(bundle)
    broken["identifier"]["value"] = "dashboard-broken-1"
    for entry in broken["entry"]:
        if entry["resource"]["resourceType"] == "Patient":
            entry["resource"]["birthDate"] = "not a date"
    for token, body, status in ((providers["RXB"], broken, 422), (providers["RXA"], bundle, 403)):
        response = client.post("/", data=json.dumps(body), headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == status, response.get_data(as_text=True)[:500]
    return LoadedCollector(app, issue_token(collector.sessions, "analyst"), providers, records)
