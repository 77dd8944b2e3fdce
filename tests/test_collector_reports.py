"""Disclosure control rules (pure) and the monthly report over stored returns (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import json
import random
from collections import Counter

import pytest

from fhir_family.collector.disclosure import PRIMARY, SECONDARY, SUPPRESSED, Group, protect, round_to_5
from fhir_family.collector.reports import MEASURES, NATIONAL, _groups, build_report, publish, raw_counts
from fhir_family.collector.synthetic import synthetic_month
from fhir_family.collector.tokens import issue_token
from fhir_family.mapping.bundle import build_bundle


@pytest.mark.parametrize(
    ("value", "published"),
    [
        (0, 0),
        (1, SUPPRESSED),
        (5, SUPPRESSED),
        (7, SUPPRESSED),
        (8, 10),
        (10, 10),
        (12, 10),
        (13, 15),
        (17, 15),
        (18, 20),
        (102, 100),
        (103, 105),
    ],
)
def test_primary_suppression_and_rounding(value, published):
    assert protect({"x": value}, [])["x"].published == published


def test_round_to_5_has_no_ties_on_integers():
    assert [round_to_5(v) for v in range(8, 18)] == [10, 10, 10, 10, 10, 15, 15, 15, 15, 15]


def test_one_hidden_cell_in_a_row_hides_the_next_smallest():
    counts = {"a": 5, "b": 40, "c": 20, "total": 65}
    cells = protect(counts, [Group(("a", "b", "c"), "total")])
    assert cells["a"].suppressed == PRIMARY
    assert cells["c"].suppressed == SECONDARY
    assert cells["b"].suppressed is None and cells["total"].suppressed is None


def test_two_hidden_cells_need_no_secondary_suppression():
    counts = {"a": 5, "b": 3, "c": 20, "total": 28}
    cells = protect(counts, [Group(("a", "b", "c"), "total")])
    assert [cells[k].suppressed for k in ("a", "b", "c", "total")] == [PRIMARY, PRIMARY, None, None]


def test_a_hidden_total_counts_as_the_second_hidden_cell():
    counts = {"a": 3, "b": 0, "total": 3}
    cells = protect(counts, [Group(("a", "b"), "total")])
    assert (cells["a"].published, cells["b"].published, cells["total"].published) == (
        SUPPRESSED,
        0,
        SUPPRESSED,
    )


def test_zeros_are_shown_and_chosen_last():
    counts = {"a": 4, "b": 0, "c": 30, "total": 34}
    cells = protect(counts, [Group(("a", "b", "c"), "total")])
    assert cells["b"].published == 0
    assert cells["c"].suppressed == SECONDARY


def test_secondary_suppression_cascades_across_groups():
    """2x2 table with margins: hiding r1c1 (primary) hides r1c2 (row), which then leaves column c2 with one
    hidden cell, so r2c2 goes too, and then column c1 ... until every group has 0 or >= 2 hidden."""
    counts = {
        ("r1", "c1"): 3,
        ("r1", "c2"): 12,
        ("r1", "t"): 15,
        ("r2", "c1"): 30,
        ("r2", "c2"): 40,
        ("r2", "t"): 70,
        ("t", "c1"): 33,
        ("t", "c2"): 52,
        ("t", "t"): 85,
    }
    groups = [Group(((r, "c1"), (r, "c2")), (r, "t")) for r in ("r1", "r2", "t")]
    groups += [Group((("r1", c), ("r2", c)), ("t", c)) for c in ("c1", "c2", "t")]
    cells = protect(counts, groups)
    for group in groups:
        hidden = sum(1 for key in (*group.members, group.total) if cells[key].suppressed)
        assert hidden != 1
    assert cells[("r1", "c1")].suppressed == PRIMARY
    assert cells[("r1", "c2")].suppressed == SECONDARY


@pytest.mark.parametrize("seed", range(25))
def test_no_group_ever_has_exactly_one_hidden_cell(seed):
    """Random provider-by-measure tables with national totals: subtraction never recovers a hidden cell."""
    rng = random.Random(seed)
    providers = [f"P{i}" for i in range(rng.randint(1, 6))]
    keys = [(p, "2026-10") for p in providers]
    flat = {}
    for p in providers:
        statuses = [rng.choice((0, 0, 1, 3, 6, 9, 14, 40)) for _ in range(5)]
        row = dict.fromkeys(MEASURES, 0)
        for code, n in zip(("11", "12", "13", "14", "15"), statuses, strict=True):
            row[f"prntstat_{code}"] = n
        row["returns"] = sum(statuses)
        row["parents"] = sum(statuses[:3])
        row["children"] = rng.randint(0, 60)
        for key, value in row.items():
            flat[(p, "2026-10", key)] = value
    for measure in MEASURES:
        flat[(NATIONAL, "2026-10", measure)] = sum(flat[(p, "2026-10", measure)] for p in providers)
    keys.append((NATIONAL, "2026-10"))
    groups = _groups(keys, with_national=True)
    cells = protect(flat, groups)
    for group in groups:
        assert sum(1 for key in (*group.members, group.total) if cells[key].suppressed) != 1
    for key, cell in cells.items():
        if 1 <= flat[key] <= 7:
            assert cell.published == SUPPRESSED
        elif flat[key] == 0:
            assert cell.published == 0


@pytest.fixture
def loaded(db_url, make_collector):
    app = make_collector(db_url)
    collector = app.extensions["fhir_family_collector"]
    tokens = {ods: issue_token(collector.sessions, "provider", ods) for ods in ("RXA", "RXB", "RXC")}
    tokens["analyst"] = issue_token(collector.sessions, "analyst")
    records = list(synthetic_month(patients_per_provider=40))
    client = app.test_client()
    for record in records:
        response = client.post(
            "/",
            data=json.dumps(build_bundle(record)),
            headers={"Authorization": f"Bearer {tokens[record.ods_code]}"},
        )
        assert response.status_code == 200, response.get_json()
    return app, collector, tokens, records


def test_report_counts_match_the_returns_and_are_protected(loaded):
    _app, collector, _tokens, records = loaded
    raw = raw_counts(collector.engine)
    for ods in ("RXA", "RXB", "RXC"):
        mine = [r for r in records if r.ods_code == ods]
        row = raw[(ods, "2026-10")]
        assert row["returns"] == len(mine)
        statuses = Counter(r.parental_status for r in mine)
        assert row["prntstat_14"] == statuses["not-a-parent"]
        assert row["parents"] == sum(statuses[s] for s in statuses if s.endswith("live-with-patient"))
        children = [c for r in mine for c in r.children]
        assert row["children"] == len(children)
        assert row["children_full_time"] == sum(c.residence == "full-time" for c in children)
        assert row["children_pr_held"] == sum(c.pr_held == "Y" for c in children)
        assert row["young_carers"] == sum(c.young_carer == "Y" for c in children)
        assert row["children_cp_plan"] == sum("child-protection-plan" in c.help for c in children)
    report = build_report(collector.engine)
    national = next(row for row in report.rows if row["ods"] == NATIONAL)
    assert national["returns"] == round_to_5(len(records))
    for row in report.rows:
        for measure in MEASURES:
            value = row[measure]
            assert value == SUPPRESSED or value % 5 == 0


def test_report_over_http_analyst_sees_all_provider_sees_own(loaded):
    app, collector, tokens, _records = loaded
    client = app.test_client()
    analyst = {"Authorization": f"Bearer {tokens['analyst']}"}
    body = client.get("/reports/monthly?format=json", headers=analyst).get_json()
    assert {row["ods"] for row in body["rows"]} == {"RXA", "RXB", "RXC", NATIONAL}
    assert "suppressed" in body["disclosureControl"]
    text = client.get("/reports/monthly?format=csv", headers=analyst)
    assert text.content_type.startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(text.get_data(as_text=True))))
    assert [r["ods"] for r in rows] == ["RXA", "RXB", "RXC", NATIONAL]
    page = client.get("/reports/monthly?format=html", headers=analyst)
    assert page.status_code == 200 and b"<table>" in page.data
    own = client.get("/reports/monthly", headers={"Authorization": f"Bearer {tokens['RXB']}"}).get_json()
    assert [row["ods"] for row in own["rows"]] == ["RXB"]
    assert client.get("/reports/monthly").status_code == 401
    assert client.get("/reports/monthly?format=xml", headers=analyst).status_code == 400
    assert client.get("/reports/monthly?month=2026-13", headers=analyst).status_code == 400
    only = client.get("/reports/monthly?month=2026-10", headers=analyst).get_json()
    assert {row["month"] for row in only["rows"]} == {"2026-10"}
    # Query-string tokens are refused unless the (loopback demo) setting allows them.
    assert client.get(f"/reports/monthly?token={tokens['analyst']}").status_code == 401


def test_long_sqlite_reads_do_not_hold_the_write_lock(tmp_path):
    """Reports and export read in a DEFERRED transaction, so submissions are not blocked behind them."""
    import sqlite3

    from sqlalchemy import text

    from fhir_family.collector.database import READ_ONLY, make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'c.sqlite'}")
    migrate(engine)
    with engine.connect().execution_options(**READ_ONLY) as reader:
        reader.execute(text("SELECT count(*) FROM submissions")).scalar()
        other = sqlite3.connect(tmp_path / "c.sqlite", timeout=0.5, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # would raise "database is locked" if the reader held the lock
        other.execute("ROLLBACK")
        other.close()
    with engine.connect() as writer_style:
        writer_style.execute(text("SELECT 1"))
        other = sqlite3.connect(tmp_path / "c.sqlite", timeout=0.2, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError):
            other.execute("BEGIN IMMEDIATE")  # the default transaction does take the write lock
        other.close()


# -- guide 0.2 figures: not asked, ParentalResp, local authorities (loaded without the HTTP path) ----------


def _synthetic_store(url: str, patients: int = 60):
    from fhir_family.collector.bulk_load import bulk_load
    from fhir_family.collector.database import make_engine, migrate
    from fhir_family.collector.pseudonym import Pseudonymiser
    from fhir_family.collector.store import SubmissionStore
    from fhir_family.collector.synthetic import synthetic_month

    records = list(synthetic_month("2026-10", patients))
    engine = make_engine(url)
    migrate(engine)
    store = SubmissionStore(engine, Pseudonymiser(b"report-02-test-key-0123456789abcdef"))
    bulk_load(store, (build_bundle(r) for r in records), "test")
    return engine, records


def test_not_asked_and_parental_resp_are_counted_per_provider(db_url):
    from fhir_family.collector.facts import parental_resp

    engine, records = _synthetic_store(db_url)
    counts = raw_counts(engine)
    for ods in {r.ods_code for r in records}:
        mine = [r for r in records if r.ods_code == ods]
        row = counts[(ods, "2026-10")]
        assert row["not_asked"] == sum(r.parental_status == "not-asked" for r in mine) > 0
        assert row["parental_resp_y"] == sum(
            parental_resp(r.parental_status, [c.pr_held for c in r.children]) == "Y" for r in mine
        )
        assert row["returns"] == sum(row[f"prntstat_{c}"] for c in ("11", "12", "13", "14", "15")) + row[
            "not_asked"]


def test_a_lone_hidden_not_asked_cell_gets_a_partner():
    """not_asked is part of the status breakdown that adds up to returns: hiding it alone would let a reader
    subtract it back, so a second cell of the row is hidden too."""
    row = dict.fromkeys(MEASURES, 0)
    row.update(returns=100, prntstat_11=40, prntstat_12=20, prntstat_13=10, prntstat_14=27, not_asked=3,
               parents=70)
    published = publish({("RXA", "2026-10"): row}, "RXA").rows[0]
    assert published["not_asked"] == "*"
    assert published["prntstat_13"] == "*"  # the smallest non-zero partner in the row


def test_figures_per_local_authority_match_the_returns_and_are_protected(db_url):
    from fhir_family.collector.reports import local_authority_counts, local_authority_report

    engine, records = _synthetic_store(db_url)
    counts = local_authority_counts(engine)
    expected_returns: dict[str, int] = {}
    expected_children: dict[str, int] = {}
    for r in records:
        expected_returns[r.local_authority] = expected_returns.get(r.local_authority, 0) + 1
        for c in r.children:
            la = c.local_authority or r.local_authority
            expected_children[la] = expected_children.get(la, 0) + 1
    assert {la: row["returns"] for (la, _m), row in counts.items() if row["returns"]} == expected_returns
    assert {la: row["children"] for (la, _m), row in counts.items() if row["children"]} == expected_children
    published = local_authority_report(engine)
    england = next(row for row in published if row["la"] == NATIONAL)
    assert england["returns"] == 5 * ((len(records) + 2) // 5)
    cells = [row[m] for row in published for m in ("returns", "not_asked", "parents", "children")]
    assert all(v == "*" or v % 5 == 0 for v in cells)
    # no true count from 1 to 7 is ever shown
    for row in published:
        if row["la"] == NATIONAL:
            continue
        true = counts[(row["la"], row["month"])]
        for measure in ("returns", "not_asked", "parents", "children"):
            if 1 <= true[measure] <= 7:
                assert row[measure] == "*"


def test_the_table_by_local_authority_is_in_the_collectors_report_only(db_url):
    """The collector's report carries the table by local authority (JSON, HTML); a report another engine
    counted (publish over its counts) has none, rather than an empty table that would read as counted."""
    from fhir_family.collector.reports import to_html, to_json

    engine, _records = _synthetic_store(db_url, patients=20)
    ours = build_report(engine)
    assert to_json(ours)["byLocalAuthority"] == ours.local_authorities and ours.local_authorities
    assert "By local authority" in to_html(ours) and "E08000025" in to_html(ours)
    other = publish(raw_counts(engine))
    assert "byLocalAuthority" not in to_json(other) and "By local authority" not in to_html(other)
