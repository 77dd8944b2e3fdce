"""Facade feed tokens expire, rotate and record their last use (issue 11): an expired token is a 401 exactly
like an unknown one; ``serve-token rotate`` keeps the old token for a grace period (or refuses it at once);
``serve-token list`` shows the last use, written beside the token file at most once a minute per token."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhir_family.cli import main
from fhir_family.facade import feed_tokens
from fhir_family.facade.feed_tokens import hash_token, last_use_path
from test_facade_auth import _client, _submit


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    return tmp_path / "feeds.json"


def _cli(*args: str):
    return CliRunner().invoke(main, ["serve-token", *args])


def _answer(client, examples_dir, token):
    response = _submit(client, examples_dir, token)
    return response.status_code, response.get_data(as_text=True)


def _age(token_file: Path, feed: str, key: str, by: timedelta) -> None:
    """Move an expiry into the past, as time passing would."""
    data = json.loads(token_file.read_text())
    for entry in data["feeds"]:
        if entry["feed"] == feed:
            if key == "expires_at":
                entry["expires_at"] = (datetime.now(UTC) - by).isoformat(timespec="seconds")
            else:
                for old in entry["previous"]:
                    old["expires_at"] = (datetime.now(UTC) - by).isoformat(timespec="seconds")
    token_file.write_text(json.dumps(data))


def test_an_expired_feed_token_answers_exactly_as_an_unknown_one(token_file, collector_validator,
                                                                  examples_dir):
    issued = _cli("issue", "--feed", "epr", "--ods", "XFF01", "--expires-in", "30d",
                  "--file", str(token_file))
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip()
    client = _client(token_file, collector_validator)
    assert _submit(client, examples_dir, token).status_code == 502  # accepted; the collector is unreachable
    assert "active until" in _cli("list", "--file", str(token_file)).output
    _age(token_file, "epr", "expires_at", timedelta(seconds=1))
    assert _answer(client, examples_dir, token) == _answer(client, examples_dir, "fff_never-issued")
    assert _answer(client, examples_dir, token)[0] == 401
    assert "\texpired " in _cli("list", "--file", str(token_file)).output
    bad = _cli("issue", "--feed", "epr", "--ods", "XFF01", "--expires-in", "soon", "--file", str(token_file))
    assert bad.exit_code == 2 and bad.output.count("\n") == 1


def test_rotation_keeps_the_old_feed_token_for_the_grace_period(token_file, collector_validator,
                                                                examples_dir):
    old = _cli("issue", "--feed", "epr", "--ods", "XFF01", "--file", str(token_file)).stdout.strip()
    client = _client(token_file, collector_validator)
    rotated = _cli("rotate", "--feed", "epr", "--grace", "2h", "--file", str(token_file))
    assert rotated.exit_code == 0, rotated.output
    new = rotated.stdout.strip()
    assert new != old and new not in token_file.read_text() and old not in token_file.read_text()
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert _submit(client, examples_dir, old).status_code == 502  # still accepted, within the grace period
    assert _submit(client, examples_dir, new).status_code == 502
    assert "old token active until" in _cli("list", "--file", str(token_file)).output
    _age(token_file, "epr", "previous", timedelta(seconds=1))  # the grace period over
    assert _answer(client, examples_dir, old) == _answer(client, examples_dir, "fff_never-issued")
    assert _submit(client, examples_dir, new).status_code == 502
    at_once = _cli("rotate", "--feed", "epr", "--grace", "0", "--file", str(token_file))
    assert at_once.exit_code == 0
    assert _submit(client, examples_dir, new).status_code == 401
    assert _submit(client, examples_dir, at_once.stdout.strip()).status_code == 502
    missing = _cli("rotate", "--feed", "nope", "--file", str(token_file))
    assert missing.exit_code == 2 and "no feed 'nope'" in missing.output


def test_last_use_is_recorded_beside_the_file_at_most_once_a_minute(
    token_file, collector_validator, examples_dir, monkeypatch
):
    token = _cli("issue", "--feed", "epr", "--ods", "XFF01", "--file", str(token_file)).stdout.strip()
    assert "never used" in _cli("list", "--file", str(token_file)).output
    writes = []
    real = feed_tokens.record_last_use
    monkeypatch.setattr(feed_tokens, "record_last_use", lambda *a: writes.append(a) or real(*a))
    stamp = token_file.stat().st_mtime_ns
    client = _client(token_file, collector_validator)
    for _ in range(20):
        assert client.post("/submit", data=b"{}", content_type="application/fhir+json",
                           headers={"Authorization": f"Bearer {token}"}).status_code != 401
    assert len(writes) == 1  # 20 requests within the minute: one look at the last-use file
    assert token_file.stat().st_mtime_ns == stamp  # the token file itself is never written by the facade
    uses = json.loads(last_use_path(token_file).read_text())
    assert list(uses) == [hash_token(token)] and token not in last_use_path(token_file).read_text()
    assert stat.S_IMODE(last_use_path(token_file).stat().st_mode) == 0o600
    listed = _cli("list", "--file", str(token_file)).output
    assert f"last used {datetime.now(UTC):%Y-%m-%d}" in listed
    # Another process within the minute does not write again (checked under the lock).
    assert feed_tokens.record_last_use(token_file, hash_token(token), datetime.now(UTC)) is False
    later = datetime.now(UTC) + timedelta(minutes=2)
    assert feed_tokens.record_last_use(token_file, hash_token(token), later) is True
