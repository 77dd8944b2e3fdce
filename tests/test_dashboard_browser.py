"""The dashboard in headless Chromium (Debian's, through Playwright), served by a real HTTP server over three
synthetic months: every chart renders as SVG with one bar per published figure, no console or page errors,
nothing fetched from elsewhere, the numbers behind each chart equal its CSV and (parental status) the monthly
report, the filters work, and a provider's pages hold its own data only. Screenshots of every page are
written to ``test-artifacts/dashboard/`` for a person to look at.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from dashboard_month import MONTHS, load
from fhir_family.collector.dashboard_data import NATIONAL, PRNTSTAT_CODES
from fhir_family.collector.disclosure import SUPPRESSED

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "dashboard"
CHARTS = ("parental-status", "age-bands", "residence", "help", "not-asked-rate", "local-authority")


@pytest.fixture(scope="module")
def served(make_collector, tmp_path_factory, serve) -> Iterator[tuple[str, object]]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (scripts/run-tests.sh installs Debian's chromium with apt-get)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    loaded = load(make_collector, f"sqlite:///{tmp_path_factory.mktemp('dash') / 'c.sqlite'}")
    with serve(loaded.app) as url:
        yield url, loaded


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield instance
        finally:
            instance.close()


class Visit:
    """A browser context for one token that records console errors, page errors and off-site requests."""

    def __init__(self, browser: object, base: str, token: str) -> None:
        self.base = base
        self.problems: list[str] = []
        self.context = browser.new_context(
            viewport={"width": 1400, "height": 1000}, extra_http_headers={"Authorization": f"Bearer {token}"}
        )
        self.context.route("**/*", self._guard)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda exc: self.problems.append(f"pageerror: {exc}"))

    def _guard(self, route: object) -> None:
        if urlsplit(route.request.url).netloc != urlsplit(self.base).netloc:
            self.problems.append(f"external request: {route.request.url}")
            route.abort()
        else:
            route.continue_()

    def open(self, path: str) -> object:
        response = self.page.goto(urljoin(self.base, path), wait_until="load")
        assert response is not None and response.status == 200, path
        return self.page

    def get(self, path: str) -> str:
        response = self.context.request.get(urljoin(self.base, path))
        assert response.status == 200, path
        return response.text()

    def table(self, name: str) -> list[list[str]]:
        return self.page.eval_on_selector(
            f"table.chart-data[data-chart='{name}']",
            "t => [...t.rows].map(r => [...r.cells].map(c => c.textContent.trim()))",
        )

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()


def _check_charts(visit: Visit) -> None:
    """Every chart has an SVG with exactly one bar per published (not suppressed) figure, and a ``*`` mark
    for each suppressed one; its CSV download holds the numbers of its table."""
    page = visit.page
    for name in CHARTS:
        figure = f"figure#chart-{name}"
        assert page.locator(f"{figure} svg").count() == 1, name
        box = page.locator(f"{figure} svg").bounding_box()
        assert box and box["width"] > 300 and box["height"] > 150, name
        table = visit.table(name)
        figures = [cell for row in table[1:] for cell in row[1:]]
        assert figures, name
        bars = page.locator(f"{figure} svg g[id^='bar-']").count()
        assert bars == sum(1 for cell in figures if cell != SUPPRESSED), name
        heights = page.eval_on_selector_all(
            f"{figure} svg g[id^='bar-'] path", "ps => ps.map(p => p.getBBox().height)"
        )
        assert len(heights) == bars and (bars == 0 or max(heights) > 20), name  # bars really drawn
        stars = page.locator(f"{figure} svg text", has_text=SUPPRESSED).count()
        assert stars == sum(1 for cell in figures if cell == SUPPRESSED), name
        href = page.get_attribute(f"{figure} a.csv", "href")
        downloaded = list(csv.reader(io.StringIO(visit.get(href))))
        assert downloaded == table, name


def test_analyst_dashboard(served, browser):
    base, loaded = served
    visit = Visit(browser, base, loaded.analyst)
    try:
        visit.open("/dashboard")
        assert "England" in visit.page.inner_text("h1")
        _check_charts(visit)
        # The numbers behind the parental-status chart are the monthly report's national rows.
        report = [r for r in visit.context.request.get(f"{base}/reports/monthly?format=json").json()["rows"]
                  if r["ods"] == NATIONAL]
        table = visit.table("parental-status")
        assert [row[0] for row in table[1:]] == list(MONTHS)
        expected = [[str(r[f"prntstat_{c}"]) for c in PRNTSTAT_CODES] for r in report]
        assert [row[1:] for row in table[1:]] == expected
        # The "not asked" rates and the local-authority figures are the report's (latest month).
        october = visit.context.request.get(f"{base}/reports/monthly?format=json&month=2026-10").json()
        by_ods = {r["ods"] if r["ods"] != NATIONAL else "England": r for r in october["rows"]}
        for label, not_asked, _declined in visit.table("not-asked-rate")[1:]:
            row = by_ods[label]
            expected_rate = "*" if SUPPRESSED in (row["not_asked"], row["returns"]) else str(
                round(100 * row["not_asked"] / row["returns"], 1))
            assert not_asked == expected_rate, label
        by_la = {r["la"]: r for r in october["byLocalAuthority"] if r["la"] != NATIONAL}
        la_table = visit.table("local-authority")[1:]
        assert len(la_table) == len(by_la) >= 6
        for la, returns, children in la_table:
            assert [returns, children] == [str(by_la[la]["returns"]), str(by_la[la]["children"])]
        visit.screenshot("analyst-charts")

        # Filters: one provider, one month.
        visit.page.select_option("select[name='month']", "2026-09")
        visit.page.select_option("select[name='ods']", "RXA")
        visit.page.click("#filters button")
        visit.page.wait_for_load_state("load")
        assert "month=2026-09" in visit.page.url and "ods=RXA" in visit.page.url
        assert "RXA" in visit.page.inner_text("h1")
        assert [row[0] for row in visit.table("parental-status")[1:]] == ["2026-09"]
        assert {row[0] for row in visit.table("not-asked-rate")[1:]} == {"RXA", "England"}
        _check_charts(visit)
        visit.screenshot("analyst-charts-RXA-2026-09")

        visit.open("/dashboard/quality")
        rows = visit.table("quality")
        assert {row[0] for row in rows[1:]} >= {"RXA", "RXB", "RYD", "England"}
        assert "HTTP 422" in visit.page.inner_text("#rejections")
        assert "2026-09" in visit.page.inner_text("#timeliness")  # RYD's missing month
        visit.screenshot("analyst-quality")
        assert visit.problems == []
    finally:
        visit.close()


def test_provider_pages_hold_its_own_data_only(served, browser):
    base, loaded = served
    visit = Visit(browser, base, loaded.providers["RXB"])
    try:
        visit.open("/dashboard")
        assert "provider RXB" in visit.page.inner_text("h1")
        assert visit.page.locator("select[name='ods']").count() == 0  # no provider filter
        _check_charts(visit)
        assert [row[0] for row in visit.table("not-asked-rate")[1:]] == ["RXB"]
        body = visit.page.inner_text("body")
        assert "RXA" not in body and "England" not in body
        visit.screenshot("provider-RXB-charts")
        visit.open("/dashboard/quality")
        assert [row[0] for row in visit.table("quality")[1:]] == ["RXB"]
        assert "HTTP 422" in visit.page.inner_text("#rejections")
        assert "HTTP 403" not in visit.page.inner_text("#rejections")  # RXA's refusal is not RXB's business
        visit.screenshot("provider-RXB-quality")
        assert visit.problems == []
    finally:
        visit.close()
