"""The dashboard over HTTP: who sees what, the numbers behind every chart (CSV) against the monthly report and
against counts made here from the synthetic records, disclosure control, the data-quality report, and bad
requests answered with an OperationOutcome."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, date, datetime

import pytest

from dashboard_month import MONTHS, load
from fhir_family.collector import dashboard_data
from fhir_family.collector.dashboard_data import AGE_BANDS, NATIONAL, RESIDENCES, publish_breakdown
from fhir_family.collector.disclosure import SUPPRESSED


@pytest.fixture(scope="module")
def loaded(make_collector, tmp_path_factory):
    return load(make_collector, f"sqlite:///{tmp_path_factory.mktemp('dash') / 'c.sqlite'}")


def _get(loaded, path: str, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return loaded.app.test_client().get(path, headers=headers)


def _csv(loaded, path: str, token: str) -> list[list[str]]:
    response = _get(loaded, path, token)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/csv")
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def _report(loaded, token: str, **params: str) -> list[dict]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    response = _get(loaded, f"/reports/monthly?format=json&{query}", token)
    assert response.status_code == 200
    return response.get_json()["rows"]


def _value(text: str) -> int | float | str:
    return text if text == SUPPRESSED else (float(text) if "." in text else int(text))


def test_parental_status_chart_is_the_monthly_reports(loaded):
    rows = _csv(loaded, "/dashboard/parental-status.csv", loaded.analyst)
    national = [r for r in _report(loaded, loaded.analyst) if r["ods"] == NATIONAL]
    assert [row[0] for row in rows[1:]] == list(MONTHS)
    assert rows[1:] == [_prntstat(r) for r in national]
    own = _csv(loaded, "/dashboard/parental-status.csv?month=2026-09", loaded.providers["RXB"])
    mine = _report(loaded, loaded.providers["RXB"], month="2026-09")
    assert own[1:] == [_prntstat(r) for r in mine]


def _prntstat(report_row: dict) -> list[str]:
    return [report_row["month"], *(str(report_row[f"prntstat_{c}"]) for c in ("11", "12", "13", "14", "15"))]


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _true_child_counts(records) -> dict[tuple[str, str], dict[str, int]]:
    counts: dict[tuple[str, str], Counter] = {}
    for record in records:
        row = counts.setdefault((record.ods_code, record.reporting_period_end.strftime("%Y-%m")), Counter())
        for child in record.children:
            age = _age(child.birth_date, record.reporting_period_end)
            band = next(b for b in AGE_BANDS if int(b.split("-")[0]) <= age <= int(b.split("-")[1]))
            row["children"] += 1
            row[f"age:{band}"] += 1
            row[f"residence:{child.residence}"] += 1
    return {key: dict(value) for key, value in counts.items()}


@pytest.mark.parametrize("ods", [None, "RXA", "RYB"])
def test_breakdowns_equal_counts_made_from_the_records_then_protected(loaded, ods):
    true = _true_child_counts(loaded.records)
    month = "2026-10"
    subject = ods or NATIONAL
    query = f"?month={month}" + (f"&ods={ods}" if ods else "")
    ages = publish_breakdown(true, tuple(f"age:{b}" for b in AGE_BANDS), None, True)[(subject, month)]
    rows = _csv(loaded, f"/dashboard/age-bands.csv{query}", loaded.analyst)
    assert rows[1:] == [[band, str(ages[f"age:{band}"])] for band in AGE_BANDS]
    residence = publish_breakdown(true, tuple(f"residence:{r}" for r in RESIDENCES), "children", True)
    rows = _csv(loaded, f"/dashboard/residence.csv{query}", loaded.analyst)
    assert rows[1:] == [[r, str(residence[(subject, month)][f"residence:{r}"])] for r in RESIDENCES]


def test_every_published_number_passes_disclosure_control(loaded):
    for name in ("parental-status", "age-bands", "residence", "help"):
        for token in (loaded.analyst, loaded.providers["RYD"]):
            for row in _csv(loaded, f"/dashboard/{name}.csv", token)[1:]:
                for text in row[1:]:
                    value = _value(text)
                    assert value == SUPPRESSED or (value % 5 == 0 and not 1 <= value <= 7), (name, row)
    small = _csv(loaded, "/dashboard/age-bands.csv?ods=RYA", loaded.analyst)
    assert any(row[1] == SUPPRESSED for row in small[1:])  # a small provider's cells are hidden


def test_secondary_suppression_in_a_breakdown():
    counts = {("RXA", "2026-10"): {"a": 3, "b": 40, "c": 57, "t": 100}}
    published = publish_breakdown(counts, ("a", "b", "c"), "t", False)[("RXA", "2026-10")]
    # 3 is hidden; alone it could be recovered as t - b - c, so the next smallest (b) is hidden too.
    assert published == {"a": SUPPRESSED, "b": SUPPRESSED, "c": 55, "t": 100}


def test_not_asked_rate_is_computed_from_the_reports_published_counts(loaded):
    rows = _csv(loaded, "/dashboard/not-asked-rate.csv?month=2026-10", loaded.analyst)
    assert rows[0] == ["provider (ODS)", "not asked %", "declined %"]
    report = {r["ods"] if r["ods"] != NATIONAL else "England": r
              for r in _report(loaded, loaded.analyst, month="2026-10")}
    assert [row[0] for row in rows[1:]] == list(report)
    for ods, not_asked, declined in rows[1:]:
        assert _value(not_asked) == dashboard_data.rate(report[ods]["not_asked"], report[ods]["returns"])
        assert _value(declined) == dashboard_data.rate(report[ods]["prntstat_15"], report[ods]["returns"])
    shown = [float(row[1]) for row in rows[1:] if row[1] != SUPPRESSED]
    assert any(row[1] == SUPPRESSED for row in rows[1:]) and len(set(shown)) > 1  # providers differ


def test_local_authority_chart_is_the_reports_table(loaded):
    rows = _csv(loaded, "/dashboard/local-authority.csv?month=2026-10", loaded.analyst)
    assert rows[0] == ["local authority (ONS GSS code)", "returns", "children"]
    response = _get(loaded, "/reports/monthly?format=json&month=2026-10", loaded.analyst).get_json()
    table = {r["la"]: r for r in response["byLocalAuthority"] if r["la"] != NATIONAL}
    assert [row[0] for row in rows[1:]] == list(table) and len(table) >= 6
    for la, returns, children in rows[1:]:
        assert (_value(returns), _value(children)) == (table[la]["returns"], table[la]["children"])
    october = [r for r in loaded.records if r.reporting_period_end.strftime("%Y-%m") == "2026-10"]
    birmingham = sum(r.local_authority == "E08000025" for r in october)
    assert table["E08000025"]["returns"] == 5 * ((birmingham + 2) // 5)
    own = _csv(loaded, "/dashboard/local-authority.csv?month=2026-10", loaded.providers["RXA"])
    assert {row[0] for row in own[1:]} <= {"E08000025", "E08000028", "E08000029"}  # RXA's patients only


def test_a_provider_sees_its_own_data_only(loaded):
    token = loaded.providers["RXB"]
    page = _get(loaded, "/dashboard", token)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "provider RXB" in text and "RXA" not in text and "England" not in text
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy  # no scripts at all
    rates = _csv(loaded, "/dashboard/not-asked-rate.csv", token)
    assert [row[0] for row in rates[1:]] == ["RXB"]
    refused = _get(loaded, "/dashboard?ods=RXA", token)
    assert refused.status_code == 403 and refused.get_json()["resourceType"] == "OperationOutcome"
    quality = _csv(loaded, "/dashboard/quality.csv", token)
    assert [row[0] for row in quality[1:]] == ["RXB"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/dashboard?month=2026-13", 400),
        ("/dashboard?ods=not-an-ods", 400),
        ("/dashboard/no-such-chart.csv", 400),
        ("/dashboard/quality?month=26-10", 400),
    ],
)
def test_bad_requests_get_an_operation_outcome(loaded, path, status):
    response = _get(loaded, path, loaded.analyst)
    assert response.status_code == status
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome" and body["issue"][0]["diagnostics"]


def test_the_dashboard_needs_a_token(loaded):
    assert _get(loaded, "/dashboard", None).status_code == 401
    assert _get(loaded, "/dashboard/quality.csv", "ffc_not-a-token").status_code == 401


def test_data_quality_report(loaded):
    rows = _csv(loaded, "/dashboard/quality.csv?month=2026-10", loaded.analyst)
    header, body = rows[0], rows[1:]
    assert header[:6] == ["ods", "month", "returns", "not_asked", "not_asked_share", "declined"]
    by_ods = {row[0]: dict(zip(header, row, strict=True)) for row in body}
    october = [r for r in loaded.records if r.reporting_period_end.strftime("%Y-%m") == "2026-10"]
    rxa = [r for r in october if r.ods_code == "RXA"]
    no_nhs = sum(1 for r in rxa for c in r.children if c.nhs_number is None)
    children = sum(len(r.children) for r in rxa)
    assert abs(int(by_ods["RXA"]["without_nhs_number"]) - no_nhs) <= 2  # rounded to 5
    assert by_ods["RXA"]["children"] == str(5 * ((children + 2) // 5))
    assert by_ods[NATIONAL]["returns"] == str(5 * ((len(october) + 2) // 5))
    not_asked = sum(1 for r in rxa if r.parental_status == "not-asked")
    assert by_ods["RXA"]["not_asked"] == str(5 * ((not_asked + 2) // 5))

    page = _get(loaded, "/dashboard/quality", loaded.analyst).get_data(as_text=True)
    assert "HTTP 422" in page and "HTTP 403" in page  # the refused submissions and why
    timeliness = dashboard_data.build_quality(loaded.app.extensions["fhir_family_collector"].engine,
                                              dashboard_data.Scope()).timeliness
    by_provider = {t["ods"]: t for t in timeliness}
    assert by_provider["RYD"]["missing_months"] == ["2026-09"]
    assert by_provider["RXA"]["missing_months"] == []
    today = datetime.now(UTC).date()
    late = sum(1 for r in loaded.records if r.ods_code == "RXA" and dashboard_data._deadline(
        r.reporting_period_end.strftime("%Y-%m")) < today)
    assert by_provider["RXA"]["late"] == late > 0
