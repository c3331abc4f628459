"""Units of work behave alike on SQLite and PostgreSQL (issue 11): serialized checks, snapshots, savepoints."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from sqlmodel import func, select

from mailintake.adapters import db, migrate


@pytest.fixture
def engine(database_url):
    engine = db.make_engine(database_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def held(reason: str) -> db.QuarantineRow:
    return db.QuarantineRow(reason=reason, at=datetime.now(UTC))


def count(session) -> int:
    return session.exec(select(func.count()).select_from(db.QuarantineRow)).one()


def test_two_serialized_read_then_insert_checks_see_each_other(engine):
    """The second check waits for the first to commit and counts its row: never both see 0."""
    seen: list[int] = []
    first_in = threading.Event()

    def check(name: str, linger: float) -> None:
        with db.transaction(engine) as session:
            db.serialize(session, "the-check")
            seen.append(count(session))
            first_in.set()
            time.sleep(linger)
            session.add(held(name))

    first = threading.Thread(target=check, args=("first", 0.5))
    first.start()
    assert first_in.wait(10)
    check("second", 0)
    first.join()
    assert seen == [0, 1]


def test_a_reader_does_not_wait_for_a_writer(engine):
    """While a write transaction is open, `reading()` answers at once with the last commit."""
    with db.transaction(engine) as session:
        session.add(held("committed"))
    with db.transaction(engine) as writer:
        writer.add(held("not yet"))
        writer.flush()
        started = time.monotonic()
        with db.reading(engine) as reader:
            assert count(reader) == 1
        assert time.monotonic() - started < 1.0


def test_a_savepoint_rolled_back_keeps_the_rest_of_the_transaction(engine):
    """One message's savepoint undone (a batched intake's way), the rest of the batch commits."""
    with db.transaction(engine) as session:
        session.add(held("kept"))
        session.flush()
        with pytest.raises(RuntimeError), session.begin_nested():
            session.add(held("undone"))
            session.flush()
            raise RuntimeError("this message fails")
        session.add(held("kept too"))
    with db.reading(engine) as session:
        assert [row.reason for row in session.exec(select(db.QuarantineRow))] == [
            "kept",
            "kept too",
        ]
