"""One daemon per SQLite state directory and database: `flock(2)` on `<state dir>/mailintake.lock`
and on `<database file>.lock` (two state directories naming one database file
would otherwise run two daemons on it).

Owns: taking those locks for the life of the process, writing our pid into the
files, and naming the holder when another process has one. The kernel drops an
`flock` when its holder dies (SIGKILL, power loss), so a left-over file never
blocks the next start; the pid is only there to name the holder. Must not
decide what a refused start means: `cli.run` exits.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from mailintake.errors import StateError

LOCK_NAME = "mailintake.lock"


class DaemonLock:
    """Held from `acquire` until `release` (or the process ends)."""

    def __init__(self, state_dir: Path, database: Path | None = None) -> None:
        self.path = state_dir / LOCK_NAME
        self.paths = [self.path] + ([Path(f"{database}.lock")] if database is not None else [])
        self._fds: list[int] = []

    def acquire(self) -> None:
        """Take every lock at once or raise `StateError` naming the holder's pid."""
        for path in self.paths:
            try:
                self._fds.append(_take(path))
            except BlockingIOError as exc:
                self.release()
                what = (f"runs on {path.parent.resolve()}: one daemon per SQLite state directory"
                        if path == self.path else
                        f"uses {path.with_suffix('')}: one daemon per SQLite database")  # fmt: skip
                raise StateError(
                    f"another mailintake daemon ({exc.args[0]}) {what} ({path} is locked)"
                ) from None

    def release(self) -> None:
        fds, self._fds = self._fds, []
        for fd in fds:
            os.ftruncate(fd, 0)  # no pid of a stopped daemon left behind to mislead anyone
            os.close(fd)


def _take(path: Path) -> int:
    """The open, locked file with our pid in it; `BlockingIOError(holder)` when it is held."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_pid(fd)
        os.close(fd)
        raise BlockingIOError(holder) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _read_pid(fd: int) -> str:
    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    return f"pid {text}" if text.isdigit() else "pid unknown: it is starting"
