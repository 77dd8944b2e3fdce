"""Pseudonymisation key safety (issue 11): one normal form from env and file, 32 bytes minimum, and a
fingerprint in the database so a collector started with another key refuses to start, in one line."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from fhir_family.cli import main
from fhir_family.collector.app import create_app
from fhir_family.collector.keys import FINGERPRINT_SETTING, fingerprint
from fhir_family.collector.schema import CollectorSetting
from fhir_family.collector.settings import ConfigurationError, normalise_key, read_pseudonym_key

KEY = "a-collector-key-of-forty-bytes-0123456789"
OTHER = "another-collector-key-0123456789abcdefgh"


def _app(db: str, key: str | bytes, validator):
    return create_app({"DATABASE_URL": db, "PSEUDONYM_KEY": key, "VALIDATOR": validator})


def test_env_and_file_give_the_same_key(tmp_path, monkeypatch):
    key_file = tmp_path / "k"
    key_file.write_text(KEY + "\n")
    monkeypatch.delenv("FHIR_FAMILY_PSEUDONYM_KEY", raising=False)
    from_file = read_pseudonym_key(key_file)
    monkeypatch.setenv("FHIR_FAMILY_PSEUDONYM_KEY", KEY + "\n")  # export KEY="$(cat k; echo)"
    assert read_pseudonym_key(key_file) == from_file == KEY.encode()
    assert normalise_key(KEY + "\r\n") == normalise_key(KEY) == KEY.encode()
    assert normalise_key(KEY + "\n\n") == (KEY + "\n").encode()  # only one newline: the rest is key


def test_keys_shorter_than_32_bytes_are_refused(tmp_path, monkeypatch, collector_validator):
    with pytest.raises(ConfigurationError, match="at least 32"):
        _app(f"sqlite:///{tmp_path / 'c.sqlite'}", "x" * 31, collector_validator)
    monkeypatch.setenv("FHIR_FAMILY_PSEUDONYM_KEY", "short-key\n")
    result = CliRunner().invoke(main, ["collector", "--db", f"sqlite:///{tmp_path / 'd.sqlite'}"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "at least 32" in result.output


def test_a_changed_key_is_refused_at_start(tmp_path, monkeypatch, collector_validator):
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    first = _app(db, KEY, collector_validator)
    sessions = first.extensions["fhir_family_collector"].sessions
    with sessions() as session:
        query = select(CollectorSetting.value).where(CollectorSetting.name == FINGERPRINT_SETTING)
        stored = session.scalar(query)
    assert stored == fingerprint(KEY.encode()) and KEY not in stored
    _app(db, KEY + "\n", collector_validator)  # the same key, with the newline a file or echo adds
    with pytest.raises(ConfigurationError, match="differs from the one"):
        _app(db, OTHER, collector_validator)
    key_file = tmp_path / "other.key"
    key_file.write_text(OTHER + "\n")
    monkeypatch.delenv("FHIR_FAMILY_PSEUDONYM_KEY", raising=False)
    result = CliRunner().invoke(main, ["collector", "--db", db, "--key-file", str(key_file)])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "differs from the one" in result.output
