"""One daemon per SQLite state directory: an `flock(2)` on `<state dir>/mailintake.lock`.

Owns: taking that lock for the life of the process, writing our pid into the
file, and naming the holder when another process has it. The kernel drops an
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

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock at once or raise `StateError` naming the holder's pid."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise StateError(
                f"another mailintake daemon ({holder}) runs on {self.path.parent.resolve()}: "
                f"one daemon per SQLite state directory ({self.path} is locked)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.ftruncate(fd, 0)  # no pid of a stopped daemon left behind to mislead anyone
            os.close(fd)


def _read_pid(fd: int) -> str:
    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    return f"pid {text}" if text.isdigit() else "pid unknown: it is starting"
