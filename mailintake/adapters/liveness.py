"""Is the process that claimed an outbox row still alive? A lock its death releases says so.

Owns: a token naming this process (`host:pid:random`) and a lock held under it
for the life of the process: on SQLite an `flock(2)` on
`<database file>.claims/<token>` (SQLite serves one machine, so every claimer
is local), on PostgreSQL a session-level advisory lock on its own connection
(the instances may be on several machines; the server frees the lock when
the session ends). `alive(token)` asks whether that lock is still held. On
PostgreSQL a session can end while its process lives on (a server restart, a
killed backend, a network cut): such a claimer looks dead until its next
`hold()` takes the lock again, so `grace` says how long a claim of a claimer
that looks dead must be left alone (SQLite: none, the kernel drops an `flock`
only with its holder). Must not touch tables: the outbox service decides what
a dead claimer's rows need.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import uuid
from datetime import timedelta
from pathlib import Path
from typing import IO, Protocol

import sqlalchemy as sa

from mailintake.adapters.database import sqlite_path
from mailintake.adapters.leader import AdvisoryLock, lock_key


def new_token() -> str:
    """`host:pid:random`: unique, and tells ops in the database where a claim came from."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# Longer than a claimed batch of outbox rows takes to send (`services.outbox`: ten rows, each
# SMTP step timing out after 30 s), so a live claimer has taken its lock again meanwhile.
SESSION_GRACE = timedelta(minutes=10)


class Liveness(Protocol):
    token: str
    grace: timedelta  # how long a claimer that looks dead may still be alive (see above)

    def hold(self, *, recheck: bool = True) -> bool:
        """Hold this process's lock (idempotent); call before claiming anything and before
        acting on a claim. True when the lock had been lost and is taken anew: claims made
        before may have been released by another process meanwhile. `recheck=False`: a
        lock this process holds is not asked after (no round trip; for claims the grace
        protects, such as a message in hand)."""
        ...

    def alive(self, token: str) -> bool:
        """True while the process that holds `token`'s lock lives (always True for our own)."""
        ...

    def release(self) -> None: ...


class FileLiveness:
    """SQLite: one `flock`ed file per process; the kernel drops the lock when it dies."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.token = new_token()
        self.grace = timedelta(0)
        self._file: IO[bytes] | None = None

    def hold(self, *, recheck: bool = True) -> bool:
        if self._file is not None:
            return False  # an flock is lost only with its process
        self.directory.mkdir(parents=True, exist_ok=True)
        handle = (self.directory / self.token).open("wb")
        fcntl.flock(handle, fcntl.LOCK_EX)  # our own new file: granted at once
        self._file = handle
        return False

    def alive(self, token: str) -> bool:
        if token == self.token:
            return True
        path = self.directory / token
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            return False  # its holder removed it on the way out
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            path.unlink(missing_ok=True)  # a dead process's file: nobody needs it any more
            return False

    def release(self) -> None:
        handle, self._file = self._file, None
        if handle is not None:
            (self.directory / self.token).unlink(missing_ok=True)
            handle.close()


class AdvisoryLiveness:
    """PostgreSQL: a session-level advisory lock keyed by the token, seen by every instance."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.token = new_token()
        self.grace = SESSION_GRACE
        self._lock = AdvisoryLock(engine, _key(self.token), label="liveness")
        self._held = False

    def hold(self, *, recheck: bool = True) -> bool:
        """Held, or taken again when its session ended (a server restart dropped it)."""
        if self._held and not recheck:
            return False
        if self._lock.acquire():  # still held (one round trip), or taken the first time
            lost, self._held = False, True
        else:
            lost, self._held = self._held, self._lock.acquire()  # our own random key
        return lost

    def alive(self, token: str) -> bool:
        if token == self.token:
            return True
        key = _key(token)
        query = sa.text(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = :high AND objid = :low AND objsubid = 1)"
        )  # a bigint key shows as its high and low 32 bits (PostgreSQL docs, pg_locks)
        with self.engine.connect() as conn:
            return bool(conn.execute(query, {"high": (key >> 32) & 0xFFFFFFFF,
                                             "low": key & 0xFFFFFFFF}).scalar())  # fmt: skip

    def release(self) -> None:
        if self._held:
            with contextlib.suppress(sa.exc.DBAPIError):
                self._lock.release()
            self._held = False


def _key(token: str) -> int:
    return lock_key(f"claimer:{token}")


def liveness_for(engine: sa.Engine, state_dir: Path) -> Liveness:
    """The liveness lock that fits the database behind `engine`: on SQLite the lock files
    sit beside the database file (`<db>.claims/`), which every process using it shares."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLiveness(engine)
    database = sqlite_path(engine.url.render_as_string(hide_password=False))
    return FileLiveness(Path(f"{database}.claims") if database else state_dir / "claims")
