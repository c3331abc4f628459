"""Writing a file so that a reader (or a crash, or a power loss) sees all of it or none of it.

Owns: `write_atomically` (temp file, fsync, rename, fsync of the directory)
and `make_dirs` (missing directories created with their parents synced), so
a file that a committed database row names is on disk before the commit is.
Must not know what the bytes mean.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(target: Path, data: bytes, *, suffix: str = "") -> None:
    """Write aside in the same directory, fsync, rename over the target (POSIX rename(2)),
    then fsync the directory: only then does the new name survive a power loss."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    sync_directory(target.parent)


def make_dirs(directory: Path) -> None:
    """`mkdir -p`, each new directory's entry synced in its parent (a power loss keeps it)."""
    missing = []
    current = directory
    while not current.exists():
        missing.append(current)
        current = current.parent
    for new in reversed(missing):
        new.mkdir(exist_ok=True)
        sync_directory(new.parent)


def sync_directory(directory: Path) -> None:
    """fsync(2) a directory: the names created, renamed or removed in it are on disk."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
