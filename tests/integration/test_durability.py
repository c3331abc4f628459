"""A commit is on disk before the message leaves the inbox (SPEC section 5, issue 11).

After a power loss the mail must not sit in `Processed` with no ticket: SQLite in
WAL mode syncs the log on every commit only with `synchronous=FULL`, and a file
renamed into place survives only once its directory was synced too.
"""

from __future__ import annotations

import os
import stat

from mailintake.adapters import db
from mailintake.adapters.blobs import BlobStore


def test_every_sqlite_connection_syncs_each_commit_to_disk(tmp_path):
    """WAL with `synchronous=FULL` (2): a committed transaction survives a power loss."""
    engine = db.make_engine(f"sqlite:///{tmp_path / 'mailintake.db'}")
    try:
        with engine.connect() as connection:
            mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
            synchronous = connection.exec_driver_sql("PRAGMA synchronous").scalar()
    finally:
        engine.dispose()
    assert (mode, synchronous) == ("wal", 2)


def test_a_stored_blob_and_every_directory_it_created_are_synced(tmp_path, monkeypatch):
    """The file, its directory and each new parent directory are fsynced before put() returns."""
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        kind = "dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        synced.append(f"{kind}:{os.readlink(f'/proc/self/fd/{fd}')}")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    store = BlobStore(tmp_path / "blobs")
    sha = store.put("raw", b"a message")
    blob = store.path("raw", sha)
    assert synced[-1] == f"dir:{blob.parent}"  # the rename, after the file's own data
    assert any(entry.startswith("file:") for entry in synced)
    # Each directory the first blob created is an entry in its parent: synced too.
    made = [blob.parent.parent, blob.parent.parent.parent, tmp_path / "blobs", tmp_path]
    assert {f"dir:{directory}" for directory in made} <= set(synced)


def test_blobs_of_a_batch_are_synced_together_before_its_commit(tmp_path, monkeypatch):
    """Inside `deferred()` nothing is synced per file; `sync()` syncs every file and directory
    written (here without syncfs(2): file by file, each directory once)."""
    from mailintake.adapters import files

    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(files, "_libc", None)
    store = BlobStore(tmp_path / "blobs")
    with store.deferred():
        shas = [store.put("raw", f"message {n}".encode()) for n in range(3)]
        assert synced == []
        store.sync()
        paths = [store.path("raw", sha) for sha in shas]
        assert {str(p) for p in paths} <= set(synced)
        assert {str(p.parent) for p in paths} <= set(synced)
        assert str(tmp_path / "blobs") in synced  # the new `raw` directory's entry
        assert len(synced) == len(set(synced))  # each once
        synced.clear()
    assert synced == []  # nothing left to sync on leaving
