"""A local Maildir as the inbox: new/ and cur/, Maildir++ subfolders for handled mail.

Owns: listing the messages oldest first by delivery time (file mtime), refs
that are the unique part of the file name, moving with rename(2) into the
processed or quarantine subfolder (created, and marked for Dovecot and MUAs),
and checking that the folders are writable.

Must not: decide what happens to a message, delete or rewrite a file, or raise
anything but `ConfigError` for a Maildir it cannot create or write.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import structlog

from mailintake.adapters.inbox.protocol import InboxItem
from mailintake.errors import ConfigError

log = structlog.get_logger()


class MaildirInbox:
    """A Maildir (new/ and cur/); processed and quarantine are Maildir++ subfolders."""

    def __init__(self, path: Path, processed_folder: str, quarantine_folder: str) -> None:
        self.path = path
        self._processed = path / f".{processed_folder}"
        self._quarantine = path / f".{quarantine_folder}"
        _make_maildir(path)

    def _files(self) -> dict[str, Path]:
        return _files_in(self.path)

    def fetch(self, max_bytes: int, batch: int = 100) -> Iterator[InboxItem]:
        listed = []
        for key, path in self._files().items():
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue  # moved by a concurrent reader
            listed.append((stat.st_mtime, key, stat.st_size, path))
        listed.sort()
        (log.info if listed else log.debug)(
            "inbox.listed", mailbox=str(self.path), count=len(listed)
        )
        for mtime, key, size, path in listed:
            raw = path.read_bytes() if size <= max_bytes else None
            head = None if raw is not None else _head(path)
            yield InboxItem(key, raw, size, datetime.fromtimestamp(mtime, UTC), head)
        (log.info if listed else log.debug)(
            "inbox.fetched", mailbox=str(self.path), count=len(listed)
        )

    def mark_processed(self, refs: Sequence[str]) -> None:
        self._move(refs, self._processed)

    def quarantine(self, refs: Sequence[str]) -> dict[str, str]:
        """The unique name stays the same in the quarantine folder: it is the held ref."""
        self._move(refs, self._quarantine)
        return {ref: ref for ref in refs}

    def fetch_held(self, held_ref: str | None, message_id: str | None) -> bytes | None:
        path = _files_in(self._quarantine).get(held_ref or "")
        return path.read_bytes() if path is not None else None

    def release(self, held_ref: str | None, message_id: str | None) -> bool:
        path = _files_in(self._quarantine).get(held_ref or "")
        if path is None:
            return False
        _make_maildir(self._processed, subfolder=True)
        path.rename(self._processed / path.parent.name / path.name)
        return True

    def newest_heads(self, count: int) -> list[bytes]:
        heads = []
        for folder in (self.path, self._processed):
            files = sorted(_files_in(folder).values(), key=_mtime)[-count:]
            heads += [head for path in files if (head := _head(path)) is not None]
        return heads

    def _move(self, refs: Sequence[str], folder: Path) -> None:
        if not refs:
            return
        _make_maildir(folder, subfolder=True)
        files = self._files()
        moved = 0
        for ref in refs:
            path = files.get(ref)
            if path is None:
                log.warning("inbox.unknown_ref", ref=ref)
                continue
            # rename(2) is atomic on one file system: the message is never in both or neither.
            path.rename(folder / path.parent.name / path.name)
            moved += 1
        log.info("inbox.moved", mailbox=str(self.path), folder=folder.name, count=moved)

    def wait(self, timeout: float, stop: threading.Event) -> None:
        stop.wait(timeout)

    def check(self) -> None:
        for sub in ("new", "cur", "tmp"):
            if not os.access(self.path / sub, os.R_OK | os.W_OK | os.X_OK):
                raise ConfigError(f"MAILINTAKE_INBOX_URL: {self.path / sub} is not writable")

    def close(self) -> None:
        return None


def _files_in(path: Path) -> dict[str, Path]:
    """Unique name → file of the messages in a Maildir's new/ and cur/ (none if it is missing)."""
    files = {}
    for sub in ("new", "cur"):
        if not (path / sub).is_dir():
            continue
        for entry in os.scandir(path / sub):
            if entry.is_file() and not entry.name.startswith("."):
                # The unique part is the name before ":2,flags" (Maildir spec "info").
                files[entry.name.split(":", 1)[0]] = Path(entry.path)
    return files


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _head(path: Path, limit: int = 65_536) -> bytes | None:
    """The first bytes of an oversize message: enough for its header block."""
    try:
        with path.open("rb") as handle:
            return handle.read(limit)
    except OSError:
        return None


def _make_maildir(path: Path, subfolder: bool = False) -> None:
    try:
        for sub in ("tmp", "new", "cur"):
            (path / sub).mkdir(parents=True, exist_ok=True)
        if subfolder:
            (path / "maildirfolder").touch()  # marks a Maildir++ subfolder for MUAs/Dovecot
    except OSError as exc:
        raise ConfigError(f"MAILINTAKE_INBOX_URL: cannot create Maildir {path}: {exc}") from exc
