"""Writing a file so that a reader (or a crash, or a power loss) sees all of it or none of it.

Owns: `write_atomically` (temp file, fsync, rename, fsync of the directory)
`make_dirs` (missing directories created with their parents synced) and
`sync_paths` (what was written without a sync, synced at once), so
a file that a committed database row names is on disk before the commit is.
Must not know what the bytes mean.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path


def write_atomically(target: Path, data: bytes, *, suffix: str = "", sync: bool = True) -> None:
    """Write aside in the same directory, fsync, rename over the target (POSIX rename(2)),
    then fsync the directory: only then does the new name survive a power loss.
    `sync=False`: no fsync; the caller syncs the file and its directory (`sync_paths`)."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if sync:
        sync_directory(target.parent)


def make_dirs(directory: Path, *, sync: bool = True) -> list[Path]:
    """`mkdir -p`, each new directory's entry synced in its parent (a power loss keeps it);
    the directories made. `sync=False`: the caller syncs them (`sync_paths`)."""
    missing = []
    current = directory
    while not current.exists():
        missing.append(current)
        current = current.parent
    for new in reversed(missing):
        new.mkdir(exist_ok=True)
        if sync:
            sync_directory(new.parent)
    return missing


def sync_paths(root: Path, paths: Iterable[Path]) -> None:
    """Files and directories written under `root` without a sync, and the directories that
    name them, on disk: Linux syncs `root`'s whole file system at once (syncfs(2)), one
    call for any number of files; elsewhere each file and each parent is fsynced once."""
    if _syncfs(root):
        return
    directories: dict[Path, None] = {}  # in order, each once
    for path in dict.fromkeys(paths):
        if path.is_dir():
            directories[path] = None
        else:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        directories[path.parent] = None
    for directory in directories:
        sync_directory(directory)


def _syncfs(root: Path) -> bool:
    """syncfs(2) on `root`'s file system (Linux); False where the call is not there."""
    if _libc is None or not hasattr(_libc, "syncfs"):
        return False
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if _libc.syncfs(fd) != 0:
            raise OSError(ctypes.get_errno(), f"syncfs {root}")
    finally:
        os.close(fd)
    return True


def _load_libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c") if sys.platform.startswith("linux") else None
    return ctypes.CDLL(name, use_errno=True) if name else None


_libc = _load_libc()


def sync_directory(directory: Path) -> None:
    """fsync(2) a directory: the names created, renamed or removed in it are on disk."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
