"""Fixtures shared by every test module. Keep module-specific fixtures in their own test module."""

from __future__ import annotations

from pathlib import Path

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
