"""Engine creation and schema migrations, for SQLite (default) and PostgreSQL (psycopg 3).

SQLite needs two adjustments to behave under concurrent writers: a busy timeout, and ``BEGIN IMMEDIATE`` so a
transaction takes the write lock at its start instead of failing with "database is locked" when it upgrades
from reading to writing half-way.
"""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from ..private_files import touch_private
from .settings import ConfigurationError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BEGIN = "sqlite_begin"
"""Execution option: ``DEFERRED`` for long read-only work (reports, export) so it does not hold SQLite's
write lock; every other transaction begins ``IMMEDIATE``. Ignored by PostgreSQL."""
READ_ONLY = {SQLITE_BEGIN: "DEFERRED"}


def make_engine(database_url: str) -> Engine:
    """An engine for ``database_url``; a SQLite file (0600) and its folder (0700) are created when missing."""
    try:
        url = make_url(database_url)
    except ArgumentError as exc:
        raise ConfigurationError(f"Not a database URL: {database_url!r}") from exc
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            touch_private(Path(url.database))  # 0600 in a new folder 0700; SQLite gives -wal/-shm its mode
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    if url.get_backend_name() == "postgresql":
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    raise ConfigurationError(f"Unsupported database {url.get_backend_name()!r}: use sqlite or postgresql")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # let SQLAlchemy's begin event emit BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    writers = _WriterQueue()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
        if mode == "IMMEDIATE":
            writers.enter(connection.connection.dbapi_connection)
        try:
            connection.exec_driver_sql(f"BEGIN {mode}")
        except BaseException:
            writers.leave(connection.connection.dbapi_connection)
            raise

    dialect = engine.dialect
    commit, rollback, close = dialect.do_commit, dialect.do_rollback, dialect.do_close

    def do_commit(dbapi_connection) -> None:  # type: ignore[no-untyped-def]
        try:
            commit(dbapi_connection)
        finally:
            writers.leave(dbapi_connection)

    def do_rollback(dbapi_connection) -> None:  # type: ignore[no-untyped-def]
        try:
            rollback(dbapi_connection)
        finally:
            writers.leave(dbapi_connection)

    def do_close(dbapi_connection) -> None:  # type: ignore[no-untyped-def]
        try:
            close(dbapi_connection)
        finally:
            writers.leave(dbapi_connection)

    dialect.do_commit, dialect.do_rollback, dialect.do_close = do_commit, do_rollback, do_close  # type: ignore[method-assign]


def _raw_id(connection: object) -> int:
    """The DBAPI connection's identity, whether given it or the pool's proxy of it."""
    return id(getattr(connection, "dbapi_connection", connection))


class _WriterQueue:
    """One SQLite write transaction at a time per process, queued on a lock rather than on SQLite's busy
    handler: a writer that finds the file locked sleeps in growing steps (up to 100 ms) before it tries
    again, so threads of one process writing at once spent most of their time asleep (4 threads ran at a
    third of one thread's rate). Here the next writer starts the moment the last one commits. Other
    processes still meet SQLite's lock and busy timeout. Waiting is bounded (``WAIT``): after it the writer
    goes on to SQLite's own lock, as before, so a writer that never ended cannot stop the process."""

    WAIT = 30.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holder: int | None = None

    def enter(self, connection: object) -> None:
        if self._lock.acquire(timeout=self.WAIT):
            self._holder = _raw_id(connection)

    def leave(self, connection: object) -> None:
        if self._holder is not None and self._holder == _raw_id(connection):
            self._holder = None
            self._lock.release()


def migrate(engine: Engine) -> None:
    """Bring the schema to the latest Alembic revision (idempotent)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch migration rebuilds a table (copy, DROP, rename); with foreign keys on, the DROP would
            # cascade-delete the rows that refer to it. The pragma only works outside a transaction.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    # Several processes may start at once (gunicorn, a deploy): one migrates, the others
                    # wait. (On SQLite the IMMEDIATE transaction already serialises them.)
                    connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7261051)")
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                    raise ConfigurationError("A migration left rows whose foreign keys point nowhere")
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
