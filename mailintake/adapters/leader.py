"""Who reads the mailbox: one instance at a time (PostgreSQL session-level advisory lock).

Owns: `mailbox_lock(engine, inbox_url)`, a lock the daemon asks for before
every pass over the mailbox. On PostgreSQL it is `pg_try_advisory_lock` held by
a dedicated connection: when the holder dies its session ends and the lock is
free for the next instance that asks. SQLite serves one instance on one
machine, so there it is always granted. Must not read mail or touch tables;
outbox rows and sweeps have their own row locks.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

import sqlalchemy as sa
import structlog

log = structlog.get_logger()


class MailboxLock(Protocol):
    def acquire(self) -> bool:
        """True when this instance holds the lock (taken now or still held)."""
        ...

    def release(self) -> None: ...


class AlwaysHeld:
    """SQLite: one instance per database file, nobody to share the mailbox with."""

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        return None


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for `name` (advisory locks take a bigint)."""
    digest = hashlib.sha256(f"mailintake:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class AdvisoryLock:
    """A session-level advisory lock on its own autocommit connection."""

    def __init__(self, engine: sa.Engine, key: int, label: str = "leader") -> None:
        self.engine = engine
        self.key = key
        self.label = label  # what the lock is for, in its log events
        self._conn: sa.Connection | None = None

    def acquire(self) -> bool:
        if self._conn is not None:
            return self._still_held()
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key})
            held = bool(got.scalar())
        except BaseException:
            conn.close()
            raise
        if not held:
            conn.close()
            return False
        self._conn = conn
        log.info(f"{self.label}.acquired", key=self.key)
        return True

    def _still_held(self) -> bool:
        """A live session keeps its lock; a dead one (server restart) lost it."""
        assert self._conn is not None
        try:
            self._conn.execute(sa.text("SELECT 1"))
            return True
        except sa.exc.DBAPIError:
            log.warning(f"{self.label}.lost", key=self.key)
            self._drop()
            return False

    def release(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            log.info(f"{self.label}.released", key=self.key)
        except sa.exc.DBAPIError:
            pass  # the session is gone, and its lock with it
        self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except sa.exc.DBAPIError:
                conn.invalidate()


def mailbox_lock(engine: sa.Engine, mailbox: str) -> MailboxLock:
    """The lock guarding `mailbox` (a password-free URL) for this database's instances."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine, lock_key(mailbox))
    return AlwaysHeld()
