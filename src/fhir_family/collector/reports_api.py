"""``GET /reports/monthly?format=json|csv|html[&month=YYYY-MM]``: analysts see every provider and the national
rows; a provider sees only its own rows (never national totals, which would expose other providers)."""

from __future__ import annotations

import json
import re

from flask import Blueprint, Response, request

from ..errors import InputError
from . import reports
from .http import collector, require
from .tokens import ANALYST, PROVIDER

_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
reports_api = Blueprint("collector_reports", __name__)


@reports_api.get("/reports/monthly")
def monthly() -> Response:
    principal = require(ANALYST, PROVIDER, action="read-report")
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv", "html"):
        raise InputError(f"Unknown format {fmt!r}: use json, csv or html")
    month = request.args.get("month")
    if month is not None and not _MONTH.fullmatch(month):
        raise InputError(f"month must be YYYY-MM, got {month!r}")
    ods = principal.ods_code if principal.role == PROVIDER else None
    report = reports.build_report(collector().engine, ods_code=ods, month=month)
    collector().audit(principal, "read-report", f"monthly {fmt} {month or 'all months'}", 200, report.scope)
    if fmt == "csv":
        return Response(
            reports.to_csv(report),
            200,
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": "inline; filename=monthly-report.csv"},
        )
    if fmt == "html":
        return Response(reports.to_html(report), 200, content_type="text/html; charset=utf-8")
    return Response(
        json.dumps(reports.to_json(report), ensure_ascii=False), 200, content_type="application/json"
    )
