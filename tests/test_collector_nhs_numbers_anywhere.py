"""Any valid NHS number, wherever a return carries it, is pseudonymised (issue 11): under another identifier
system, inside an episode identifier or the submission id, in any free text the profiles allow. Planted in
every such place, sent by HTTP and by ``$import``, then looked for in the SQLite file and its WAL, every table
(audit and import outcomes included), the logs and the export: none found."""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import MetaData, select

from conftest import wait_until
from fhir_family.cli import main
from fhir_family.collector.tokens import issue_token
from fhir_family.mapping.bundle import build_bundle
from fhir_family.mapping.nhs_number import is_valid_nhs_number, synthetic_nhs_number
from fhir_family.model import NATIONAL_RETURN_BUNDLE
from fhir_family.validation import any_errors
from test_collector_ingest import auth, make_record, post


def _forms(number: str) -> list[str]:
    return [number, f"{number[:3]} {number[3:6]} {number[6:]}", f"{number[:3]}-{number[3:6]}-{number[6:]}"]


def planted_bundle(n: int) -> tuple[dict, list[str]]:
    """A national return (patient ``n``) with a different valid NHS number in each identifier and free-text
    element the profiles accept, besides the patient's and children's own; the numbers planted."""
    numbers = iter(synthetic_nhs_number(10_000 * n + i) for i in range(1, 40))
    planted: list[str] = []

    def number() -> str:
        value = next(numbers)
        planted.append(value)
        return value

    record = replace(
        make_record(n),
        submission_id=f"sub-{number()}",
        service_request_id=f"SR-{number()}",
        local_patient_id=f"P{number()}",
        organisation_name=f"Trust {number()}",
    )
    bundle = build_bundle(record)
    organisation, patient, episode, child = (bundle["entry"][i]["resource"] for i in range(4))
    spaced = _forms(number())[1]
    hyphened = _forms(number())[2]
    bundle["id"] = number()
    bundle.setdefault("meta", {})["tag"] = [
        {"system": "https://ehr.example.org/tags", "code": number(), "display": f"tag {number()}"}
    ]
    for resource in (organisation, patient, episode, child):
        resource["identifier"].append({"system": "https://ehr.example.org/Id/local", "value": number()})
        resource["identifier"].append({"system": f"urn:oid:{number()}", "value": "x"})
        resource.setdefault("meta", {})["source"] = f"https://ehr.example.org/{number()}"
    patient["extension"].append({"url": "https://ehr.example.org/ext", "valueString": f"note {spaced}"})
    episode["id"] = number()
    episode["identifier"][0]["type"] = {"text": f"episode of {hyphened}"}
    episode["identifier"][0]["assigner"] = {"display": number()}
    episode["patient"]["display"] = f"patient {number()}"
    child["relationship"][0]["text"] = f"daughter {number()}"
    child["relationship"][0]["coding"][0]["display"] = f"natural daughter {number()}"
    own = [identifier["value"] for e in bundle["entry"] for identifier in e["resource"].get("identifier", [])
           if identifier["system"] == "https://fhir.nhs.uk/Id/nhs-number"]
    assert all(is_valid_nhs_number(value) for value in planted)
    return bundle, [*planted, *own]


def _raw_forms(numbers: list[str]) -> list[str]:
    return [form for number in numbers for form in _forms(number)]


@pytest.fixture
def app(db_url, make_collector):
    return make_collector(db_url)


def test_planted_returns_are_conformant(collector_validator):
    bundle, planted = planted_bundle(1)
    issues = collector_validator.issues(bundle, NATIONAL_RETURN_BUNDLE)
    assert not any_errors(issues), [i.diagnostics for i in issues if any_errors([i])]
    assert len(planted) > 20


def _all_table_text(collector) -> str:
    metadata = MetaData()
    metadata.reflect(collector.engine)
    parts = []
    with collector.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                parts.append(" ".join(str(value) for value in row))
    return "\n".join(parts)


def test_no_planted_number_rests_anywhere(app, db_url, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    collector = app.extensions["fhir_family_collector"]
    token = issue_token(collector.sessions, "provider", "RXA")
    client = app.test_client()
    sent, numbers = planted_bundle(1)
    response = post(client, sent, token)
    assert response.status_code == 200, response.get_json()
    assert post(client, copy.deepcopy(sent), token).status_code == 200  # a resend is still a no-op
    # The provider reads its return by the id it sent (stored with the number pseudonymised).
    submission_id = sent["identifier"]["value"]
    read = client.get(f"/Bundle/{submission_id}", headers=auth(token))
    assert read.status_code == 200 and read.headers["X-Submission-Status"] == "current"
    searched = client.get(f"/Bundle?identifier={submission_id}", headers=auth(token)).get_json()
    assert searched["total"] == 1

    # The same through $import: three planted returns in one NDJSON body.
    lines, imported_numbers = [], []
    for n in (2, 3, 4):
        bundle, planted = planted_bundle(n)
        lines.append(json.dumps(bundle))
        imported_numbers += planted
    started = client.post("/$import", data="\n".join(lines), headers=auth(token),
                          content_type="application/fhir+ndjson")
    assert started.status_code == 202
    status_url = started.headers["Content-Location"]

    def finished():
        answer = client.get(status_url, headers=auth(token))
        return answer.get_json() if answer.status_code == 200 else None

    result = wait_until(finished, timeout=120)
    assert [line["status"] for line in result["outcomes"]] == [201, 201, 201], result
    # A refused return that quotes numbers leaves an audit row and an outcome row: masked there too.
    refused, refused_numbers = planted_bundle(5)
    refused["entry"][1]["resource"]["birthDate"] = "not-a-date"
    assert post(client, refused, token).status_code == 422

    export = tmp_path / "export"
    exported = CliRunner().invoke(main, ["export", "--out", str(export), "--db", db_url])
    assert exported.exit_code == 0, exported.output
    everything = numbers + imported_numbers + refused_numbers
    raw = _raw_forms(everything)

    places = {
        "tables": _all_table_text(collector),
        "logs": caplog.text,
        "export": "\n".join(p.read_text(errors="replace") for p in export.rglob("*") if p.is_file()),
        "answers": json.dumps(result),
    }
    if db_url.startswith("sqlite"):
        database = Path(db_url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            file = database.with_name(database.name + suffix)
            if file.exists():
                places[file.name] = file.read_bytes().decode("utf-8", errors="replace")
        assert database.with_name(database.name + "-wal").exists()  # scanned before any checkpoint folds it
    found = {place: sorted({form for form in raw if form in text}) for place, text in places.items()}
    assert found == {place: [] for place in places}
    assert "Patient" in places["tables"] and len(places["export"]) > 1000  # the scans did read something


def test_numbers_pseudonymised_anywhere_follow_a_rekeying(db_url, make_collector, tmp_path):
    """Pseudonyms inside other strings (the submission id, an episode identifier, free text) move with the
    key too: after re-keying, a resend of a planted return is still a no-op and its id still reads."""
    first, second = "planted-key-A-0123456789abcdefghijkl", "planted-key-B-0123456789abcdefghijkl"
    app = make_collector(db_url, PSEUDONYM_KEY=first)
    collector = app.extensions["fhir_family_collector"]
    token = issue_token(collector.sessions, "provider", "RXA")
    sent, _numbers = planted_bundle(1)
    assert post(app.test_client(), sent, token).status_code == 200
    collector.engine.dispose()
    (tmp_path / "a.key").write_text(first)
    (tmp_path / "b.key").write_text(second)
    moved = CliRunner().invoke(main, ["collector", "rekey", "--db", db_url, "--old-key-file",
                                      str(tmp_path / "a.key"), "--new-key-file", str(tmp_path / "b.key")])
    assert moved.exit_code == 0, moved.output
    app = make_collector(db_url, PSEUDONYM_KEY=second)
    client = app.test_client()
    again = post(client, copy.deepcopy(sent), token)
    assert {e["response"]["status"] for e in again.get_json()["entry"]} == {"200 OK"}, again.get_json()
    assert client.get(f"/Bundle/{sent['identifier']['value']}", headers=auth(token)).status_code == 200
    app.extensions["fhir_family_collector"].engine.dispose()


def test_the_stored_form_of_an_id_reads_even_when_its_pseudonym_holds_ten_digits(app):
    """A pseudonym's hex may hold ten digits that pass modulus 11 (about 1 in 170): reading the id in its
    stored form (the Content-Location answered) must not pseudonymise it a second time and miss."""
    from conftest import TEST_PSEUDONYM_KEY
    from fhir_family.collector.pseudonym import Pseudonymiser

    pseudo = Pseudonymiser(TEST_PSEUDONYM_KEY.encode())
    number = next(
        candidate for candidate in (synthetic_nhs_number(n) for n in range(60_000, 70_000))
        if pseudo.pseudonymise_text(pseudo.pseudonym(candidate)) != pseudo.pseudonym(candidate)
    )
    collector = app.extensions["fhir_family_collector"]
    token = issue_token(collector.sessions, "provider", "RXA")
    client = app.test_client()
    sent = build_bundle(replace(make_record(1), submission_id=f"sub-{number}"))
    response = post(client, sent, token)
    assert response.status_code == 200
    location = response.headers["Content-Location"]
    assert location == f"Bundle/sub-{pseudo.pseudonym(number)}"
    assert client.get(f"/{location}", headers=auth(token)).status_code == 200
    assert client.get(f"/Bundle/sub-{number}", headers=auth(token)).status_code == 200
    stored_id = location.removeprefix("Bundle/")
    assert client.get(f"/Bundle?identifier={stored_id}", headers=auth(token)).get_json()["total"] == 1
