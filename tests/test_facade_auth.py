"""Who may write through the facade (issue 11): a feed's bearer token, bound to its ODS codes; no content type
a web page can send cross-site without a preflight; CORS only as configured; mapping endpoints stay open."""

from __future__ import annotations

import socket
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhir_family.cli import main
from fhir_family.facade.app import create_app
from fhir_family.facade.feed_tokens import issue_feed_token

BUNDLE = "young-carer-daughter.json"  # reporting provider XFF01


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    return tmp_path / "feeds.json"


def _client(token_file: Path | None, collector_validator, **config):
    settings = {"VALIDATOR": collector_validator, "COLLECTOR_URL": _closed_port_url(), "COLLECTOR_RETRIES": 0,
                "FEED_TOKENS_FILE": str(token_file) if token_file else None, **config}
    return create_app(settings).test_client()


def _code(response) -> str:
    return response.get_json()["issue"][0]["details"]["coding"][0]["code"]


def _submit(client, examples_dir, token: str | None = None, content_type: str = "application/fhir+json"):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = (examples_dir / "bundles" / BUNDLE).read_bytes()
    return client.post("/submit", data=body, content_type=content_type, headers=headers)


def test_submit_without_a_token_is_401_and_nothing_is_forwarded(token_file, collector_validator, examples_dir,
                                                              monkeypatch):
    monkeypatch.delenv("FHIR_FAMILY_FEED_TOKENS", raising=False)
    issue_feed_token(token_file, "epr", ["XFF01"])
    response = _submit(_client(token_file, collector_validator), examples_dir)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert _code(response) == "FF-FACADE-NO-TOKEN"
    unknown = _submit(_client(token_file, collector_validator), examples_dir, token="fff_guessed")
    assert (unknown.status_code, _code(unknown)) == (401, "FF-FACADE-BAD-TOKEN")


def test_a_facade_without_a_token_file_refuses_every_write(collector_validator, examples_dir, monkeypatch):
    monkeypatch.delenv("FHIR_FAMILY_FEED_TOKENS", raising=False)
    response = _submit(_client(None, collector_validator), examples_dir, token="fff_anything")
    assert response.status_code == 401
    assert "FEED_TOKENS_FILE" in response.get_json()["issue"][0]["diagnostics"]


def test_a_feed_submits_only_for_its_own_ods_codes(token_file, collector_validator, examples_dir):
    other = issue_feed_token(token_file, "other-trust", ["RX4"])
    own = issue_feed_token(token_file, "epr", ["XFF01"])
    client = _client(token_file, collector_validator)
    refused = _submit(client, examples_dir, token=other)
    assert (refused.status_code, _code(refused)) == (403, "FF-FACADE-ODS-FORBIDDEN")
    assert "XFF01" in refused.get_json()["issue"][0]["diagnostics"]
    passed = _submit(client, examples_dir, token=own)  # authorised: it reaches forwarding (collector is down)
    assert (passed.status_code, _code(passed)) == (502, "FF-FORWARD-UNREACHABLE")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x"])
def test_types_a_browser_sends_cross_site_without_preflight_are_415(token_file, collector_validator,
                                                                    examples_dir, content_type):
    token = issue_feed_token(token_file, "epr", ["XFF01", "RX4"])
    response = _submit(_client(token_file, collector_validator), examples_dir, token, content_type)
    assert response.status_code == 415
    assert response.get_json()["resourceType"] == "OperationOutcome"
    hl7 = next((examples_dir / "ehr" / "hl7v2").glob("a04-*.hl7")).read_bytes()
    client = _client(token_file, collector_validator)
    sent = client.post("/submit", data=hl7, content_type="x-application/hl7-v2+er7",
                       headers={"Authorization": f"Bearer {token}"})
    assert sent.status_code == 502  # HL7 under its own media type is still accepted, mapped and forwarded


def test_serve_token_cli_issues_rotates_lists_and_revokes(token_file, collector_validator, examples_dir):
    runner = CliRunner()
    issued = runner.invoke(main, ["serve-token", "issue", "--feed", "epr", "--ods", "XFF01",
                                  "--file", str(token_file)])
    assert issued.exit_code == 0, issued.output
    token = issued.output.strip()
    assert token.startswith("fff_") and token not in token_file.read_text()
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    client = _client(token_file, collector_validator)
    assert _submit(client, examples_dir, token).status_code == 502
    listed = runner.invoke(main, ["serve-token", "list", "--file", str(token_file)])
    assert listed.output.startswith("epr\tXFF01\t")
    rotated = runner.invoke(main, ["serve-token", "issue", "--feed", "epr", "--ods", "XFF01",
                                   "--file", str(token_file)]).output.strip()
    assert _submit(client, examples_dir, token).status_code == 401  # the old token stops working at once
    assert _submit(client, examples_dir, rotated).status_code == 502
    revoked = runner.invoke(main, ["serve-token", "revoke", "--feed", "epr", "--file", str(token_file)])
    assert revoked.exit_code == 0
    assert _submit(client, examples_dir, rotated).status_code == 401
    again = runner.invoke(main, ["serve-token", "revoke", "--feed", "epr", "--file", str(token_file)])
    assert again.exit_code == 2 and "no feed 'epr'" in again.output
    bad = runner.invoke(main, ["serve-token", "issue", "--feed", "x", "--ods", "lower",
                               "--file", str(token_file)])
    assert bad.exit_code == 2 and "ODS" in bad.output


def test_a_broken_token_file_stops_serve_with_one_line(tmp_path):
    broken = tmp_path / "feeds.json"
    broken.write_text("{not json")
    result = CliRunner().invoke(main, ["serve", "--port", "0", "--feed-tokens", str(broken)])
    assert result.exit_code == 2
    assert "not a feed-token file" in result.output and "Traceback" not in result.output


def test_no_cors_headers_unless_configured(token_file, collector_validator):
    origin = {"Origin": "https://evil.example"}
    plain = _client(token_file, collector_validator)
    for response in (plain.get("/metadata", headers=origin), plain.options("/submit", headers=origin)):
        assert not [name for name, _value in response.headers if name.lower().startswith("access-control")]
    allowed = "https://ehr.example.nhs.uk"
    configured = _client(token_file, collector_validator, CORS_ORIGINS=(allowed,))
    preflight = configured.options("/submit", headers={"Origin": allowed,
                                                       "Access-Control-Request-Method": "POST"})
    assert preflight.headers["Access-Control-Allow-Origin"] == allowed
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    other = configured.get("/metadata", headers=origin)
    assert "Access-Control-Allow-Origin" not in other.headers


def test_mapping_only_endpoints_stay_open(token_file, collector_validator, examples_dir):
    payload = (examples_dir / "ehr" / "json" / "mother-two-children.json").read_bytes()
    response = _client(token_file, collector_validator).post("/ehr/json", data=payload,
                                                             content_type="application/json")
    assert response.status_code == 200
