"""The analyst dashboard's figures: each chart's numbers per provider and month, published with the report's
disclosure control (``disclosure.protect``: primary and secondary suppression, rounding to 5).

Every figure comes from current returns only, like the monthly report. The parental-status chart, the "not
asked" rate and the local-authority chart are read from the monthly report itself (``reports.build_report``),
so they are its numbers.
The breakdowns the report does not carry (children by age band, residence, help) are counted here and
protected the same way: within a provider's month the categories add up to its children (a group), and the
providers add up to the national row (a group per category), so no hidden cell can be recovered by
subtraction.

An analyst sees every provider and the national rows; a provider sees its own rows only, protected on their
own (never national totals, which would expose other providers).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from . import reports
from .database import READ_ONLY
from .disclosure import SUPPRESSED, Group, protect
from .schema import CURRENT, AuditEvent, ChildFact, Submission

NATIONAL = reports.NATIONAL
PRNTSTAT_CODES = ("11", "12", "13", "14", "15")
PRNTSTAT_LABELS = {
    "11": "11 all children live with patient",
    "12": "12 some live with patient",
    "13": "13 none live with patient",
    "14": "14 not a parent",
    "15": "15 declined",
}
AGE_BANDS = ("0-4", "5-9", "10-14", "15-17")
RESIDENCES = ("full-time", "part-time", "other-parent", "relatives", "looked-after", "elsewhere", "unknown")
HELP = {
    "early_help": "early help",
    "child_in_need": "child in need",
    "child_protection_plan": "child protection plan",
    "looked_after": "looked after",
}

_PROVIDER_ACTOR = re.compile(r"\[provider ([A-Z0-9]{3,6})\]")


@dataclass(frozen=True)
class Chart:
    """One chart's published numbers: ``rows`` are ``{"label": x, series: int | "*" ...}`` in order."""

    name: str
    title: str
    x_title: str
    series: tuple[str, ...]
    rows: list[dict[str, Any]]
    note: str = ""
    percent: bool = False


@dataclass(frozen=True)
class Scope:
    """Whose data and which month: ``ods`` is the provider filter (an analyst's choice, or a provider's own
    code when ``own`` is true); ``month`` None means every month (the latest for one-month charts)."""

    ods: str | None = None
    month: str | None = None
    own: bool = False


@dataclass
class Dashboard:
    months: list[str]
    providers: list[str]
    month: str | None
    """The month the one-month charts show (the filter, or the latest month)."""
    charts: list[Chart] = field(default_factory=list)


# -- counting -------------------------------------------------------------------------------------------


def _age_band(age: int) -> str:
    for label in AGE_BANDS:
        low, high = (int(part) for part in label.split("-"))
        if low <= age <= high:
            return label
    return "unknown"


def child_counts(engine: Engine, ods_code: str | None = None) -> dict[tuple[str, str], dict[str, int]]:
    """True counts per (ods, month): children, by age band, by residence and by kind of help."""
    grouped = (
        Submission.ods_code,
        Submission.report_month,
        ChildFact.age_years,
        ChildFact.residence,
        ChildFact.early_help,
        ChildFact.child_in_need,
        ChildFact.child_protection_plan,
        ChildFact.looked_after,
        ChildFact.has_nhs_number,
        ChildFact.pr_held,
    )
    query = (
        select(*grouped, func.count())
        .join(ChildFact, ChildFact.submission_pk == Submission.id)
        .where(Submission.status == CURRENT)
        .group_by(*grouped)
    )
    if ods_code:
        query = query.where(Submission.ods_code == ods_code)
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    with engine.connect().execution_options(**READ_ONLY) as conn:
        for ods, month, age, residence, early, need, cpp, lac, has_nhs, pr_held, n in conn.execute(query):
            row = counts[(ods, month)]
            row["children"] += n
            row[f"age:{_age_band(age)}"] += n
            row[f"residence:{residence if residence in RESIDENCES else 'unknown'}"] += n
            for key, flag in zip(HELP, (early, need, cpp, lac), strict=True):
                row[f"help:{key}"] += n if flag else 0
            row["without_nhs_number"] += 0 if has_nhs else n
            row["pr_unknown"] += n if pr_held == "UNK" else 0
    return {key: dict(value) for key, value in counts.items()}


def publish_breakdown(
    counts: dict[tuple[str, str], dict[str, int]],
    categories: tuple[str, ...],
    total: str | None,
    with_national: bool,
) -> dict[tuple[str, str], dict[str, int | str]]:
    """``categories`` (and ``total``) per (ods, month), protected: a row's categories add up to ``total``
    (when they partition it), and each category's providers add up to the national row."""
    measures = (*categories, *((total,) if total else ()))
    table = {key: {m: int(row.get(m, 0)) for m in measures} for key, row in counts.items()}
    if with_national and table:
        for (_ods, month), row in list(table.items()):
            national = table.setdefault((NATIONAL, month), dict.fromkeys(measures, 0))
            for measure, value in row.items():
                national[measure] += value
    flat: dict[Hashable, int] = {(o, mo, m): v for (o, mo), row in table.items() for m, v in row.items()}
    groups: list[Group] = []
    if total:
        groups += [Group(tuple((o, mo, c) for c in categories), (o, mo, total)) for o, mo in table]
    if with_national:
        for month in {mo for _o, mo in table}:
            providers = [o for o, mo in table if mo == month and o != NATIONAL]
            groups += [
                Group(tuple((o, month, m) for o in providers), (NATIONAL, month, m)) for m in measures
            ]
    cells = protect(flat, groups)
    return {(o, mo): {m: cells[(o, mo, m)].published for m in measures} for o, mo in table}


# -- the charts -----------------------------------------------------------------------------------------


def _report_rows(engine: Engine, scope: Scope) -> list[dict[str, Any]]:
    """The monthly report's published rows the principal may see (analyst: all + national)."""
    return reports.build_report(engine, ods_code=scope.ods if scope.own else None).rows


def build_dashboard(engine: Engine, scope: Scope) -> Dashboard:
    report_rows = _report_rows(engine, scope)
    months = sorted({row["month"] for row in report_rows})
    providers = sorted({row["ods"] for row in report_rows if row["ods"] != NATIONAL})
    month = scope.month or (months[-1] if months else None)
    subject = scope.ods or NATIONAL
    dashboard = Dashboard(months, providers, month)

    by_month = [
        row for row in report_rows if row["ods"] == subject and (scope.month is None or row["month"] == month)
    ]
    dashboard.charts.append(
        Chart(
            "parental-status",
            f"Parental status (NDTMS PRNTSTAT) by month: {subject if subject != NATIONAL else 'England'}",
            "reporting month",
            tuple(PRNTSTAT_LABELS[c] for c in PRNTSTAT_CODES),
            [
                {"label": row["month"], **{PRNTSTAT_LABELS[c]: row[f"prntstat_{c}"] for c in PRNTSTAT_CODES}}
                for row in by_month
            ],
            "Patients with a current return, by parental status; the monthly report's figures.",
        )
    )

    children = child_counts(engine, scope.ods if scope.own else None)
    with_national = not scope.own

    def one_row(published: dict[tuple[str, str], dict[str, int | str]]) -> dict[str, int | str]:
        return published.get((subject, month or ""), {})

    ages = one_row(publish_breakdown(children, tuple(f"age:{b}" for b in AGE_BANDS), None, with_national))
    dashboard.charts.append(
        Chart(
            "age-bands",
            f"Dependent children by age band on the reporting date, {month or 'no month'}",
            "age band (years)",
            ("children",),
            [{"label": band, "children": ages.get(f"age:{band}", 0)} for band in AGE_BANDS],
            "Children listed in current returns; ages on the last day of the reporting month.",
        )
    )
    residence = one_row(
        publish_breakdown(
            children, tuple(f"residence:{r}" for r in RESIDENCES), "children", with_national
        )
    )
    dashboard.charts.append(
        Chart(
            "residence",
            f"Where the children live, {month or 'no month'}",
            "residence",
            ("children",),
            [{"label": r, "children": residence.get(f"residence:{r}", 0)} for r in RESIDENCES],
            "full-time / part-time: with the patient; the categories add up to the children listed.",
        )
    )
    helped = one_row(publish_breakdown(children, tuple(f"help:{h}" for h in HELP), None, with_national))
    dashboard.charts.append(
        Chart(
            "help",
            f"Help and protection the children receive, {month or 'no month'}",
            "kind of help",
            ("children",),
            [{"label": label, "children": helped.get(f"help:{key}", 0)} for key, label in HELP.items()],
            "A child may receive more than one kind of help: these do not add up to the children listed.",
        )
    )
    dashboard.charts.append(
        Chart(
            "not-asked-rate",
            f"Not asked about children, share of returns by provider, {month or 'no month'}",
            "provider (ODS)",
            ("not asked %", "declined %"),
            [
                {
                    "label": row["ods"] if row["ods"] != NATIONAL else "England",
                    "not asked %": rate(row["not_asked"], row["returns"]),
                    "declined %": rate(row["prntstat_15"], row["returns"]),
                }
                for row in report_rows
                if row["month"] == month and (scope.ods is None or row["ods"] in (scope.ods, NATIONAL))
            ],
            "Patients nobody asked (status not-asked, guide 0.1) and patients who declined, over patients "
            "with a return, from the monthly report's published (rounded) counts; * where either is "
            "suppressed.",
            percent=True,
        )
    )
    by_la = [
        row for row in reports.local_authority_report(engine, scope.ods, month) if row["la"] != NATIONAL
    ]
    dashboard.charts.append(
        Chart(
            "local-authority",
            f"Returns and children by local authority of residence, {month or 'no month'}",
            "local authority (ONS GSS code)",
            ("returns", "children"),
            [{"label": row["la"], "returns": row["returns"], "children": row["children"]} for row in by_la],
            "Returns by the patient's local authority, children by their own (else the patient's); the "
            "monthly report's table by local authority"
            + (f", patients of {scope.ods} only." if scope.ods else "."),
        )
    )
    return dashboard


def rate(numerator: int | str, denominator: int | str) -> float | str:
    """A percentage of two published counts, one decimal; ``*`` when either is suppressed or zero."""
    if numerator == SUPPRESSED or denominator == SUPPRESSED or not denominator:
        return SUPPRESSED
    return round(100 * int(numerator) / int(denominator), 1)


# -- data quality ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QualityReport:
    month: str | None
    rows: list[dict[str, Any]]
    """Per provider (and national for analysts): published counts and shares for ``month``."""
    rejections: list[dict[str, Any]]
    """``{"ods", "reason", "count"}``: refused submissions and why (all time, or ``month`` of receipt)."""
    timeliness: list[dict[str, Any]]
    """``{"ods", "late", "missing_months"}``: returns received late, months with no return."""


QUALITY_MEASURES = (
    "returns",
    "not_asked",
    "declined",
    "children",
    "without_nhs_number",
    "pr_unknown",
    "residence_unknown",
)


def _deadline(month: str) -> date:
    """The last day of the month after ``month``: a return received after it is late."""
    first = date.fromisoformat(f"{month}-01")
    after_next = (first.replace(day=28) + timedelta(days=35)).replace(day=1)
    return (after_next.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def build_quality(engine: Engine, scope: Scope) -> QualityReport:
    own = scope.ods if scope.own else None
    report_rows = _report_rows(engine, scope)
    months = sorted({row["month"] for row in report_rows})
    month = scope.month or (months[-1] if months else None)
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for key, row in reports.raw_counts(engine, own).items():
        counts[key] = {
            "returns": row["returns"], "not_asked": row["not_asked"], "declined": row["prntstat_15"]
        }
    for key, row in child_counts(engine, own).items():
        entry = counts.setdefault(key, {"returns": 0, "not_asked": 0, "declined": 0})
        entry.update(
            children=row["children"],
            without_nhs_number=row.get("without_nhs_number", 0),
            pr_unknown=row.get("pr_unknown", 0),
            residence_unknown=row.get("residence:unknown", 0),
        )
    published = publish_breakdown(counts, QUALITY_MEASURES, None, not scope.own)
    rows = []
    ordered = sorted(published.items(), key=lambda item: (item[0][0] == NATIONAL, item[0]))
    for (ods, row_month), cells in ordered:
        if row_month != month or (scope.ods and ods not in (scope.ods, NATIONAL)):
            continue
        rows.append(
            {
                "ods": ods,
                **cells,
                "not_asked_share": rate(cells["not_asked"], cells["returns"]),
                "declined_share": rate(cells["declined"], cells["returns"]),
                "without_nhs_number_share": rate(cells["without_nhs_number"], cells["children"]),
                "pr_unknown_share": rate(cells["pr_unknown"], cells["children"]),
                "residence_unknown_share": rate(cells["residence_unknown"], cells["children"]),
            }
        )
    return QualityReport(
        month, rows, _rejections(engine, scope, month), _timeliness(engine, scope, months)
    )


def _rejections(engine: Engine, scope: Scope, month: str | None) -> list[dict[str, Any]]:
    """Refused submissions (audited 4xx, not authentication failures) by provider and reason."""
    query = select(AuditEvent.actor, AuditEvent.detail, AuditEvent.outcome, AuditEvent.at).where(
        AuditEvent.action == "submit", AuditEvent.outcome >= 403
    )
    found: dict[tuple[str, str], int] = defaultdict(int)
    with engine.connect().execution_options(**READ_ONLY) as conn:
        for actor, detail, outcome, at in conn.execute(query):
            match = _PROVIDER_ACTOR.search(actor or "")
            if not match or (scope.ods and match.group(1) != scope.ods):
                continue
            if scope.month and isinstance(at, datetime) and at.strftime("%Y-%m") != scope.month:
                continue
            reason = f"HTTP {outcome}: {(detail or 'no detail').splitlines()[0][:160]}"
            found[(match.group(1), reason)] += 1
    return [{"ods": o, "reason": r, "count": n} for (o, r), n in sorted(found.items())]


def _timeliness(engine: Engine, scope: Scope, months: list[str]) -> list[dict[str, Any]]:
    """Per provider: current returns received after their deadline, and the months (between the first and the
    last month anyone reported) in which it sent none."""
    query = select(Submission.ods_code, Submission.report_month, Submission.received_at).where(
        Submission.status == CURRENT
    )
    if scope.ods:
        query = query.where(Submission.ods_code == scope.ods)
    late: dict[str, int] = defaultdict(int)
    reported: dict[str, set[str]] = defaultdict(set)
    with engine.connect().execution_options(**READ_ONLY) as conn:
        for ods, month, received in conn.execute(query):
            reported[ods].add(month)
            if received.date() > _deadline(month):
                late[ods] += 1
    span = _month_span(months)
    return [
        {"ods": ods, "late": late[ods], "missing_months": [m for m in span if m not in reported[ods]]}
        for ods in sorted(reported)
    ]


def _month_span(months: list[str]) -> list[str]:
    if not months:
        return []
    out, current = [], date.fromisoformat(f"{months[0]}-01")
    last = date.fromisoformat(f"{months[-1]}-01")
    while current <= last:
        out.append(current.strftime("%Y-%m"))
        current = (current.replace(day=28) + timedelta(days=4)).replace(day=1)
    return out
