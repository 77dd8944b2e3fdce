"""The analyst dashboard: ``GET /dashboard`` (charts), ``GET /dashboard/quality`` (data quality) and
``GET /dashboard/{chart}.csv`` / ``/dashboard/quality.csv`` (the numbers behind them).

Filters: ``month=YYYY-MM`` and, for analysts, ``ods=CODE``. An analyst sees every provider and England; a
provider token sees its own data only (asking for another provider is 403). Pages are plain HTML with the
charts inline as SVG (drawn on the server, ``charts.py``): no scripts, nothing fetched from elsewhere, and a
Content-Security-Policy that says so. Every read is audited, like the monthly report.
"""

from __future__ import annotations

import csv
import html
import io
import re
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, request

from ..errors import InputError
from .charts import bar_svg
from .dashboard_data import (
    NATIONAL,
    Chart,
    QualityReport,
    Scope,
    build_dashboard,
    build_quality,
)
from .disclosure import SUPPRESSED
from .http import collector, require
from .reports import LEGEND
from .service import forbidden
from .tokens import ANALYST, PROVIDER, Principal

dashboard_api = Blueprint("collector_dashboard", __name__)

_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
_ODS = re.compile(r"[A-Z0-9]{3,6}")
_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:1.5em;color:#212b32;max-width:72em}"
    "h1{font-size:1.5em}h2{font-size:1.1em;margin:0 0 .3em}nav a{margin-right:1em}"
    "form{margin:1em 0;padding:.6em;background:#f0f4f5}label{margin-right:1em}"
    ".charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(34em,1fr));gap:1.2em}"
    "figure{margin:0;padding:.8em;border:1px solid #d8dde0;background:#fff}figcaption p{margin:.2em 0;"
    "font-size:.85em;color:#4c6272}svg{max-width:100%;height:auto}table{border-collapse:collapse;"
    "font-size:.85em}th,td{border:1px solid #d8dde0;padding:.2em .5em;text-align:right}"
    "td.sup{color:#a00}.legend{font-size:.85em;color:#4c6272}"
)


def _scope(principal: Principal) -> Scope:
    month = request.args.get("month") or None
    if month is not None and not _MONTH.fullmatch(month):
        raise InputError(f"month must be YYYY-MM, got {month!r}")
    ods = request.args.get("ods") or None
    if ods is not None and not _ODS.fullmatch(ods):
        raise InputError(f"ods must be an ODS code (3 to 6 upper-case letters or digits), got {ods!r}")
    if principal.role == PROVIDER:
        if ods is not None and ods != principal.ods_code:
            raise forbidden(f"This token reads the data of ODS {principal.ods_code} only", "ods")
        return Scope(principal.ods_code, month, own=True)
    return Scope(ods, month)


def _link(path: str, **params: str | None) -> str:
    """A same-site link keeping the filters (and a query token, where the collector allows those)."""
    query = {key: value for key, value in params.items() if value}
    if request.args.get("token"):
        query["token"] = request.args["token"]
    return html.escape(path + ("?" + urlencode(query) if query else ""))


def _csv_link(name: str, scope: Scope) -> str:
    return _link(f"/dashboard/{name}.csv", month=scope.month, ods=None if scope.own else scope.ods)


def _page(title: str, body: str) -> Response:
    document = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )
    return Response(
        document, 200, content_type="text/html; charset=utf-8", headers={"Content-Security-Policy": _CSP}
    )


def _filters(
    path: str, scope: Scope, months: list[str], providers: list[str], principal: Principal
) -> str:
    month_options = "".join(
        f"<option value='{m}'{' selected' if m == scope.month else ''}>{m}</option>" for m in reversed(months)
    )
    fields = (
        "<label>Month <select name='month'><option value=''>latest / all</option>"
        f"{month_options}</select></label>"
    )
    if principal.role == ANALYST:
        provider_options = "".join(
            f"<option value='{p}'{' selected' if p == scope.ods else ''}>{p}</option>" for p in providers
        )
        fields += (
            "<label>Provider <select name='ods'><option value=''>England (all providers)</option>"
            f"{provider_options}</select></label>"
        )
    token = request.args.get("token")
    hidden = f"<input type='hidden' name='token' value='{html.escape(token)}'>" if token else ""
    return f"<form method='get' action='{path}' id='filters'>{fields}{hidden}<button>Show</button></form>"


def _nav(scope: Scope) -> str:
    month, ods = scope.month, None if scope.own else scope.ods
    return (
        f"<nav><a href='{_link('/dashboard', month=month, ods=ods)}'>Charts</a>"
        f"<a href='{_link('/dashboard/quality', month=month, ods=ods)}'>Data quality</a>"
        f"<a href='{_link('/reports/monthly', format='html', month=month)}'>Monthly report</a></nav>"
    )


def _cell(value: Any) -> str:
    return f"<td class='{'sup' if value == SUPPRESSED else 'num'}'>{html.escape(str(value))}</td>"


def _chart_table(chart: Chart) -> str:
    head = "".join(f"<th scope='col'>{html.escape(s)}</th>" for s in chart.series)
    body = "".join(
        f"<tr><th scope='row'>{html.escape(str(row['label']))}</th>"
        + "".join(_cell(row[s]) for s in chart.series)
        + "</tr>"
        for row in chart.rows
    )
    return (
        f"<table class='chart-data' data-chart='{chart.name}'><thead><tr>"
        f"<th scope='col'>{html.escape(chart.x_title)}</th>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


@dashboard_api.get("/dashboard")
def dashboard() -> Response:
    principal = require(ANALYST, PROVIDER, action="read-dashboard")
    scope = _scope(principal)
    data = build_dashboard(collector().engine, scope)
    figures = "".join(
        f"<figure id='chart-{chart.name}' class='chart'><figcaption><h2>{html.escape(chart.title)}</h2>"
        f"<p>{html.escape(chart.note)}</p></figcaption>{bar_svg(chart)}"
        f"<details><summary>The numbers</summary>{_chart_table(chart)}</details>"
        f"<p><a class='csv' href='{_csv_link(chart.name, scope)}'>Download CSV</a></p></figure>"
        for chart in data.charts
    )
    who = f"provider {scope.ods}" if scope.own else (scope.ods or "England: all providers")
    collector().audit(principal, "read-dashboard", f"charts {scope.month or 'all months'}", 200, who)
    body = (
        f"<h1>Parents and dependent children in adult mental health services: {html.escape(who)}</h1>"
        + _nav(scope)
        + _filters("/dashboard", scope, data.months, data.providers, principal)
        + f"<p class='legend'>{html.escape(LEGEND)} One-month charts show "
        f"{html.escape(data.month or '-')}.</p>"
        + f"<div class='charts'>{figures}</div>"
    )
    return _page("fhir-family dashboard", body)


def _csv(rows: list[list[Any]], filename: str) -> Response:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return Response(
        out.getvalue(),
        200,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


@dashboard_api.get("/dashboard/<name>.csv")
def chart_csv(name: str) -> Response:
    principal = require(ANALYST, PROVIDER, action="read-dashboard")
    scope = _scope(principal)
    if name == "quality":
        return _quality_csv(principal, scope)
    data = build_dashboard(collector().engine, scope)
    chart = next((c for c in data.charts if c.name == name), None)
    if chart is None:
        names = ", ".join(c.name for c in data.charts)
        raise InputError(f"No chart {name!r}: the charts are {names}, and quality")
    collector().audit(principal, "read-dashboard", f"{name}.csv {scope.month or 'all months'}", 200)
    rows = [[chart.x_title, *chart.series]]
    rows += [[row["label"], *(row[s] for s in chart.series)] for row in chart.rows]
    return _csv(rows, f"{name}.csv")


_QUALITY_HEADINGS = {
    "returns": "patients with a return",
    "not_asked": "not asked",
    "not_asked_share": "not asked %",
    "declined": "declined to answer",
    "declined_share": "declined %",
    "children": "children listed",
    "without_nhs_number": "children without NHS number",
    "without_nhs_number_share": "without NHS number %",
    "pr_unknown": "PR unknown",
    "pr_unknown_share": "PR unknown %",
    "residence_unknown": "residence unknown",
    "residence_unknown_share": "residence unknown %",
}


def _quality_csv(principal: Principal, scope: Scope) -> Response:
    quality = build_quality(collector().engine, scope)
    collector().audit(principal, "read-dashboard", f"quality.csv {quality.month or '-'}", 200)
    rows = [["ods", "month", *_QUALITY_HEADINGS]]
    rows += [[row["ods"], quality.month, *(row[key] for key in _QUALITY_HEADINGS)] for row in quality.rows]
    return _csv(rows, "quality.csv")


def _quality_body(quality: QualityReport) -> str:
    head = "".join(f"<th scope='col'>{html.escape(h)}</th>" for h in _QUALITY_HEADINGS.values())
    rows = "".join(
        f"<tr><th scope='row'>{html.escape(row['ods'] if row['ods'] != NATIONAL else 'England')}</th>"
        + "".join(_cell(row[key]) for key in _QUALITY_HEADINGS)
        + "</tr>"
        for row in quality.rows
    )
    measures = (
        "<table id='quality' class='chart-data' data-chart='quality'><thead><tr>"
        f"<th scope='col'>provider</th>{head}</tr></thead>"
        f"<tbody>{rows or '<tr><td>no current returns</td></tr>'}</tbody></table>"
    )
    rejected = "".join(
        f"<tr><th scope='row'>{html.escape(r['ods'])}</th><td style='text-align:left'>"
        f"{html.escape(r['reason'])}</td><td>{r['count']}</td></tr>"
        for r in quality.rejections
    )
    timely = "".join(
        f"<tr><th scope='row'>{html.escape(t['ods'])}</th><td>{t['late']}</td>"
        f"<td style='text-align:left'>{html.escape(', '.join(t['missing_months']) or 'none')}</td></tr>"
        for t in quality.timeliness
    )
    return (
        f"<h2>Completeness, {html.escape(quality.month or '-')}</h2>{measures}"
        "<h2>Returns rejected and why</h2><table id='rejections'><thead><tr><th scope='col'>provider</th>"
        "<th scope='col'>reason</th><th scope='col'>refused submissions</th></tr></thead><tbody>"
        f"{rejected or '<tr><td colspan=3>none</td></tr>'}</tbody></table>"
        "<h2>Late and missing months</h2><table id='timeliness'><thead><tr><th scope='col'>provider</th>"
        "<th scope='col'>current returns received late</th><th scope='col'>months with no return</th></tr>"
        f"</thead><tbody>{timely or '<tr><td colspan=3>none</td></tr>'}</tbody></table>"
        "<p class='legend'>Counts and shares of people follow the report's disclosure control (shares from "
        "the published counts). Late: received after the last day of the month after the reporting month. "
        "Missing: a month between the first and last reported nationally with no current return from the "
        "provider. Refused submissions are operational counts of requests, shown as counted.</p>"
    )


@dashboard_api.get("/dashboard/quality")
def quality() -> Response:
    principal = require(ANALYST, PROVIDER, action="read-dashboard")
    scope = _scope(principal)
    data = build_quality(collector().engine, scope)
    dashboard_data = build_dashboard(collector().engine, scope)
    who = f"provider {scope.ods}" if scope.own else (scope.ods or "England: all providers")
    collector().audit(principal, "read-dashboard", f"quality {data.month or '-'}", 200, who)
    body = (
        f"<h1>Data quality: {html.escape(who)}</h1>"
        + _nav(scope)
        + _filters("/dashboard/quality", scope, dashboard_data.months, dashboard_data.providers, principal)
        + _quality_body(data)
        + f"<p><a class='csv' href='{_csv_link('quality', scope)}'>Download CSV</a></p>"
    )
    return _page("fhir-family data quality", body)
