"""What ``fhir-family up`` sets up and prints, without starting servers: demo tokens that do not pile up
across runs, a welcome that names the guide pages, and a report that explains its columns."""

from __future__ import annotations

import json
from pathlib import Path

from fhir_family.collector.database import make_engine, migrate, session_factory
from fhir_family.collector.reports import MEASURES, publish, to_table
from fhir_family.collector.tokens import authenticate, issue_token, list_tokens
from fhir_family.commands import up


def _sessions(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'c.sqlite'}")
    migrate(engine)
    return session_factory(engine)


def _active_demo_tokens(sessions) -> int:
    return sum(1 for row in list_tokens(sessions) if row.label.startswith("demo-") and row.revoked_at is None)


def test_demo_tokens_are_reused_and_stale_ones_revoked(tmp_path):
    sessions = _sessions(tmp_path)
    token_file = tmp_path / "demo-tokens.json"
    first = up.demo_tokens(sessions, token_file)
    token_file.write_text(json.dumps(first))
    assert up.demo_tokens(sessions, token_file) == first  # a second run reuses them
    assert _active_demo_tokens(sessions) == len(up.DEMO_PROVIDERS) + 1
    token_file.unlink()  # the file lost: new tokens, and the old ones stop working
    third = up.demo_tokens(sessions, token_file)
    assert set(third.values()).isdisjoint(first.values())
    assert all(authenticate(sessions, token) is None for token in first.values())
    assert _active_demo_tokens(sessions) == len(up.DEMO_PROVIDERS) + 1
    mine = issue_token(sessions, "analyst", label="my-own")  # a token the user issued is left alone
    up.demo_tokens(sessions, token_file)
    assert authenticate(sessions, mine) is not None


def test_the_welcome_names_the_pages_and_the_report_explains_its_columns(tmp_path):
    demo = up.Demo(
        var_dir=tmp_path, collector_url="http://127.0.0.1:9", facade_url="http://127.0.0.1:8",
        collector_port=9, facade_port=8, db_url="sqlite://", key_file=tmp_path / "k", engine=None,
        tokens={"analyst": "t"}, token_file=tmp_path / "t.json", feed_token_file=tmp_path / "f.json",
        logs={}, env={},
    )
    text = up._welcome(demo)
    assert "http://127.0.0.1:8/ig/" in text and "http://127.0.0.1:8/openapi.json" in text
    table = to_table(publish({("RXA", "2025-12"): dict.fromkeys(MEASURES, 40)}))
    assert "PS11 = PRNTSTAT 11: all children live with patient" in table
    assert "LAC = Looked-after children" in table


def test_the_demo_month_is_large_enough_that_the_report_shows_figures():
    """Every measure of each synthetic provider at the default size is above the disclosure threshold
    (1 to 7 is suppressed), so the demo report is figures, not '*'."""
    from collections import Counter

    from fhir_family.collector.synthetic import synthetic_month

    records = list(synthetic_month("2025-12", up.DEMO_PATIENTS_PER_PROVIDER))
    for ods in ("RXA", "RXB", "RXC"):
        mine = [record for record in records if record.ods_code == ods]
        children = [child for record in mine for child in record.children]
        counts = [
            *Counter(record.parental_status for record in mine).values(),
            *Counter(child.residence for child in children).values(),
            sum(child.young_carer == "Y" for child in children),
            sum("child-protection-plan" in child.help for child in children),
            sum("looked-after" in child.help for child in children),
        ]
        # the five PRNTSTAT statuses and not-asked (guide 0.2)
        assert len(Counter(record.parental_status for record in mine)) == 6
        assert min(counts) > 7, (ods, counts)
