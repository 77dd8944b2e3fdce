"""Submission ids are each provider's own (issue 11): two providers may use the same id independently, and
another provider's id, read or sent, answers exactly as an id never used. Migration 0006 keeps existing rows
and their provider. SQLite and PostgreSQL (``db_url``)."""

from __future__ import annotations

import json

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from conftest import TEST_PSEUDONYM_KEY
from fhir_family.collector.database import MIGRATIONS_DIR, make_engine
from fhir_family.collector.facts import extract
from fhir_family.collector.pseudonym import Pseudonymiser
from fhir_family.collector.schema import CURRENT, ChildFact, StoredResource, Submission
from fhir_family.collector.store import child_fact_values, prepare_return, stored_resources, submission_values
from fhir_family.collector.tokens import issue_token
from fhir_family.mapping.bundle import build_bundle
from test_collector_ingest import auth, make_record, post


@pytest.fixture
def app(db_url, make_collector):
    return make_collector(db_url)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def tokens(app):
    sessions = app.extensions["fhir_family_collector"].sessions
    return {ods: issue_token(sessions, "provider", ods) for ods in ("RXA", "RXB")}


def _same_id(ods: str, n: int):
    return build_bundle(make_record(n, ods=ods, submission_id="shared-2026-10-0001"))


def _masked(response, *ids: str) -> tuple[int, str]:
    """Status and body with the ids named in it masked (a never-used id differs from the probed one)."""
    text = response.get_data(as_text=True)
    for value in ids:
        text = text.replace(value, "ID")
    return response.status_code, text


def test_two_providers_use_the_same_submission_id_independently(client, tokens):
    first = post(client, _same_id("RXA", 1), tokens["RXA"])
    second = post(client, _same_id("RXB", 2), tokens["RXB"])
    assert (first.status_code, second.status_code) == (200, 200), second.get_json()
    assert {e["response"]["status"] for e in second.get_json()["entry"]} == {"201 Created"}
    locations_a = {e["response"]["location"] for e in first.get_json()["entry"]}
    locations_b = {e["response"]["location"] for e in second.get_json()["entry"]}
    assert not locations_a & locations_b  # server ids derive from (provider, id): no collision
    own_a = client.get("/Bundle/shared-2026-10-0001", headers=auth(tokens["RXA"]))
    own_b = client.get("/Bundle/shared-2026-10-0001", headers=auth(tokens["RXB"]))
    assert own_a.status_code == own_b.status_code == 200
    assert '"RXA"' in own_a.get_data(as_text=True) and '"RXB"' in own_b.get_data(as_text=True)
    # Each resends its own: a no-op for each, not a 409 from the other's row.
    again = post(client, _same_id("RXB", 2), tokens["RXB"])
    assert again.status_code == 200
    assert {e["response"]["location"] for e in again.get_json()["entry"]} == locations_b
    # Different content under one provider's own id is still a 409.
    assert post(client, _same_id("RXB", 3), tokens["RXB"]).status_code == 409


def test_another_providers_id_reads_as_one_never_used(client, tokens):
    body = post(client, build_bundle(make_record(1, ods="RXA", submission_id="a-only")), tokens["RXA"])
    probed = client.get("/Bundle/a-only", headers=auth(tokens["RXB"]))
    never = client.get("/Bundle/never-used", headers=auth(tokens["RXB"]))
    assert _masked(probed, "a-only") == _masked(never, "never-used")
    assert probed.status_code == 404
    location = body.get_json()["entry"][1]["response"]["location"].removesuffix("/_history/1")
    resource_id = location.split("/")[1]
    probed = client.get(f"/{location}", headers=auth(tokens["RXB"]))
    never_id = "00000000-0000-5000-8000-000000000000"
    never = client.get(f"/Patient/{never_id}", headers=auth(tokens["RXB"]))
    assert _masked(probed, resource_id) == _masked(never, never_id)
    searched = client.get("/Bundle?identifier=a-only", headers=auth(tokens["RXB"])).get_json()
    assert searched["total"] == 0


def test_sending_another_providers_id_answers_as_a_new_id(client, tokens):
    """Taking an id first no longer blocks its owner: the second provider's return is stored, 201 each."""
    taken = post(client, build_bundle(make_record(1, ods="RXB", submission_id="a-will-use")), tokens["RXB"])
    fresh = post(client, build_bundle(make_record(1, ods="RXA", submission_id="a-new-id")), tokens["RXA"])
    owner = post(client, build_bundle(make_record(2, ods="RXA", submission_id="a-will-use")), tokens["RXA"])
    assert taken.status_code == fresh.status_code == owner.status_code == 200
    statuses = lambda r: [e["response"]["status"] for e in r.get_json()["entry"]]  # noqa: E731
    assert statuses(owner) == statuses(fresh)


def _alembic(connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def test_migration_0006_keeps_existing_rows_and_scopes_ids(db_url, make_collector):
    """A database at 0005 (the revision before 0006) with returns (children, resources with the old server
    ids) is migrated: nothing is lost (the SQLite table rebuild must not cascade-delete children), a resend
    answers the old locations, and the database itself now allows one id per provider."""
    engine = make_engine(db_url)
    with engine.begin() as connection:
        command.upgrade(_alembic(connection), "0005")
    pseudo = Pseudonymiser(TEST_PSEUDONYM_KEY.encode())
    bundle = build_bundle(make_record(1, ods="RXA", submission_id="before-0006"))
    facts = extract(bundle)
    prepared = prepare_return(bundle, facts, pseudo)
    old_ids = stored_resources(prepared.stored, "before-0006")  # ids derived as before 0006
    with engine.begin() as connection:
        pk = connection.execute(
            insert(Submission.__table__),
            {
                **submission_values(prepared, pseudo.pseudonym(facts.nhs_number)),
                "received_at": facts.timestamp,
                "status": CURRENT,
                "superseded_by": None,
            },
        ).inserted_primary_key[0]
        connection.execute(
            insert(ChildFact.__table__),
            [{"submission_pk": pk, **row} for row in child_fact_values(facts, pseudo)],
        )
        connection.execute(
            insert(StoredResource.__table__),
            [
                {"submission_pk": pk, "position": pos, "resource_type": rtype, "resource_id": rid,
                 "body": json.dumps(body)}
                for pos, rtype, rid, body in old_ids
            ],
        )
    engine.dispose()

    app = make_collector(db_url)  # migrates to head
    collector = app.extensions["fhir_family_collector"]
    with collector.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 1
        assert session.scalar(select(func.count()).select_from(ChildFact)) == 2
        assert session.scalar(select(func.count()).select_from(StoredResource)) == len(old_ids)
        assert session.scalar(select(Submission.ods_code)) == "RXA"
    token = issue_token(collector.sessions, "provider", "RXA")
    client = app.test_client()
    resend = post(client, bundle, token)
    assert resend.status_code == 200
    locations = [e["response"]["location"] for e in resend.get_json()["entry"]]
    assert locations == [f"{rtype}/{rid}/_history/1" for _pos, rtype, rid, _body in old_ids]
    assert client.get(f"/{locations[1]}", headers=auth(token)).status_code == 200
    # The database refuses a second row for the same provider and id, and allows it for another provider.
    row = {
        **submission_values(prepared, "f" * 64),
        "received_at": facts.timestamp,
        "status": "superseded",
        "superseded_by": None,
    }
    with pytest.raises(IntegrityError), collector.engine.begin() as connection:
        connection.execute(insert(Submission.__table__), row)
    with collector.engine.begin() as connection:
        connection.execute(insert(Submission.__table__), {**row, "ods_code": "RXB"})
    # The partial index "one current return per provider, patient and period" survived the rebuild.
    with pytest.raises(IntegrityError), collector.engine.begin() as connection:
        connection.execute(
            insert(Submission.__table__),
            {
                **row,
                "submission_id": "other",
                "status": CURRENT,
                "patient_pseudonym": pseudo.pseudonym(facts.nhs_number),
            },
        )
