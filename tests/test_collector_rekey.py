"""Re-keying (issue 11): `fhir-family collector rekey` moves every pseudonym and the key fingerprint to a new
key in one transaction; a collector started with the new key treats a resend as a no-op and a correction as
superseding, and the figures do not change. SQLite and PostgreSQL (``db_url``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from fhir_family.cli import main
from fhir_family.collector.keychain import unwrap, wrap
from fhir_family.collector.keys import FINGERPRINT_SETTING, fingerprint
from fhir_family.collector.reports import raw_counts
from fhir_family.collector.schema import (
    ChildFact,
    CollectorSetting,
    FhirIdentifier,
    FhirResource,
    FhirResourceVersion,
    StoredResource,
    Submission,
)
from fhir_family.collector.settings import ConfigurationError
from fhir_family.collector.tokens import issue_token
from fhir_family.mapping.bundle import build_bundle
from test_collector_ingest import auth, make_record, post

KEY_A = "first-collector-key-0123456789abcdefghij"
KEY_B = "second-collector-key-0123456789abcdefghi"
KEY_C = "third-collector-key-" + "x" * 80  # longer than HMAC's block: kept as its hash in the chain


def _start(make_collector, db_url, key):
    app = make_collector(db_url, PSEUDONYM_KEY=key)
    return app, app.extensions["fhir_family_collector"]


def _rekey(db_url, tmp_path, old, new):
    (tmp_path / "old.key").write_text(old + "\n")
    (tmp_path / "new.key").write_text(new + "\n")
    args = ["collector", "rekey", "--db", db_url, "--old-key-file", str(tmp_path / "old.key"),
            "--new-key-file", str(tmp_path / "new.key")]
    return CliRunner().invoke(main, args)


def _snapshot(collector) -> dict:
    with collector.sessions() as session:
        return {
            "submissions": session.scalar(select(func.count()).select_from(Submission)),
            "current": session.scalar(
                select(func.count()).select_from(Submission).where(Submission.status == "current")
            ),
            "children": session.scalar(select(func.count()).select_from(ChildFact)),
            "resources": session.scalar(select(func.count()).select_from(StoredResource)),
            "report": raw_counts(collector.engine),
        }


def _stored_text(collector) -> str:
    with collector.sessions() as session:
        parts = [row.bundle_json + row.patient_pseudonym for row in session.scalars(select(Submission))]
        parts += [row.body for row in session.scalars(select(StoredResource))]
        parts += [row.child_pseudonym or "" for row in session.scalars(select(ChildFact))]
        parts += [row.body for row in session.scalars(select(FhirResource))]
        parts += [row.body for row in session.scalars(select(FhirResourceVersion))]
        parts += [row.value or "" for row in session.scalars(select(FhirIdentifier))]
    return "\n".join(parts)


@pytest.fixture
def loaded(db_url, make_collector, monkeypatch):
    monkeypatch.delenv("FHIR_FAMILY_OLD_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("FHIR_FAMILY_NEW_PSEUDONYM_KEY", raising=False)
    app, collector = _start(make_collector, db_url, KEY_A)
    token = issue_token(collector.sessions, "provider", "RXA")
    client = app.test_client()
    for n in (1, 2, 3):
        assert post(client, build_bundle(make_record(n)), token).status_code == 200
    with collector.sessions() as session:
        old_pseudonyms = set(session.scalars(select(Submission.patient_pseudonym)))
        old_pseudonyms |= set(session.scalars(select(ChildFact.child_pseudonym)))
    before = _snapshot(collector)
    collector.engine.dispose()
    return token, before, old_pseudonyms


def test_rekey_then_resends_are_no_ops_and_corrections_supersede(db_url, make_collector, tmp_path, loaded):
    token, before, old_pseudonyms = loaded
    result = _rekey(db_url, tmp_path, KEY_A, KEY_B)
    assert result.exit_code == 0, result.output
    assert "rekey: submissions 3/3" in result.stderr and "rekey: child_facts 6/6" in result.stderr
    assert "re-keyed 3 submission(s), 6 child fact(s)" in result.stdout

    with pytest.raises(ConfigurationError, match="differs from the one"):
        _start(make_collector, db_url, KEY_A)  # the old key no longer opens the database
    app, collector = _start(make_collector, db_url, KEY_B)
    stored = _stored_text(collector)
    assert not [p for p in old_pseudonyms if p in stored]  # every pseudonym moved, in every copy
    assert KEY_A not in stored
    with collector.sessions() as session:
        assert session.get(CollectorSetting, FINGERPRINT_SETTING).value == fingerprint(KEY_B.encode())
        settings_text = " ".join(row.value for row in session.scalars(select(CollectorSetting)))
    assert KEY_A not in settings_text and KEY_A.encode().hex() not in settings_text
    assert _snapshot(collector) == before

    client = app.test_client()
    # the FHIR store moved too: an NHS number still finds its one Patient, through the new key's pseudonym
    nhs = make_record(2).nhs_number
    search = f"/fhir/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|{nhs}"
    found = client.get(search, headers=auth(token))
    assert found.status_code == 200 and found.get_json()["total"] == 1, found.get_json()
    resend = post(client, build_bundle(make_record(2)), token)
    assert resend.status_code == 200, resend.get_json()
    assert {e["response"]["status"] for e in resend.get_json()["entry"]} == {"200 OK"}
    assert _snapshot(collector) == before
    fixed = make_record(1, submission_id="sub-RXA-1-fixed", timestamp=datetime(2026, 11, 9, tzinfo=UTC))
    assert post(client, build_bundle(fixed), token).status_code == 200
    read = client.get("/Bundle/sub-RXA-1", headers=auth(token))
    assert read.headers["X-Submission-Status"] == "superseded"
    assert read.headers["X-Superseded-By"] == "sub-RXA-1-fixed"
    after = _snapshot(collector)
    assert (after["submissions"], after["current"]) == (4, 3)
    assert after["report"] == before["report"]  # the correction replaced, it did not add a patient
    collector.engine.dispose()

    # A second re-keying chains on (B, then C; C is over 64 bytes); the stored chain opens with C only.
    result = _rekey(db_url, tmp_path, KEY_B, KEY_C)
    assert result.exit_code == 0, result.output
    app, collector = _start(make_collector, db_url, KEY_C)
    again = post(app.test_client(), build_bundle(make_record(3)), token)
    assert {e["response"]["status"] for e in again.get_json()["entry"]} == {"200 OK"}
    assert _snapshot(collector) == after
    collector.engine.dispose()


def test_rekey_with_the_wrong_old_key_changes_nothing(db_url, make_collector, tmp_path, loaded):
    _token, before, _old = loaded
    result = _rekey(db_url, tmp_path, KEY_C, KEY_B)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "old key does not match this database's key fingerprint" in result.output
    app, collector = _start(make_collector, db_url, KEY_A)  # still the old key's database, untouched
    assert _snapshot(collector) == before
    collector.engine.dispose()


def test_rekey_reads_keys_from_the_environment_and_refuses_the_same_key(
    db_url, make_collector, tmp_path, loaded, monkeypatch
):
    same = CliRunner().invoke(main, ["collector", "rekey", "--db", db_url], env={
        "FHIR_FAMILY_OLD_PSEUDONYM_KEY": KEY_A, "FHIR_FAMILY_NEW_PSEUDONYM_KEY": KEY_A + "\n"})
    assert same.exit_code == 2 and "is the old one" in same.output
    moved = CliRunner().invoke(main, ["collector", "rekey", "--db", db_url], env={
        "FHIR_FAMILY_OLD_PSEUDONYM_KEY": KEY_A + "\n", "FHIR_FAMILY_NEW_PSEUDONYM_KEY": KEY_B})
    assert moved.exit_code == 0, moved.output
    _start(make_collector, db_url, KEY_B)[1].engine.dispose()


def test_the_mismatch_error_names_the_rekey_command(db_url, make_collector, loaded):
    with pytest.raises(ConfigurationError) as refused:
        _start(make_collector, db_url, KEY_B)
    assert "fhir-family collector rekey" in str(refused.value)


def test_rekey_without_keys_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.delenv("FHIR_FAMILY_OLD_PSEUDONYM_KEY", raising=False)
    result = CliRunner().invoke(main, ["collector", "rekey", "--db", f"sqlite:///{tmp_path / 'c.sqlite'}"])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "--old-key-file" in result.output
    assert "Traceback" not in result.output


def test_an_earlier_key_opens_only_with_the_key_it_was_wrapped_under():
    wrapped = wrap(KEY_B.encode(), KEY_A.encode())
    assert unwrap(KEY_B.encode(), wrapped) == KEY_A.encode()
    assert KEY_A not in wrapped and KEY_A.encode().hex() not in wrapped
    assert wrap(KEY_B.encode(), KEY_A.encode()) != wrapped  # a fresh nonce each time
    with pytest.raises(ConfigurationError, match="cannot be opened"):
        unwrap(KEY_C.encode(), wrapped)
