"""Content-addressed storage of raw mail and attachments on disk (SPEC sections 5 and 11).

Owns: `<root>/<kind>/<aa>/<bb>/<sha256>` files, written atomically and durably
(temp file, fsync, rename, fsync of the directory; new directories synced in
their parents) so a crash never leaves half a file under a real name and a
committed row never names a file a power loss took away. Must not
know what the bytes mean.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from mailintake.adapters.files import make_dirs, write_atomically


class BlobStore:
    """Files named by the SHA-256 of their content; writing the same bytes twice is a no-op."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._made: set[Path] = set()  # directories known to exist: mkdir is a syscall per blob

    def path(self, kind: str, sha256: str) -> Path:
        return self.root / kind / sha256[:2] / sha256[2:4] / sha256

    def put(self, kind: str, data: bytes) -> str:
        """Store `data`; return its SHA-256."""
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path(kind, sha256)
        if target.exists():
            return sha256
        if target.parent not in self._made:
            make_dirs(target.parent)
            self._made.add(target.parent)
        write_atomically(target, data)
        return sha256

    def get(self, kind: str, sha256: str) -> bytes:
        return self.path(kind, sha256).read_bytes()

    def has(self, kind: str, sha256: str) -> bool:
        return self.path(kind, sha256).is_file()
