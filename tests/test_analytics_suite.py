"""The official SQL on FHIR v2 test suite, every case, against fhir_family.analytics' runner.

The suite is read where it lies (``$SQL_ON_FHIR_TESTS`` or ``shared/sql-on-fhir-tests`` beside the checkout),
never copied into the project. Every ``shareable`` case must pass. Optional cases the runner does not
support are listed in KNOWN_GAPS with the reason and run as xfail; one that starts passing fails the test
until it is taken off the list.
"""

from __future__ import annotations

import json
import os

import pytest

from fhir_family.analytics.suite import SuiteNotFoundError, run_file, suite_dir, suite_files

#: (file, title) -> why the runner does not pass it (optional features only; never a shareable case)
KNOWN_GAPS: dict[tuple[str, str], str] = {
    ("fn_boundary.json", "datetime lowBoundary"): "fhirpathpy hands user functions untyped values, so a "
    "dateTime of day precision cannot be told from a date",
    ("fn_boundary.json", "datetime highBoundary"): "as datetime lowBoundary",
}


def _cases() -> list:
    try:
        folder = suite_dir()
    except SuiteNotFoundError as exc:
        if os.environ.get("CI") == "true":
            raise
        return [pytest.param(None, None, marks=pytest.mark.skip(reason=str(exc)), id="suite-not-found")]
    params = []
    for path in suite_files(folder):
        for test in json.loads(path.read_text(encoding="utf-8"))["tests"]:
            params.append(pytest.param(path, test["title"], id=f"{path.name}::{test['title']}"))
    return params


_RESULTS: dict = {}


def _result(path, title):
    if path not in _RESULTS:
        _RESULTS[path] = {r.title: r for r in run_file(path)}
    return _RESULTS[path][title]


@pytest.mark.parametrize(("path", "title"), _cases())
def test_suite_case(path, title):
    result = _result(path, title)
    gap = KNOWN_GAPS.get((path.name, title))
    if gap:
        assert not result.shareable, "a shareable case can never be a known gap"
        if not result.passed:
            pytest.xfail(gap)
        pytest.fail(f"{path.name} {title!r} now passes: remove it from KNOWN_GAPS")
    assert result.passed, result.error


def test_every_shareable_case_is_run():
    """The suite has shareable cases and this module parametrised all of them (none silently dropped)."""
    try:
        folder = suite_dir()
    except SuiteNotFoundError as exc:
        pytest.skip(str(exc))
    titles = [
        (p.name, t["title"])
        for p in suite_files(folder)
        for t in json.loads(p.read_text(encoding="utf-8"))["tests"]
        if "shareable" in t.get("tags", [])
    ]
    assert len(titles) >= 100
    assert not any(key in KNOWN_GAPS for key in titles)


def test_docs_publish_the_current_results(repo_root):
    """docs/analytics.md shows exactly the per-file table a run of the suite prints now."""
    from fhir_family.analytics.suite import run_suite, summarise, summary_table

    try:
        folder = suite_dir()
    except SuiteNotFoundError as exc:
        pytest.skip(str(exc))
    table = summary_table(summarise(run_suite(folder)))
    assert table in (repo_root / "docs" / "analytics.md").read_text(encoding="utf-8")
