"""The connection to the database: engines, SQLite's BEGIN, units of work, serialization.

Owns: making an engine (SQLite: WAL, `synchronous=FULL`, a busy timeout,
foreign keys and transactions that begin `IMMEDIATE`; PostgreSQL: pre-ping),
`transaction()` for work that writes, `reading()` for work that only reads,
and `serialize()` for read-then-insert checks no row lock can guard. Must not
know the tables (`db` does) or hold business rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import Session, create_engine, select

from mailintake.adapters import dbvalues
from mailintake.adapters.leader import lock_key


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL (None for another database or an in-memory one)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def make_engine(url: str) -> sa.Engine:
    """An engine; SQLite gets WAL, durable commits, a busy timeout, foreign keys and our own BEGIN."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    # No NUL reaches SQL on either database, so both accept and find the same (issue 10).
    event.listen(engine, "before_cursor_execute", dbvalues.clean_parameters, retval=True)
    return engine


# SQLite transactions: pysqlite's own BEGIN comes only before the first write, so the reads
# before it see no snapshot, and a deferred transaction that reads and then writes fails at
# once with SQLITE_BUSY when another connection committed in between (WAL: the busy timeout
# does not help). So pysqlite's transaction handling is off and we emit BEGIN ourselves (the
# SQLAlchemy pysqlite recipe, which also makes SAVEPOINT work): IMMEDIATE, taking the write
# lock at the start, unless the engine was opened for reading (`reading()`: DEFERRED).
SQLITE_BEGIN = "mailintake_sqlite_begin"
DURABLE_SYNC = "FULL"  # SQLite's `synchronous` for every commit but `transaction(durable=False)`


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # no implicit BEGIN/COMMIT from pysqlite
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: in WAL mode each commit syncs the log, so it is on disk before the message leaves
    # the inbox (SPEC section 5); NORMAL would lose the last commits on a power loss.
    cursor.execute(f"PRAGMA synchronous={DURABLE_SYNC}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


SQLITE_SYNC = "mailintake_sqlite_synchronous"


def _sqlite_begin(connection: sa.Connection) -> None:
    options = connection.get_execution_options()
    mode = options.get(SQLITE_BEGIN, "IMMEDIATE")
    if mode == "IMMEDIATE":  # a writer: its commit syncs the log unless `durable=False`
        synchronous = options.get(SQLITE_SYNC, DURABLE_SYNC)
        if connection.info.get(SQLITE_SYNC, DURABLE_SYNC) != synchronous:  # the connection's now
            connection.exec_driver_sql(f"PRAGMA synchronous={synchronous}")
            connection.info[SQLITE_SYNC] = synchronous
    connection.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def transaction(engine: sa.Engine, *, durable: bool = True) -> Iterator[Session]:
    """One unit of work that may write: commit on success, roll back on any exception.

    On SQLite it begins IMMEDIATE: it holds the database's write lock from its first
    statement, so what it reads is what it changes (other writers wait, `busy_timeout`).
    On PostgreSQL rows it will change are locked with `lock_ticket` or the `for_update`
    lookups below. `durable=False` (SQLite: `synchronous=NORMAL` for this commit) is for
    bookkeeping whose loss in a power cut only repeats work (an outbox row sent again, a
    message taken in hand again): the commit survives a crash of the process, not of the
    machine, and costs no disk sync; the next durable commit syncs it too.
    """
    if not durable:
        engine = engine.execution_options(**{SQLITE_SYNC: "NORMAL"})
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def reading(engine: sa.Engine) -> Iterator[Session]:
    """A read-only unit of work: one consistent snapshot that never waits for writers.

    Nothing is committed; closing ends the transaction and leaves what was read loaded.
    """
    with Session(for_reading(engine), expire_on_commit=False) as session:
        yield session


def for_reading(engine: sa.Engine) -> sa.Engine:
    """`engine` for readers: on SQLite their transactions begin DEFERRED (no write lock)."""
    return engine.execution_options(**{SQLITE_BEGIN: "DEFERRED"})


def serialize(session: Session, name: str) -> None:
    """Until this transaction ends, every other one serializing on `name` waits.

    For a check that reads and then inserts, where no row exists yet to lock (is this
    Message-ID new, is the hourly cap reached, was today's digest queued): on
    PostgreSQL `pg_advisory_xact_lock`; on SQLite the write transaction (`BEGIN
    IMMEDIATE`) already keeps every other writer out.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.exec(select(sa.func.pg_advisory_xact_lock(lock_key(name))))
