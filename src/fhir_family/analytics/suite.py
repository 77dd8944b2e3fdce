"""The official SQL on FHIR v2 test suite, read where it lies (never copied into the project), test by test.

Each suite file has ``resources`` and ``tests``; a test has a ``view`` and one of ``expect`` (rows, compared
as a multiset: SQL rows have no order), ``expectCount`` or ``expectError``, and may add ``expectColumns``
(the column names in order). Results come out in the suite's own report format
(``test_report/test-report.schema.json`` upstream): ``{file: {"tests": [{"name", "result": {"passed",
"error"?}}]}}``, the file every listed implementation publishes.

The suite folder: ``$SQL_ON_FHIR_TESTS``, else the first ``shared/sql-on-fhir-tests`` found beside the current
folder or one of its parents (where the project's workplaces keep it).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import FhirFamilyError
from .exceptions import ViewDefinitionError
from .runner import run_view
from .viewdefinition import read_view

ENV_VAR = "SQL_ON_FHIR_TESTS"
SHAREABLE = "shareable"


class SuiteNotFoundError(FhirFamilyError):
    """The test suite folder is not where it was looked for."""


def suite_dir(explicit: str | Path | None = None) -> Path:
    """The suite folder: the argument, ``$SQL_ON_FHIR_TESTS``, or ``shared/sql-on-fhir-tests`` up the tree."""
    chosen = explicit or os.environ.get(ENV_VAR)
    if chosen:
        folder = Path(chosen)
        if not folder.is_dir():
            raise SuiteNotFoundError(f"SQL on FHIR test suite folder {folder} does not exist")
        return folder
    here = Path.cwd().resolve()
    for base in (here, *here.parents):
        candidate = base / "shared" / "sql-on-fhir-tests"
        if candidate.is_dir():
            return candidate
    raise SuiteNotFoundError(
        f"SQL on FHIR test suite not found: set {ENV_VAR} to the folder holding basic.json, where.json ..."
    )


def suite_files(folder: Path) -> list[Path]:
    """Every test file (the JSON files with a ``tests`` list), sorted by name."""
    return sorted(p for p in folder.glob("*.json") if p.name != "tests.schema.json")


@dataclass(frozen=True)
class CaseResult:
    file: str
    title: str
    tags: tuple[str, ...]
    passed: bool
    error: str | None = None

    @property
    def shareable(self) -> bool:
        return SHAREABLE in self.tags


def _normal(value: Any) -> Any:
    """Make 5 and 5.0 compare equal, and rows hashable, for a multiset comparison."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, list):
        return tuple(_normal(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _normal(v)) for k, v in value.items()))
    return repr(value)


def _row_key(row: dict[str, Any]) -> tuple:
    return tuple(sorted((k, _normal(v)) for k, v in row.items()))


def _check(test: dict[str, Any], resources: list[dict[str, Any]]) -> str | None:
    """None when the test passes, else what differed."""
    expect_error = bool(test.get("expectError"))
    try:
        view = read_view(test["view"])
        rows = list(run_view(view, resources))
    except ViewDefinitionError as exc:
        return None if expect_error else f"unexpected error: {exc}"
    if expect_error:
        return f"expected an error, got {len(rows)} rows"
    if "expectColumns" in test and view.columns != test["expectColumns"]:
        return f"columns {view.columns} != expected {test['expectColumns']}"
    if "expectCount" in test and len(rows) != test["expectCount"]:
        return f"{len(rows)} rows != expected count {test['expectCount']}"
    if "expect" in test:
        got, want = Counter(map(_row_key, rows)), Counter(map(_row_key, test["expect"]))
        if got != want:
            return f"rows differ: got {rows!r}, expected {test['expect']!r}"
    return None


def run_file(path: Path) -> list[CaseResult]:
    data = json.loads(path.read_text(encoding="utf-8"))
    resources = data.get("resources", [])
    results = []
    for test in data.get("tests", []):
        try:
            error = _check(test, resources)
        except Exception as exc:  # a crash in the runner is a failed test, reported, never a passed one
            error = f"runner crashed: {type(exc).__name__}: {exc}"
        tags = tuple(test.get("tags", ()))
        results.append(CaseResult(path.name, test.get("title", "?"), tags, error is None, error))
    return results


def run_suite(folder: Path) -> list[CaseResult]:
    return [result for path in suite_files(folder) for result in run_file(path)]


def test_report(results: list[CaseResult]) -> dict[str, Any]:
    """The suite's report format: per file, every test's name and ``result.passed`` (with the error)."""
    report: dict[str, Any] = {}
    for result in results:
        entry: dict[str, Any] = {"name": result.title, "result": {"passed": result.passed}}
        if result.error:
            entry["result"]["error"] = result.error
        report.setdefault(result.file, {"tests": []})["tests"].append(entry)
    return report


@dataclass(frozen=True)
class FileSummary:
    file: str
    passed: int
    total: int
    shareable_passed: int
    shareable_total: int


def summarise(results: list[CaseResult]) -> list[FileSummary]:
    files: dict[str, list[CaseResult]] = {}
    for result in results:
        files.setdefault(result.file, []).append(result)
    return [
        FileSummary(
            name,
            sum(r.passed for r in rs),
            len(rs),
            sum(r.passed for r in rs if r.shareable),
            sum(1 for r in rs if r.shareable),
        )
        for name, rs in files.items()
    ]


def summary_table(summaries: list[FileSummary]) -> str:
    """A Markdown table (the same text goes to the terminal and into docs/analytics.md)."""
    lines = ["| file | passed | shareable passed |", "|---|---:|---:|"]
    for s in summaries:
        lines.append(f"| {s.file} | {s.passed}/{s.total} | {s.shareable_passed}/{s.shareable_total} |")
    passed, total = sum(s.passed for s in summaries), sum(s.total for s in summaries)
    sp, st = sum(s.shareable_passed for s in summaries), sum(s.shareable_total for s in summaries)
    lines.append(f"| **all** | **{passed}/{total}** | **{sp}/{st}** |")
    return "\n".join(lines)
