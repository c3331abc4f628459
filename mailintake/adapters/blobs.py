"""Content-addressed storage of raw mail and attachments on disk (SPEC sections 5 and 11).

Owns: `<root>/<kind>/<aa>/<bb>/<sha256>` files, written atomically and durably
(temp file, fsync, rename, fsync of the directory; new directories synced in
their parents) so a crash never leaves half a file under a real name and a
committed row never names a file a power loss took away. Inside `deferred()`
(a batch of messages) the syncs wait for `sync()`, which the caller runs before
its commit: one file-system sync for the batch instead of several per file.
Must not know what the bytes mean.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mailintake.adapters.files import make_dirs, sync_paths, write_atomically


class BlobStore:
    """Files named by the SHA-256 of their content; writing the same bytes twice is a no-op."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._made: set[Path] = set()  # directories known to exist: mkdir is a syscall per blob
        self._unsynced: list[Path] | None = None  # inside `deferred()`: written, not yet synced

    def path(self, kind: str, sha256: str) -> Path:
        return self.root / kind / sha256[:2] / sha256[2:4] / sha256

    def put(self, kind: str, data: bytes) -> str:
        """Store `data`; return its SHA-256."""
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path(kind, sha256)
        if target.exists():
            return sha256
        pending = self._unsynced
        if target.parent not in self._made:
            made = make_dirs(target.parent, sync=pending is None)
            self._made.add(target.parent)
            if pending is not None:
                pending += made
        write_atomically(target, data, sync=pending is None)
        if pending is not None:
            pending.append(target)
        return sha256

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Files written inside are synced by `sync()` (or on leaving), not one by one."""
        self._unsynced = []
        try:
            yield
        finally:
            self.sync()
            self._unsynced = None

    def sync(self) -> None:
        """Everything written since `deferred()` began, and its directories, on disk now."""
        if self._unsynced:
            sync_paths(self.root, self._unsynced)
            self._unsynced.clear()

    def get(self, kind: str, sha256: str) -> bytes:
        return self.path(kind, sha256).read_bytes()

    def has(self, kind: str, sha256: str) -> bool:
        return self.path(kind, sha256).is_file()
