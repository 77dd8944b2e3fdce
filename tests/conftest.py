"""Fixtures shared by every test module. Keep module-specific fixtures in their own test module."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    return REPO_ROOT / "examples"


# -- collector: database URLs for SQLite and PostgreSQL, and the validator the collector uses ----------------


def _postgres_schema_url(base_url: str):
    """A fresh schema in the test PostgreSQL, yielded as a URL whose search_path points at it; dropped after
    the test."""
    import uuid

    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(base_url)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        scoped = url.update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty collector database: a SQLite file, then a new schema in the throwaway PostgreSQL that
    scripts/run-tests.sh starts (TEST_DATABASE_URL). Without it the PostgreSQL case fails under CI and is
    skipped locally with the reason."""
    import os

    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'collector.sqlite'}"
        return
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        if os.environ.get("CI") == "true":
            pytest.fail("TEST_DATABASE_URL is not set under CI: run the suite with scripts/run-tests.sh")
        pytest.skip("PostgreSQL not available: ./scripts/run-tests.sh tests against a throwaway PostgreSQL")
    yield from _postgres_schema_url(base)


@pytest.fixture(scope="session")
def collector_validator():
    """The shared profile validator, as the collector uses it in production."""
    from fhir_family.conformance import default_validator

    return default_validator()


# -- apps and servers: one way to build a collector app and to serve any WSGI app on a free port ------------

TEST_PSEUDONYM_KEY = "test-pseudonym-key-0123456789abcdef"


@pytest.fixture(scope="session")
def make_collector(collector_validator):
    """Build a collector app on ``database_url`` with the shared validator; ``config`` overrides the rest."""
    from fhir_family.collector.app import create_app

    def make(database_url: str, **config):
        settings = {"DATABASE_URL": database_url, "PSEUDONYM_KEY": TEST_PSEUDONYM_KEY,
                    "VALIDATOR": collector_validator}
        return create_app({**settings, **config})

    return make


@contextmanager
def serving(wsgi_app) -> Iterator[str]:
    """Serve ``wsgi_app`` on 127.0.0.1 at a free port in a thread; yields its base URL, stops after."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture(scope="session")
def serve():
    """``with serve(app) as url:`` a real HTTP server for the app (any fixture scope may use it)."""
    return serving


def wait_until(condition: Callable[[], Any], timeout: float = 60.0, interval: float = 0.05) -> Any:
    """Poll ``condition`` until it returns something truthy (returned), or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting after {timeout} s for {getattr(condition, '__name__', condition)}")
        time.sleep(interval)


@pytest.fixture(scope="session")
def built_site() -> dict[str, bytes]:
    """The guide's pages built once for the session (relative path -> bytes); treat as read-only."""
    from fhir_family.site.builder import SiteBuilder

    return SiteBuilder().build()


# -- SUSHI: found once, run once per session on the pristine profiles/ -------------------------------------


def find_sushi() -> Path | None:
    """The SUSHI the Makefile installs (``make ig``), or the set-up image's; None when neither is there."""
    installed = REPO_ROOT / "build/sushi/node_modules/.bin/sushi"
    for candidate in (installed, Path("/tmp/setup/node_modules/.bin/sushi")):
        if candidate.is_file():
            return candidate
    return None


def sushi_inputs_digest(profiles: Path) -> str:
    """A digest of everything SUSHI and igbuild read from a profiles folder (not what SUSHI wrote)."""
    import hashlib

    from fhir_family.guide import build as igbuild

    digest = hashlib.sha256()
    names = [*igbuild.SUSHI_INPUTS, igbuild.KNOWN_WARNINGS_FILE]
    for path in sorted(p for name in names for p in [profiles / name, *(profiles / name).rglob("*")]):
        if path.is_file():
            digest.update(path.relative_to(profiles).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@pytest.fixture(scope="session")
def sushi_once(tmp_path_factory: pytest.TempPathFactory):
    """One real SUSHI build of the repository's profiles/: (inputs digest, generated folder, SushiResult)."""
    from fhir_family.guide import build as igbuild

    sushi = find_sushi()
    if sushi is None:
        pytest.skip("no SUSHI at build/sushi or /tmp/setup")
    profiles = REPO_ROOT / "profiles"
    generated, result = igbuild.run_sushi(sushi, profiles, tmp_path_factory.mktemp("sushi-once"))
    return sushi_inputs_digest(profiles), generated, result


@pytest.fixture
def cached_sushi(monkeypatch: pytest.MonkeyPatch, sushi_once):
    """igbuild.run_sushi answers from the session's one SUSHI build when its inputs are the same files
    (SUSHI is deterministic), and really runs SUSHI when a test changed them (e.g. broken FSH)."""
    import shutil

    from fhir_family.guide import build as igbuild

    digest, generated, result = sushi_once
    real = igbuild.run_sushi

    def run_sushi(sushi: Path, profiles: Path, workdir: Path):
        if sushi_inputs_digest(profiles) != digest:
            return real(sushi, profiles, workdir)
        target = workdir / "profiles" / igbuild.GENERATED
        shutil.copytree(generated, target)
        return target, result

    monkeypatch.setattr(igbuild, "run_sushi", run_sushi)
    return run_sushi
