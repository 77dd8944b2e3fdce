"""Aggregate figures by provider and month, with disclosure control, as JSON, CSV, a text table or HTML.

Only current returns count (superseded ones are history). The parental-status breakdown is published under
the NDTMS PRNTSTAT codes 11-15 (docs/model.md ConceptMap ``parental-status-to-ndtms-prntstat``), so figures
compare with the drug and alcohol return; ``not-asked`` has no PRNTSTAT code and is its own column, so the
share of patients nobody asked is a published figure (guide.md 0.1). ``parental_resp_y`` is the MHSDS
``ParentalResp`` indicator derived as guide.md 0.6 writes it. Figures per local authority (the patient's for
returns, the child's own or else the patient's for children) are a second table (``local_authority_report``).
"""

from __future__ import annotations

import csv
import html
import io
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, and_, case, func, select

from ..model import NOT_ASKED, PARENT_PRNTSTAT_CODES, PARENTAL_STATUS_TO_PRNTSTAT
from .database import READ_ONLY
from .disclosure import SUPPRESSED, Cell, Group, protect
from .schema import CURRENT, ChildFact, Submission

NATIONAL = "ALL"

#: measure key -> column heading; order is the published column order.
MEASURES: dict[str, str] = {
    "returns": "Patients with a return",
    "parents": "Parents identified",
    "prntstat_11": "PRNTSTAT 11: all children live with patient",
    "prntstat_12": "PRNTSTAT 12: some children live with patient",
    "prntstat_13": "PRNTSTAT 13: no children live with patient",
    "prntstat_14": "PRNTSTAT 14: not a parent",
    "prntstat_15": "PRNTSTAT 15: declined to answer",
    "not_asked": "Not asked (no PRNTSTAT code)",
    "parental_resp_y": "MHSDS ParentalResp Y: holds PR for a child under 18",
    "children": "Dependent children",
    "children_full_time": "Children living with the patient full-time",
    "children_part_time": "Children living with the patient part-time",
    "children_pr_held": "Children for whom the patient holds PR",
    "young_carers": "Young carers",
    "children_cp_plan": "Children with a child protection plan",
    "children_looked_after": "Looked-after children",
}

LEGEND = (
    "* = suppressed (1 to 7, or hidden so that a suppressed figure cannot be worked out from totals); "
    "other figures rounded to the nearest 5; 0 is a true zero."
)


@dataclass(frozen=True)
class Report:
    generated_at: str
    rows: list[dict[str, Any]]
    """One dict per (ods, month): ``ods``, ``month`` and every measure (int or ``*``)."""
    scope: str
    local_authorities: list[dict[str, Any]] | None = None
    """``publish_local_authorities`` rows; None when ``publish`` was given no counts per local authority, so
    no empty table is shown as if it were counted."""


def current_returns(ods_code: str | None, month: str | None) -> list[Any]:
    """The filters of the current returns a report counts: one provider's or all, one month or all."""
    filters = [Submission.status == CURRENT]
    if ods_code:
        filters.append(Submission.ods_code == ods_code)
    if month:
        filters.append(Submission.report_month == month)
    return filters


def raw_counts(
    engine: Engine, ods_code: str | None = None, month: str | None = None
) -> dict[tuple[str, str], dict[str, int]]:
    """True counts per (ods, month) from current returns; never published as they are."""
    filters = current_returns(ods_code, month)
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(MEASURES, 0))
    with engine.connect().execution_options(**READ_ONLY) as conn:
        status_rows = conn.execute(
            select(Submission.ods_code, Submission.report_month, Submission.parental_status, func.count())
            .where(*filters)
            .group_by(Submission.ods_code, Submission.report_month, Submission.parental_status)
        )
        for ods, month_value, status, n in status_rows:
            row = counts[(ods, month_value)]
            row["returns"] += n
            code = PARENTAL_STATUS_TO_PRNTSTAT.get(status)
            if status == NOT_ASKED:
                row["not_asked"] += n
            if code:
                row[f"prntstat_{code}"] += n
                if code in PARENT_PRNTSTAT_CODES:
                    row["parents"] += n

        resp_rows = conn.execute(
            select(Submission.ods_code, Submission.report_month, func.count())
            .where(*filters, Submission.parental_resp == "Y")
            .group_by(Submission.ods_code, Submission.report_month)
        )
        for ods, month_value, n in resp_rows:
            counts[(ods, month_value)]["parental_resp_y"] += n

        def flag(condition: Any) -> Any:
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

        child_rows = conn.execute(
            select(
                Submission.ods_code,
                Submission.report_month,
                func.count(ChildFact.id),
                flag(ChildFact.residence == "full-time"),
                flag(ChildFact.residence == "part-time"),
                flag(ChildFact.pr_held == "Y"),
                flag(ChildFact.young_carer == "Y"),
                flag(ChildFact.child_protection_plan.is_(True)),
                flag(ChildFact.looked_after.is_(True)),
            )
            .join(ChildFact, and_(ChildFact.submission_pk == Submission.id))
            .where(*filters)
            .group_by(Submission.ods_code, Submission.report_month)
        )
        for ods, month_value, children, full, part, pr, carers, cpp, lac in child_rows:
            row = counts[(ods, month_value)]
            row.update(
                children=children,
                children_full_time=int(full),
                children_part_time=int(part),
                children_pr_held=int(pr),
                young_carers=int(carers),
                children_cp_plan=int(cpp),
                children_looked_after=int(lac),
            )
    return dict(counts)


def _groups(keys: list[tuple[str, str]], with_national: bool) -> list[Group]:
    """The sums a reader can check: each breakdown within a row, each column against the national row."""
    groups: list[Group] = []
    for ods, month in keys:
        groups.append(
            Group(
                (*((ods, month, f"prntstat_{c}") for c in ("11", "12", "13", "14", "15")),
                 (ods, month, "not_asked")),
                (ods, month, "returns"),
            )
        )
        groups.append(
            Group(
                tuple((ods, month, f"prntstat_{c}") for c in PARENT_PRNTSTAT_CODES), (ods, month, "parents")
            )
        )
    if with_national:
        months = sorted({month for ods, month in keys if ods != NATIONAL})
        for month in months:
            providers = [ods for ods, m in keys if m == month and ods != NATIONAL]
            for measure in MEASURES:
                groups.append(
                    Group(tuple((ods, month, measure) for ods in providers), (NATIONAL, month, measure))
                )
    return groups


def build_report(engine: Engine, ods_code: str | None = None, month: str | None = None) -> Report:
    """The published report: all providers plus national rows (analysts), or one provider's own rows; with
    the figures per local authority."""
    return publish(
        raw_counts(engine, ods_code, month), ods_code, local_authority_counts(engine, ods_code, month)
    )


def publish(
    counts: dict[tuple[str, str], dict[str, int]],
    ods_code: str | None = None,
    la_counts: dict[tuple[str, str], dict[str, int]] | None = None,
) -> Report:
    """National rows, disclosure control and layout over true counts per (ods, month), and per (GSS code,
    month) when ``la_counts`` is given, whichever engine counted them (this database, or DuckDB or Spark over
    the export: fhir_family.analytics)."""
    counts = {key: dict(row) for key, row in counts.items()}
    with_national = ods_code is None and bool(counts)
    if with_national:
        for (_ods, month_value), row in list(counts.items()):
            national = counts.setdefault((NATIONAL, month_value), dict.fromkeys(MEASURES, 0))
            for measure, value in row.items():
                national[measure] += value
    keys = sorted(counts, key=lambda k: (k[1], k[0] == NATIONAL, k[0]))
    flat: dict[Hashable, int] = {
        (ods, m, measure): v for (ods, m) in keys for measure, v in counts[(ods, m)].items()
    }
    cells: dict[Hashable, Cell] = protect(flat, _groups(keys, with_national))
    rows = [
        {"ods": ods, "month": m, **{measure: cells[(ods, m, measure)].published for measure in MEASURES}}
        for ods, m in keys
    ]
    return Report(
        generated_at=datetime.now(UTC).replace(microsecond=0).isoformat(),
        rows=rows,
        scope=f"provider {ods_code}" if ods_code else "all providers",
        local_authorities=None if la_counts is None else publish_local_authorities(la_counts, ods_code),
    )


#: local-authority measure key -> column heading
LA_MEASURES: dict[str, str] = {
    "returns": "Patients with a return (patient's local authority)",
    "not_asked": "Not asked",
    "parents": "Parents identified (PRNTSTAT 11-13)",
    "children": "Dependent children (child's local authority)",
}
UNKNOWN_LA = "unknown"
"""Returns and children with no local authority (returns stored before guide 0.2)."""


def local_authority_counts(
    engine: Engine, ods_code: str | None = None, month: str | None = None
) -> dict[tuple[str, str], dict[str, int]]:
    """True counts per (GSS code, month) from current returns; never published as they are."""
    filters = current_returns(ods_code, month)
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(LA_MEASURES, 0))
    parent_statuses = [s for s, c in PARENTAL_STATUS_TO_PRNTSTAT.items() if c in PARENT_PRNTSTAT_CODES]
    with engine.connect().execution_options(**READ_ONLY) as conn:
        for la, month_value, status, n in conn.execute(
            select(
                Submission.local_authority, Submission.report_month, Submission.parental_status, func.count()
            )
            .where(*filters)
            .group_by(Submission.local_authority, Submission.report_month, Submission.parental_status)
        ):
            row = counts[(la or UNKNOWN_LA, month_value)]
            row["returns"] += n
            row["not_asked"] += n if status == NOT_ASKED else 0
            row["parents"] += n if status in parent_statuses else 0
        for la, month_value, n in conn.execute(
            select(ChildFact.local_authority, Submission.report_month, func.count(ChildFact.id))
            .join(Submission, ChildFact.submission_pk == Submission.id)
            .where(*filters)
            .group_by(ChildFact.local_authority, Submission.report_month)
        ):
            counts[(la or UNKNOWN_LA, month_value)]["children"] += n
    return dict(counts)


def local_authority_report(
    engine: Engine, ods_code: str | None = None, month: str | None = None
) -> list[dict[str, Any]]:
    """Published figures per local authority and month from this database (``publish_local_authorities``)."""
    return publish_local_authorities(local_authority_counts(engine, ods_code, month), ods_code)


def publish_local_authorities(
    counts: dict[tuple[str, str], dict[str, int]], ods_code: str | None = None
) -> list[dict[str, Any]]:
    """Published figures per local authority and month (``la``, ``month``, each LA measure) over true counts
    per (GSS code, month), whichever engine counted them: disclosure controlled like the monthly report, each
    column's local authorities adding up to the England row (``ALL``, analysts only). For a provider
    (``ods_code``), its own patients only, protected on their own."""
    counts = {key: dict(row) for key, row in counts.items()}
    with_national = ods_code is None and bool(counts)
    if with_national:
        for (_la, month_value), row in list(counts.items()):
            national = counts.setdefault((NATIONAL, month_value), dict.fromkeys(LA_MEASURES, 0))
            for measure, value in row.items():
                national[measure] += value
    keys = sorted(counts, key=lambda k: (k[1], k[0] == NATIONAL, k[0]))
    flat: dict[Hashable, int] = {
        (la, m, measure): v for (la, m) in keys for measure, v in counts[(la, m)].items()
    }
    groups = []
    if with_national:
        for month_value in sorted({m for _la, m in keys}):
            members = [la for la, m in keys if m == month_value and la != NATIONAL]
            groups += [
                Group(tuple((la, month_value, measure) for la in members), (NATIONAL, month_value, measure))
                for measure in LA_MEASURES
            ]
    cells = protect(flat, groups)
    return [
        {"la": la, "month": m, **{measure: cells[(la, m, measure)].published for measure in LA_MEASURES}}
        for la, m in keys
    ]


def to_json(report: Report) -> dict[str, Any]:
    document: dict[str, Any] = {
        "generatedAt": report.generated_at,
        "scope": report.scope,
        "disclosureControl": LEGEND,
        "measures": MEASURES,
        "rows": report.rows,
    }
    if report.local_authorities is not None:
        document["localAuthorityMeasures"] = LA_MEASURES
        document["byLocalAuthority"] = report.local_authorities
    return document


def to_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["ods", "month", *MEASURES])
    for row in report.rows:
        writer.writerow([row["ods"], row["month"], *(row[m] for m in MEASURES)])
    return out.getvalue()


_SHORT = {
    "returns": "returns",
    "parents": "parents",
    "prntstat_11": "PS11",
    "prntstat_12": "PS12",
    "prntstat_13": "PS13",
    "prntstat_14": "PS14",
    "prntstat_15": "PS15",
    "not_asked": "not asked",
    "parental_resp_y": "PR (MHSDS)",
    "children": "children",
    "children_full_time": "full-time",
    "children_part_time": "part-time",
    "children_pr_held": "PR held",
    "young_carers": "carers",
    "children_cp_plan": "CP plan",
    "children_looked_after": "LAC",
}


def to_table(report: Report) -> str:
    """A fixed-width text table for the terminal."""
    headers = ["ODS", "month", *(_SHORT[m] for m in MEASURES)]
    body = [[row["ods"], row["month"], *(str(row[m]) for m in MEASURES)] for row in report.rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in body]
    if not body:
        lines.append("(no current returns)")
    lines.append(LEGEND)
    explained = (f"{_SHORT[m]} = {MEASURES[m]}" for m in MEASURES if _SHORT[m] != MEASURES[m])
    lines.append("Columns: " + "; ".join(explained))
    return "\n".join(lines)


def to_html(report: Report) -> str:
    """A self-contained HTML page (no scripts, no external assets)."""
    head = "".join(f"<th scope='col'>{html.escape(MEASURES[m])}</th>" for m in MEASURES)
    rows = "".join(
        "<tr>"
        + f"<th scope='row'>{html.escape(row['ods'])}</th><td>{html.escape(row['month'])}</td>"
        + "".join(f"<td class='{'sup' if row[m] == SUPPRESSED else 'num'}'>{row[m]}</td>" for m in MEASURES)
        + "</tr>"
        for row in report.rows
    )
    la_head = "".join(f"<th scope='col'>{html.escape(LA_MEASURES[m])}</th>" for m in LA_MEASURES)
    la_rows = "".join(
        "<tr>"
        + f"<th scope='row'>{html.escape(row['la'])}</th><td>{html.escape(row['month'])}</td>"
        + "".join(
            f"<td class='{'sup' if row[m] == SUPPRESSED else 'num'}'>{row[m]}</td>" for m in LA_MEASURES
        )
        + "</tr>"
        for row in report.local_authorities or []
    )
    by_la = (
        "<h2>By local authority of residence (ONS GSS code)</h2>"
        "<table><thead><tr><th scope='col'>Local authority</th><th scope='col'>Month</th>"
        f"{la_head}</tr></thead><tbody>{la_rows}</tbody></table>"
        if report.local_authorities is not None
        else ""
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>fhir-family collector: monthly report</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
        "th,td{border:1px solid #bbb;padding:.3em .5em;text-align:right}th[scope=col]{font-size:.8em;"
        "max-width:9em}td.sup{color:#a00}</style></head><body>"
        "<h1>Parents and dependent children in adult mental health services</h1>"
        f"<p>Current returns by provider and month ({html.escape(report.scope)}); generated "
        f"{html.escape(report.generated_at)}. {html.escape(LEGEND)}</p>"
        f"<table><thead><tr><th scope='col'>ODS</th><th scope='col'>Month</th>{head}</tr></thead>"
        f"<tbody>{rows}</tbody></table>{by_la}</body></html>"
    )
