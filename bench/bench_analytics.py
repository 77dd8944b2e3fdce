"""SQL on FHIR views: rows/s of the view runner (native simple paths vs fhirpathpy alone) and the time to
materialise a synthetic export in DuckDB + Parquet.

The export is written here from deterministic synthetic returns (3 providers x ``PER_PROVIDER``), resources
as the collector stores them (``analytics.bundles``), so the figure measures the analytics side only. Set
``FHIR_FAMILY_BENCH_RETURNS_PER_PROVIDER`` for a bigger month (the issue's 100,000 returns: 33334).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from run import Row

from fhir_family.analytics import fhirpath
from fhir_family.analytics.bundles import resources_of
from fhir_family.analytics.duckdb_store import materialise
from fhir_family.analytics.runner import run_view
from fhir_family.analytics.viewdefinition import read_view
from fhir_family.analytics.views import load_views
from fhir_family.collector.synthetic import synthetic_month
from fhir_family.mapping.bundle import build_bundle

PER_PROVIDER = int(os.environ.get("FHIR_FAMILY_BENCH_RETURNS_PER_PROVIDER", "500"))


def _resources() -> list[dict]:
    return list(resources_of(build_bundle(r) for r in synthetic_month(patients_per_provider=PER_PROVIDER)))


def _write_export(folder: Path, resources: list[dict]) -> None:
    output = []
    for resource_type in ("Organization", "Patient", "EpisodeOfCare", "RelatedPerson"):
        path = folder / f"{resource_type}.ndjson"
        with path.open("w", encoding="utf-8") as out:
            count = 0
            for resource in resources:
                if resource["resourceType"] == resource_type:
                    out.write(json.dumps(resource) + "\n")
                    count += 1
        output.append({"type": resource_type, "url": path.as_uri(), "count": count})
    (folder / "manifest.json").write_text(json.dumps({"output": output}), encoding="utf-8")


def _rows_per_second(views: dict, resources: list[dict]) -> float:
    start = time.perf_counter()
    rows = sum(1 for view in views.values() for _ in run_view(view, resources))
    return rows / (time.perf_counter() - start)


def run() -> list[Row]:
    resources = _resources()
    returns = 3 * PER_PROVIDER
    views = load_views()
    fast = _rows_per_second(views, resources)
    # The same views with no native paths: fhirpathpy evaluates every column.
    original = fhirpath.compile_fast
    fhirpath._FAST_CACHE.clear()
    fhirpath.compile_fast = lambda _path: None
    try:
        slow_views = {name: read_view(view.source) for name, view in views.items()}
        slow = _rows_per_second(slow_views, resources)
    finally:
        fhirpath.compile_fast = original
        fhirpath._FAST_CACHE.clear()
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "export"
        export.mkdir()
        _write_export(export, resources)
        start = time.perf_counter()
        materialise(export, Path(tmp) / "out")
        elapsed = time.perf_counter() - start
    return [
        Row(
            f"view rows/s, native simple paths ({returns} returns)",
            fast,
            "rows/s",
            "fhirpathpy alone",
            slow,
            lower_is_better=False,
        ),
        Row(f"materialise DuckDB+Parquet ({returns} returns)", elapsed, "s"),
        Row("materialise per 1,000 returns", elapsed / returns * 1000, "s"),
    ]
