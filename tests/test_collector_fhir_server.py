"""The proof of guide.md 0.7 ("safe on any FHIR server"): the collector's FHIR API applies national-return
transactions by the R4 rules (fhir_transaction.py), and loading every example twice, next month's return, two
providers' returns for one parent, an ended child and an ambiguous condition are counted resource by resource.
Runs on SQLite and PostgreSQL (``db_url``; PostgreSQL through ./scripts/run-tests.sh).

The example Bundles are built from the guide's records exactly as ``python -m fhir_family.guide.examples``
writes examples/bundles, so the proof always runs on the Bundle shape the code produces.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
import requests
from sqlalchemy import func, select

from conftest import TEST_PSEUDONYM_KEY, wait_until
from fhir_family.collector import facts
from fhir_family.collector.database import make_engine, migrate
from fhir_family.collector.fhir_store import (
    RESOURCES,
    VERSIONS,
    Token,
    count_by_type,
    find,
    insert_resource,
    parse_identifier_query,
)
from fhir_family.collector.fhir_transaction import (
    ForeignResourceError,
    PreconditionFailedError,
    apply_return,
    apply_transaction,
    describe_transaction,
)
from fhir_family.collector.pseudonym import Pseudonymiser
from fhir_family.collector.schema import Submission
from fhir_family.collector.tokens import issue_token
from fhir_family.errors import FhirFamilyError
from fhir_family.guide.examples.valid import MOTHER_THREE_CHILDREN, ODS_CODE, VALID_EXAMPLES
from fhir_family.mapping.bundle import build_bundle, identifier_query, provider_record_value
from fhir_family.model import (
    NATIONAL_RETURN_BUNDLE,
    NHS_NUMBER_SYSTEM,
    PROVIDER_RECORD_SYSTEM,
    PSEUDONYM_SYSTEM,
)
from fhir_family.validation import any_errors

PSEUDO = Pseudonymiser(TEST_PSEUDONYM_KEY.encode())
EXAMPLES = {stem: build_bundle(record) for stem, (_, record) in VALID_EXAMPLES.items()}
FEBRUARY = {
    "submission_id": f"{ODS_CODE}-202602-0001",
    "reporting_period_start": date(2026, 2, 1),
    "reporting_period_end": date(2026, 2, 28),
    "timestamp": datetime(2026, 3, 3, 9, 0, tzinfo=UTC),
}


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


def load(engine, bundle: dict, ods: str = ODS_CODE) -> dict:
    """Apply ``bundle`` (pseudonymised, as the collector stores it) in one database transaction."""
    with engine.begin() as connection:
        return apply_transaction(connection, PSEUDO.pseudonymise_bundle(bundle), ods)


def counts(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return count_by_type(connection)


def snapshot(engine) -> dict[tuple[str, str], tuple[int, str, dict]]:
    """(type, id) -> (version, owner, body) of every current resource."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(RESOURCES.c.resource_type, RESOURCES.c.resource_id, RESOURCES.c.version_id,
                   RESOURCES.c.ods_code, RESOURCES.c.body)
        )
        return {
            (r.resource_type, r.resource_id): (r.version_id, r.ods_code, json.loads(r.body)) for r in rows
        }


def version_rows(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(VERSIONS)).scalar_one()


def by_key(engine, resource_type: str, key: str) -> list[tuple[int, str, dict]]:
    """The current resources of ``resource_type`` whose provider-record identifier is ``key``."""
    with engine.connect() as connection:
        found = find(connection, resource_type, [[Token(PROVIDER_RECORD_SYSTEM, key)]])
    return [(row.version_id, row.ods_code, row.resource()) for row in found]


def statuses(response: dict) -> list[str]:
    return [entry["response"]["status"] for entry in response["entry"]]


def locations(response: dict) -> list[str]:
    return [entry["response"]["location"] for entry in response["entry"]]


def patient_key(record) -> str:
    return provider_record_value(record.ods_code, record.local_patient_id)


def child_key(record, child) -> str:
    return provider_record_value(record.ods_code, record.local_patient_id, child.local_id)


# -- the proof -----------------------------------------------------------------------------------------------


def test_every_example_loaded_twice_duplicates_nothing_and_changes_nothing(engine):
    records = [record for _, record in VALID_EXAMPLES.values()]
    expected = {
        "Organization": 1,  # one provider: created by the first return, found by ifNoneExist after
        "Patient": len(records),
        "EpisodeOfCare": len(records),
        "RelatedPerson": sum(len(record.children) for record in records),
    }
    first = [load(engine, bundle) for bundle in EXAMPLES.values()]
    assert counts(engine) == expected
    assert statuses(first[0]) == ["201 Created"] * len(first[0]["entry"])
    assert all(statuses(response)[0] == "200 OK" for response in first[1:])  # Organization: one match
    assert all(set(statuses(response)[1:]) == {"201 Created"} for response in first)
    before, versions_before = snapshot(engine), version_rows(engine)

    again = [load(engine, bundle) for bundle in EXAMPLES.values()]
    assert counts(engine) == expected
    assert {status for response in again for status in statuses(response)} == {"200 OK"}
    assert [locations(r) for r in again] == [locations(r) for r in first]  # the same resources, version 1
    assert snapshot(engine) == before  # not a byte changed: no version, no lastUpdated
    assert version_rows(engine) == versions_before


def test_next_months_return_updates_in_place(engine):
    january = MOTHER_THREE_CHILDREN
    eldest, *others = january.children
    february = replace(
        january,
        **FEBRUARY,
        date_asked=date(2026, 2, 10),
        children=(replace(eldest, help=("early-help",)), *others),
    )
    load(engine, build_bundle(january))
    before = snapshot(engine)
    response = load(engine, build_bundle(february))
    assert counts(engine) == {"Organization": 1, "Patient": 1, "EpisodeOfCare": 1, "RelatedPerson": 3}
    assert set(statuses(response)) == {"200 OK"}
    after = snapshot(engine)
    assert after.keys() == before.keys()  # the same logical ids: updated in place
    [(version, _, patient)] = by_key(engine, "Patient", patient_key(february))
    assert version == 2 and patient["meta"]["versionId"] == "2"
    status = next(e for e in patient["extension"] if e["url"].endswith("/parental-status"))
    assert {"url": "dateAsked", "valueDate": "2026-02-10"} in status["extension"]
    [(version, _, child)] = by_key(engine, "RelatedPerson", child_key(february, eldest))
    assert version == 2
    assert [e["valueCodeableConcept"]["coding"][0]["code"] for e in child["extension"]
            if e["url"].endswith("/help-and-protection")] == ["early-help"]
    for child_record in others:  # unchanged children keep their version
        assert [v for v, _, _ in by_key(engine, "RelatedPerson", child_key(february, child_record))] == [1]
    episode_key = provider_record_value(ODS_CODE, february.service_request_id)
    assert [v for v, _, _ in by_key(engine, "EpisodeOfCare", episode_key)] == [1]
    # Version 1 is kept as history.
    assert version_rows(engine) == len(before) + 2


def test_two_providers_returns_for_one_parent_give_two_patients_neither_overwritten(engine):
    """The same NHS number, and even the same local patient id and service request id, at two providers:
    the provider-scoped identifiers keep their resources apart."""
    first = replace(MOTHER_THREE_CHILDREN, ods_code="RXA", submission_id="RXA-1", organisation_name="Trust A")
    second = replace(
        MOTHER_THREE_CHILDREN,
        ods_code="RXB",
        submission_id="RXB-1",
        organisation_name="Trust B",
        parental_status="some-children-live-with-patient",
        children=MOTHER_THREE_CHILDREN.children[:1],
    )
    load(engine, build_bundle(first), "RXA")
    first_alone = snapshot(engine)
    load(engine, build_bundle(second), "RXB")
    both = snapshot(engine)
    assert counts(engine) == {"Organization": 2, "Patient": 2, "EpisodeOfCare": 2, "RelatedPerson": 4}
    assert {key: both[key] for key in first_alone} == first_alone  # provider A's resources: untouched
    [(_, owner_a, patient_a)] = by_key(engine, "Patient", patient_key(first))
    [(_, owner_b, patient_b)] = by_key(engine, "Patient", patient_key(second))
    assert (owner_a, owner_b) == ("RXA", "RXB") and patient_a["id"] != patient_b["id"]
    assert patient_a["managingOrganization"] != patient_b["managingOrganization"]
    # One parent: the same NHS number pseudonym on both Patients, and no raw NHS number stored.
    with engine.connect() as connection:
        same_parent = find(connection, "Patient",
                           [[Token(PSEUDONYM_SYSTEM, PSEUDO.pseudonym(first.nhs_number))]])
    assert len(same_parent) == 2
    assert first.nhs_number not in json.dumps(list(both.values()))
    # Each provider's resend still changes nothing of either.
    load(engine, build_bundle(first), "RXA")
    load(engine, build_bundle(second), "RXB")
    assert snapshot(engine) == both


def test_a_key_that_is_not_provider_scoped_would_overwrite_and_is_refused(engine):
    """Guide 0.1 keyed the Patient on the NHS number alone: the second provider's conditional update matched
    the first provider's Patient. A generic server would overwrite it; this one refuses (403), writes
    nothing, and so shows the hazard the provider-scoped identifiers remove."""
    load(engine, build_bundle(replace(MOTHER_THREE_CHILDREN, ods_code="RXA", submission_id="RXA-1")), "RXA")
    before = snapshot(engine)
    old_style = build_bundle(replace(MOTHER_THREE_CHILDREN, ods_code="RXB", submission_id="RXB-1"))
    old_style["entry"][1]["request"]["url"] = "Patient?" + identifier_query(
        NHS_NUMBER_SYSTEM, MOTHER_THREE_CHILDREN.nhs_number
    )
    with pytest.raises(ForeignResourceError) as refused:
        load(engine, old_style, "RXB")
    assert refused.value.http_status == 403
    assert refused.value.issues[0].expression == "Bundle.entry[1].request"
    assert snapshot(engine) == before


def test_a_child_ended_in_a_later_return_keeps_one_related_person_with_period_end(engine):
    january = MOTHER_THREE_CHILDREN
    eldest, *others = january.children
    february = replace(january, **FEBRUARY, children=(replace(eldest, ended=date(2026, 2, 14)), *others))
    load(engine, build_bundle(january))
    load(engine, build_bundle(february))
    assert counts(engine)["RelatedPerson"] == 3
    [(version, _, child)] = by_key(engine, "RelatedPerson", child_key(february, eldest))
    assert version == 2 and child["period"] == {"end": "2026-02-14"}
    load(engine, build_bundle(february))  # and a resend of that return changes nothing
    assert counts(engine)["RelatedPerson"] == 3
    assert [v for v, _, _ in by_key(engine, "RelatedPerson", child_key(february, eldest))] == [2]


def test_a_return_kept_as_history_on_arrival_is_described_not_applied(engine):
    """The collector's hook: a return stored as superseded on arrival (a later return for the same patient
    and period is already current) must not overwrite the newer resources; its answer says what the store
    holds."""
    newer = replace(MOTHER_THREE_CHILDREN, parental_status="some-children-live-with-patient")
    load(engine, build_bundle(newer))
    before = snapshot(engine)
    with engine.begin() as connection:
        stored = PSEUDO.pseudonymise_bundle(build_bundle(MOTHER_THREE_CHILDREN))
        answer = apply_return(connection, stored, ODS_CODE, current=False)
    assert snapshot(engine) == before
    assert set(statuses(answer)) == {"200 OK"}
    assert sorted(location.rsplit("/_history", 1)[0] for location in locations(answer)) == sorted(
        "/".join(key) for key in before
    )


def test_concurrent_returns_for_one_patient_create_it_once(engine):
    """Two returns for one patient in flight at once: the second's conditional update must wait for the
    first to commit and then find its Patient, not see "no match" and create a second one (on PostgreSQL the
    advisory lock on the key, on SQLite BEGIN IMMEDIATE)."""
    january = MOTHER_THREE_CHILDREN
    february = replace(january, **FEBRUARY, date_asked=date(2026, 2, 10))
    results: list[dict] = []
    with engine.connect() as first:
        transaction = first.begin()
        apply_transaction(first, PSEUDO.pseudonymise_bundle(build_bundle(january)), ODS_CODE)
        second = threading.Thread(target=lambda: results.append(load(engine, build_bundle(february))))
        second.start()
        if engine.dialect.name == "postgresql":  # the second transaction is waiting for the key's lock
            wait_until(lambda: _waiting_for_advisory_locks(engine))
        else:
            time.sleep(0.3)
        assert second.is_alive()
        transaction.commit()
    second.join(60)
    assert counts(engine) == {"Organization": 1, "Patient": 1, "EpisodeOfCare": 1, "RelatedPerson": 3}
    assert set(statuses(results[0])) == {"200 OK"}
    assert [v for v, _, _ in by_key(engine, "Patient", patient_key(february))] == [2]


def _waiting_for_advisory_locks(engine) -> bool:
    with engine.connect() as connection:
        waiting = connection.exec_driver_sql(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        ).scalar_one()
    return waiting > 0


def _plant(engine, resource_type: str, key_system: str, key: str, copies: int = 2) -> None:
    """``copies`` resources carrying the same identifier, as a careless loader might have left them."""
    with engine.begin() as connection:
        for n in range(copies):
            body = {"resourceType": resource_type, "id": f"planted-{n}",
                    "identifier": [{"system": key_system, "value": key}]}
            insert_resource(connection, resource_type, f"planted-{n}", ODS_CODE, body,
                            datetime.now(UTC))


def test_a_conditional_update_matching_two_resources_is_412_and_writes_nothing(engine):
    _plant(engine, "Patient", PROVIDER_RECORD_SYSTEM, patient_key(MOTHER_THREE_CHILDREN))
    before = snapshot(engine)
    with pytest.raises(PreconditionFailedError) as failed:
        load(engine, build_bundle(MOTHER_THREE_CHILDREN))
    assert failed.value.http_status == 412
    issue = failed.value.issues[0]
    assert issue.code == "duplicate" and issue.expression == "Bundle.entry[1].request.url"
    # The Organization's POST is processed before the PUTs and was rolled back with them: all or nothing.
    assert snapshot(engine) == before
    assert counts(engine) == {"Patient": 2}


def test_describing_a_resend_never_fails_even_where_a_condition_became_ambiguous(engine):
    _plant(engine, "Patient", PROVIDER_RECORD_SYSTEM, patient_key(MOTHER_THREE_CHILDREN))
    with engine.connect() as connection:
        stored = PSEUDO.pseudonymise_bundle(build_bundle(MOTHER_THREE_CHILDREN))
        answer = describe_transaction(connection, stored)
    assert [entry["response"] for entry in answer["entry"]][1] == {"status": "200 OK"}  # no single Patient


def test_a_conditional_create_matching_two_resources_is_412(engine):
    from fhir_family.model import ODS_SYSTEM

    _plant(engine, "Organization", ODS_SYSTEM, ODS_CODE)
    with pytest.raises(PreconditionFailedError) as failed:
        load(engine, build_bundle(MOTHER_THREE_CHILDREN))
    assert failed.value.issues[0].expression == "Bundle.entry[0].request.ifNoneExist"
    assert counts(engine) == {"Organization": 2}


def test_entries_are_processed_post_before_put_and_references_rewritten(engine):
    """http.html#trules: POST before PUT whatever the entry order; urn:uuid fullUrls become the assigned ids;
    the response keeps the request order."""
    bundle = copy.deepcopy(EXAMPLES["mother-with-pr-three-children-living-with-her"])
    bundle["entry"].reverse()  # the RelatedPersons first, the Organization's POST last
    response = load(engine, bundle)
    assert statuses(response)[-1] == "201 Created" and locations(response)[-1].startswith("Organization/")
    stored = snapshot(engine)
    organization = next(key for key in stored if key[0] == "Organization")
    patient = next(key for key in stored if key[0] == "Patient")
    assert stored[patient][2]["managingOrganization"] == {"reference": "/".join(organization)}
    for key, (_, _, body) in stored.items():
        assert "urn:uuid" not in json.dumps(body)
        if key[0] in ("RelatedPerson", "EpisodeOfCare"):
            assert body["patient"] == {"reference": "/".join(patient)}


def _edit(change):
    def edited() -> dict:
        bundle = copy.deepcopy(EXAMPLES["mother-with-pr-three-children-living-with-her"])
        change(bundle)
        return bundle

    return edited


def _set_request(index: int, **values):
    return _edit(lambda bundle: bundle["entry"][index]["request"].update(values))


def _duplicate_child(bundle: dict) -> None:
    bundle["entry"].append(copy.deepcopy(bundle["entry"][-1]) | {"fullUrl": "urn:uuid:0-0-0-0-1"})


def _dangling(bundle: dict) -> None:
    bundle["entry"][3]["resource"]["patient"]["reference"] = "urn:uuid:00000000-0000-0000-0000-000000000000"


@pytest.mark.parametrize(
    ("bundle", "expression", "text"),
    [
        (_set_request(3, method="DELETE"), "Bundle.entry[3].request.method", "POST and PUT entries only"),
        (_edit(_duplicate_child), "Bundle.entry[6].request", "identities overlap"),
        (_edit(_dangling), "Bundle.entry[3].resource", "names no entry"),
        (_set_request(1, url="Patient?name=smith"), "Bundle.entry[1].request.url", "not supported"),
        (_set_request(1, url="Patient/some-id"), "Bundle.entry[1].resource.id", "must equal the id"),
        (_set_request(1, url="Observation?identifier=x"), "Bundle.entry[1].request.url", "stores"),
        (_edit(lambda b: b.update(type="batch")), "Bundle", "must be 'transaction'"),
    ],
    ids=["delete", "overlap", "dangling-reference", "unsupported-parameter", "put-id-mismatch",
         "other-type", "batch"],
)
def test_a_transaction_the_server_cannot_process_is_400_and_writes_nothing(engine, bundle, expression, text):
    with pytest.raises(FhirFamilyError) as refused:
        load(engine, bundle())
    assert refused.value.http_status == 400
    assert refused.value.issues[0].expression == expression
    assert text in refused.value.issues[0].diagnostics
    assert counts(engine) == {}


def test_put_by_id_creates_then_updates(engine):
    """http.html#update: an absent id is created ("update as create"), a present one gets a new version."""
    bundle = copy.deepcopy(EXAMPLES["parent-declined-to-answer"])
    patient_entry = bundle["entry"][1]
    patient_entry["request"]["url"] = "Patient/declined-1"
    patient_entry["resource"]["id"] = "declined-1"
    assert statuses(load(engine, bundle))[1] == "201 Created"
    patient_entry["resource"]["gender"] = "other"
    response = load(engine, bundle)
    assert response["entry"][1]["response"]["location"] == "Patient/declined-1/_history/2"
    assert snapshot(engine)[("Patient", "declined-1")][2]["gender"] == "other"


def test_local_ids_with_search_special_characters_match_themselves(engine):
    """A vendor's id with | , $ \\ & and spaces: escaped and percent-encoded in the conditional URL, matched
    exactly by the server, so a resend still finds the same resources."""
    record = replace(MOTHER_THREE_CHILDREN, local_patient_id="P 7&8|x,y$\\z",
                     service_request_id="SR|1,2")
    load(engine, build_bundle(record))
    load(engine, build_bundle(record))
    assert counts(engine) == {"Organization": 1, "Patient": 1, "EpisodeOfCare": 1, "RelatedPerson": 3}
    assert len(by_key(engine, "Patient", patient_key(record))) == 1


def test_search_tokens_follow_the_fhir_escaping_rules():
    assert parse_identifier_query("identifier=a\\|b|c\\,d,|e&identifier=f") == [
        [Token("a|b", "c,d"), Token("", "e")],
        [Token(None, "f")],
    ]
    assert parse_identifier_query("identifier=sys|&_count=5", ignore=("_count",)) == [[Token("sys", None)]]


# -- reads and searches of the FHIR API ----------------------------------------------------------------------


@pytest.fixture
def reader(db_url, make_collector):
    """A collector app whose FHIR store holds the mother's return (applied straight to the store) and tokens
    for its provider, another provider and an analyst."""
    app = make_collector(db_url)
    collector = app.extensions["fhir_family_collector"]
    load(collector.engine, build_bundle(MOTHER_THREE_CHILDREN))
    sessions = collector.sessions
    tokens = {
        "mine": issue_token(sessions, "provider", ODS_CODE),
        "theirs": issue_token(sessions, "provider", "XFF02"),
        "analyst": issue_token(sessions, "analyst"),
    }
    return app.test_client(), {name: auth(token) for name, token in tokens.items()}


def test_a_provider_reads_and_searches_its_own_resources(reader):
    client, headers = reader
    key = f"{PROVIDER_RECORD_SYSTEM}|{patient_key(MOTHER_THREE_CHILDREN)}"
    found = client.get("/fhir/Patient", query_string={"identifier": key}, headers=headers["mine"])
    assert found.status_code == 200 and found.content_type == "application/fhir+json"
    searchset = found.get_json()
    assert searchset["type"] == "searchset" and searchset["total"] == 1
    patient = searchset["entry"][0]["resource"]
    assert searchset["entry"][0]["fullUrl"].endswith(f"/fhir/Patient/{patient['id']}")
    by_nhs = {"identifier": f"{NHS_NUMBER_SYSTEM}|{MOTHER_THREE_CHILDREN.nhs_number}"}
    assert client.get("/fhir/Patient", query_string=by_nhs, headers=headers["mine"]).get_json()["total"] == 1
    read = client.get(f"/fhir/Patient/{patient['id']}", headers=headers["mine"])
    assert read.status_code == 200 and read.headers["ETag"] == 'W/"1"' and read.get_json() == patient
    assert client.get(f"/fhir/Patient/{patient['id']}/_history/1", headers=headers["mine"]).status_code == 200
    children = client.get("/fhir/RelatedPerson?_count=2", headers=headers["mine"]).get_json()
    assert children["total"] == 3 and len(children["entry"]) == 2
    assert "_offset=2" in children["link"][0]["url"]
    # Another provider: sees nothing, reads nothing.
    theirs = client.get("/fhir/Patient", query_string=by_nhs, headers=headers["theirs"])
    assert theirs.get_json()["total"] == 0
    refused = client.get(f"/fhir/Patient/{patient['id']}", headers=headers["theirs"])
    assert refused.status_code == 403 and refused.get_json()["issue"][0]["code"] == "forbidden"


@pytest.mark.parametrize(
    ("path", "who", "status"),
    [
        ("/fhir/Patient?name=smith", "mine", 400),
        ("/fhir/Patient?identifier=", "mine", 400),
        ("/fhir/Patient?identifier=a|b|c", "mine", 400),
        ("/fhir/Patient?_count=many", "mine", 400),
        ("/fhir/Patient?_offset=99999999999999999999", "mine", 400),
        ("/fhir/Patient?identifier=%00", "mine", 400),
        ("/fhir/Patient/no-such-id", "mine", 404),
        ("/fhir/Patient/no-such-id/_history/abc", "mine", 404),
        ("/fhir/Patient/no-such-id/_history/99999999999999999999", "mine", 404),
        ("/fhir/Observation/1", "mine", 404),
        ("/fhir/Patient", None, 401),
        ("/fhir/Patient", "analyst", 403),
    ],
)
def test_bad_reads_and_searches_are_operation_outcomes(reader, path, who, status):
    client, headers = reader
    response = client.get(path, headers=headers[who] if who else {})
    assert response.status_code == status
    assert response.get_json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    ("who", "body", "status"),
    [
        (None, "{}", 401),
        ("mine", "{not json", 400),
        ("mine", '{"resourceType": "Patient"}', 400),
        ("analyst", json.dumps(EXAMPLES["young-carer-daughter"]), 403),
    ],
    ids=["no-token", "not-json", "not-a-bundle", "analyst"],
)
def test_bad_transactions_are_operation_outcomes_and_write_nothing(reader, who, body, status):
    client, headers = reader
    response = client.post("/fhir", data=body, headers=headers[who] if who else {})
    assert response.status_code == status
    assert response.get_json()["resourceType"] == "OperationOutcome"
    assert client.get("/fhir/Patient", headers=headers["mine"]).get_json()["total"] == 1


def test_the_fhir_api_describes_itself(reader):
    client, _ = reader
    statement = client.get("/fhir/metadata").get_json()
    assert statement["resourceType"] == "CapabilityStatement" and statement["fhirVersion"] == "4.0.1"
    rest = statement["rest"][0]
    assert rest["interaction"] == [{"code": "transaction"}]
    assert {r["type"]: (r["conditionalCreate"], r["conditionalUpdate"]) for r in rest["resource"]} == {
        t: (True, True) for t in ("Patient", "RelatedPerson", "EpisodeOfCare", "Organization")
    }


# -- the collector's submit path and the FHIR API over HTTP ----------------------------------------------


@pytest.fixture(scope="module")
def submit_path_ready(collector_validator) -> None:
    """The collector validates and reads the facts of every return before it is applied. Until the 0.2
    profiles (g9-guide) and fact reader (g9-collector) are merged, this branch's validator and facts reject
    0.2 Bundles: the tests below then skip, saying so; once merged they run, and must pass."""
    bundle = EXAMPLES["mother-with-pr-three-children-living-with-her"]
    try:
        facts.extract(bundle)
    except FhirFamilyError as exc:
        pytest.skip(f"needs the g9-collector merge: the collector cannot read a 0.2 return yet ({exc})")
    errors = [i for i in collector_validator.issues(bundle, NATIONAL_RETURN_BUNDLE) if any_errors([i])]
    if errors:
        pytest.skip(f"needs the g9-guide merge: the validator rejects a 0.2 return ({errors[0].diagnostics})")


@pytest.fixture
def app(db_url, make_collector, submit_path_ready):
    return make_collector(db_url)


@pytest.fixture
def collector(app):
    return app.extensions["fhir_family_collector"]


@pytest.fixture
def tokens(collector):
    return {ods: issue_token(collector.sessions, "provider", ods) for ods in (ODS_CODE, "XFF02")}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}


def submissions(collector) -> int:
    with collector.sessions() as session:
        return session.scalar(select(func.count()).select_from(Submission))


def test_a_transaction_posted_to_the_fhir_endpoint_over_http(app, collector, tokens, serve):
    bundle = EXAMPLES["mother-with-pr-three-children-living-with-her"]
    mine, theirs = auth(tokens[ODS_CODE]), auth(tokens["XFF02"])
    with serve(app) as base:
        posted = requests.post(f"{base}/fhir", data=json.dumps(bundle), headers=mine, timeout=60)
        assert posted.status_code == 200, posted.text
        assert posted.headers["Content-Type"].startswith("application/fhir+json")
        answer = posted.json()
        assert answer["type"] == "transaction-response"
        assert statuses(answer) == ["201 Created"] * len(bundle["entry"])
        for entry, sent in zip(answer["entry"], bundle["entry"], strict=True):
            response = entry["response"]
            assert response["etag"] == 'W/"1"' and response["lastModified"].endswith("Z")
            read = requests.get(f"{base}/fhir/{response['location']}", headers=mine, timeout=30)
            assert read.status_code == 200 and read.json()["resourceType"] == sent["resource"]["resourceType"]
            current = requests.get(f"{base}/fhir/{response['location'].split('/_history')[0]}",
                                   headers=mine, timeout=30)
            assert current.headers["ETag"] == 'W/"1"'
            assert requests.get(f"{base}/fhir/{response['location']}", headers=theirs,
                                timeout=30).status_code == 403

        again = requests.post(f"{base}/fhir", data=json.dumps(bundle), headers=mine, timeout=60).json()
        assert set(statuses(again)) == {"200 OK"} and locations(again) == locations(answer)

        # Search by the raw NHS number: matched through its pseudonym, the provider's own resources only.
        query = {"identifier": f"{NHS_NUMBER_SYSTEM}|{MOTHER_THREE_CHILDREN.nhs_number}"}
        found = requests.get(f"{base}/fhir/Patient", params=query, headers=mine, timeout=30).json()
        assert found["type"] == "searchset" and found["total"] == 1
        patient = found["entry"][0]["resource"]
        assert patient["identifier"][0]["system"] == PSEUDONYM_SYSTEM
        assert MOTHER_THREE_CHILDREN.nhs_number not in json.dumps(found)
        theirs_found = requests.get(f"{base}/fhir/Patient", params=query, headers=theirs, timeout=30)
        assert theirs_found.json()["total"] == 0
        bad = requests.get(f"{base}/fhir/Patient?name=smith", headers=mine, timeout=30)
        assert bad.status_code == 400 and bad.json()["resourceType"] == "OperationOutcome"
        missing = requests.get(f"{base}/fhir/Patient/no-such-id", headers=mine, timeout=30)
        assert missing.status_code == 404 and missing.json()["resourceType"] == "OperationOutcome"
        metadata = requests.get(f"{base}/fhir/metadata", timeout=30).json()
        assert metadata["rest"][0]["resource"][0]["conditionalUpdate"] is True
    assert submissions(collector) == 1


def test_every_accepted_return_is_applied_and_a_rejected_one_writes_nothing(app, collector, tokens):
    client = app.test_client()
    mine = auth(tokens[ODS_CODE])
    # The submission API (POST /) takes the same path: its returns are in the FHIR store too.
    submitted = client.post("/", data=json.dumps(EXAMPLES["young-carer-daughter"]), headers=mine)
    assert submitted.status_code == 200
    assert counts(collector.engine)["Patient"] == 1
    _plant(collector.engine, "Patient", PROVIDER_RECORD_SYSTEM, patient_key(MOTHER_THREE_CHILDREN))
    before = snapshot(collector.engine)
    refused = client.post("/fhir", data=json.dumps(EXAMPLES["mother-with-pr-three-children-living-with-her"]),
                          headers=mine)
    assert refused.status_code == 412
    outcome = refused.get_json()
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["code"] == "duplicate"
    assert submissions(collector) == 1  # neither the return's facts nor any resource of it
    assert snapshot(collector.engine) == before


def test_a_bulk_import_applies_each_line_and_a_line_that_fails_rolls_back_alone(app, collector, tokens):
    """``$import`` stores a batch of lines in one transaction with a savepoint per line: each accepted line
    is applied to the FHIR store with its facts, a line refused by the FHIR rules (412) leaves nothing."""
    _plant(collector.engine, "Patient", PROVIDER_RECORD_SYSTEM, patient_key(MOTHER_THREE_CHILDREN))
    lines = [json.dumps(bundle) for bundle in EXAMPLES.values()]
    client = app.test_client()
    mine = auth(tokens[ODS_CODE])
    started = client.post("/$import", data="\n".join(lines + lines), headers=mine)
    assert started.status_code == 202
    status_path = "/" + started.headers["Content-Location"].split("://", 1)[1].split("/", 1)[1]

    def finished() -> dict | None:
        response = client.get(status_path, headers=mine)
        return response.get_json() if response.status_code == 200 else None

    done = wait_until(finished)
    rejected = [item for item in done["outcomes"] if item["status"] >= 400]
    assert [(item["line"], item["status"]) for item in rejected] == [(1, 412), (len(lines) + 1, 412)]
    others = [record for stem, (_, record) in VALID_EXAMPLES.items() if record is not MOTHER_THREE_CHILDREN]
    # a consent-withheld return flows as counts only (guide.md 0.6): stored, but no resource of it
    applied = [record for record in others if record.legal_basis != "consent-withheld"]
    assert counts(collector.engine) == {
        "Organization": 1,
        "Patient": len(applied) + 2,  # and the two planted ones
        "EpisodeOfCare": len(applied),
        "RelatedPerson": sum(len(record.children) for record in applied),
    }
    assert submissions(collector) == len(others)
