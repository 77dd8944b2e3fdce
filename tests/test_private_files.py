"""Files that may hold personal data are private (issue 11): the collector's SQLite database (and its WAL),
the $import spool and the export are created 0600 in folders created 0700, whatever the umask."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import TEST_PSEUDONYM_KEY
from fhir_family.cli import main
from fhir_family.collector import bulk
from fhir_family.collector.synthetic import synthetic_month
from fhir_family.collector.tokens import issue_token
from fhir_family.mapping.bundle import build_bundle
from fhir_family.private_files import open_private


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    """The widest umask a careless service file might set: nothing here may rely on the umask."""
    previous = os.umask(0o000)
    yield
    os.umask(previous)


@pytest.fixture
def loaded(tmp_path, make_collector, open_umask, monkeypatch):
    folder = tmp_path / "new" / "var"
    db = folder / "collector.sqlite"
    app = make_collector(f"sqlite:///{db}")
    collector = app.extensions["fhir_family_collector"]
    token = issue_token(collector.sessions, "provider", "RXA")
    spools: list[int] = []
    spool_body = bulk._spool_body

    def spying_spool() -> tuple[Path, int]:
        path, total = spool_body()
        spools.append(mode(path.path))
        return path, total

    monkeypatch.setattr(bulk, "_spool_body", spying_spool)
    records = [r for r in synthetic_month(patients_per_provider=2) if r.ods_code == "RXA"]
    body = "\n".join(json.dumps(build_bundle(record)) for record in records)
    answer = app.test_client().post("/$import", data=body, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 202
    return app, db, spools


def test_the_sqlite_database_and_its_folder_are_private(loaded):
    app, db, _spools = loaded
    with app.extensions["fhir_family_collector"].engine.connect() as connection:  # WAL open while we look
        connection.exec_driver_sql("SELECT 1")
        assert mode(db) == 0o600
        for companion in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            if companion.exists():
                assert mode(companion) == 0o600, companion
    assert mode(db.parent) == 0o700 and mode(db.parent.parent) == 0o700


def test_the_import_spool_is_private(loaded):
    _app, _db, spools = loaded
    assert spools == [0o600]


def test_the_export_is_private(loaded, tmp_path, monkeypatch):
    app, db, _spools = loaded
    from sqlalchemy import func, select

    from conftest import wait_until
    from fhir_family.collector.schema import Submission

    collector = app.extensions["fhir_family_collector"]

    def stored() -> int | None:
        with collector.sessions() as session:
            count = session.scalar(select(func.count()).select_from(Submission))
        return count or None

    wait_until(stored, timeout=120)
    monkeypatch.setenv("FHIR_FAMILY_PSEUDONYM_KEY", TEST_PSEUDONYM_KEY)
    out = tmp_path / "exports" / "month"
    result = CliRunner().invoke(main, ["export", "--db", f"sqlite:///{db}", "--out", str(out)])
    assert result.exit_code == 0, result.output
    files = sorted(out.iterdir())
    assert any(path.suffix == ".ndjson" for path in files) and (out / "manifest.json") in files
    assert {path.name: mode(path) for path in files} == {path.name: 0o600 for path in files}
    assert mode(out) == 0o700 and mode(out.parent) == 0o700


def test_an_existing_file_is_made_private_when_rewritten(tmp_path, open_umask):
    path = tmp_path / "old.ndjson"
    path.write_text("x")
    path.chmod(0o644)
    with open_private(path) as out:
        out.write("y")
    assert mode(path) == 0o600 and path.read_text() == "y"
