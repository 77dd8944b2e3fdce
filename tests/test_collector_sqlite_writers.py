"""SQLite write transactions of one process queue on a lock (``database._WriterQueue``), not on SQLite's busy
handler, and the lock is given back however a transaction ends (commit, rollback, an error, a closed
connection): a writer left holding it would stall every other thread of the collector."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from fhir_family.collector.database import READ_ONLY, make_engine


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    yield engine
    engine.dispose()


def _write_in_thread(engine, started: threading.Event | None = None) -> threading.Thread:
    def write() -> None:
        with engine.begin() as connection:
            if started is not None:
                started.set()
            connection.execute(text("INSERT INTO t VALUES (1)"))

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def _count(engine) -> int:
    with engine.connect().execution_options(**READ_ONLY) as connection:
        return connection.execute(text("SELECT count(*) FROM t")).scalar_one()


def test_a_second_writer_waits_for_the_first_and_goes_on_when_it_commits(engine):
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (0)"))
        other = _write_in_thread(engine)
        other.join(0.5)
        assert other.is_alive(), "the second writer must wait while the first holds the write transaction"
    other.join(5)
    assert not other.is_alive()
    assert _count(engine) == 2


@pytest.mark.parametrize("ending", ["commit", "error", "rollback", "close", "read"])
def test_the_queue_is_released_however_a_transaction_ends(engine, ending):
    if ending == "commit":
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (0)"))
    elif ending == "error":
        with pytest.raises(ZeroDivisionError), engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (0)"))
            1 / 0  # noqa: B018 - an error inside the transaction
    elif ending == "rollback":
        connection = engine.connect()
        transaction = connection.begin()
        connection.execute(text("INSERT INTO t VALUES (0)"))
        transaction.rollback()
        connection.close()
    elif ending == "close":  # a connection closed with its transaction open (returned to the pool)
        connection = engine.connect()
        connection.begin()
        connection.execute(text("INSERT INTO t VALUES (0)"))
        connection.close()
    else:  # a DEFERRED read never takes the queue
        with engine.connect().execution_options(**READ_ONLY) as connection, connection.begin():
            connection.execute(text("SELECT count(*) FROM t")).scalar_one()
            writer = _write_in_thread(engine)
            writer.join(5)
            assert not writer.is_alive()
    thread = _write_in_thread(engine)
    thread.join(5)  # well inside the queue's bound on waiting (30 s): only a leaked lock would hold it
    assert not thread.is_alive(), f"the write lock was not given back after {ending}"
