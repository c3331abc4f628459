"""What every inbox offers: the `InboxItem` value and the `Inbox` Protocol.

Owns: the shape of one waiting message (a stable ref, the raw bytes or None
when oversize, size, arrival time in aware UTC) and the operations the daemon
and the services call: fetch oldest first, move to processed or quarantine,
fetch a held message back and release it (`quarantine retry`), wait for new
mail, check, close.

Must not: import an implementation (`imap`, `maildir` import this module, not
the other way round) or do any I/O.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class InboxItem:
    """One waiting message; `raw` is None when it is larger than the caller's limit."""

    ref: str  # stable id: IMAP "imap:<uidvalidity>:<uid>", Maildir the unique file name part
    raw: bytes | None
    size: int
    received_at: datetime  # aware UTC: IMAP INTERNALDATE, Maildir delivery (file mtime)
    head: bytes | None = None  # the header block of an oversize message (raw is None)


class Inbox(Protocol):
    def fetch(self, max_bytes: int, batch: int = 100) -> Iterator[InboxItem]:
        """Every waiting message, oldest first; oversize ones with `raw=None`."""
        ...

    def mark_processed(self, refs: Sequence[str]) -> None:
        """Move the messages to the processed folder (created if missing)."""
        ...

    def quarantine(self, refs: Sequence[str]) -> dict[str, str]:
        """Move the messages to the quarantine folder (created if missing).

        Returns where each now is (ref → held ref) when the mailbox can tell, for
        `fetch_held` and `release`.
        """
        ...

    def fetch_held(self, held_ref: str | None, message_id: str | None) -> bytes | None:
        """A held message's raw bytes from the quarantine folder (by ref, else Message-ID)."""
        ...

    def release(self, held_ref: str | None, message_id: str | None) -> bool:
        """Move a held message from the quarantine folder to the processed one; found?"""
        ...

    def newest_heads(self, count: int) -> list[bytes]:
        """The header blocks of the newest `count` messages of the inbox and processed folders."""
        ...

    def wait(self, timeout: float, stop: threading.Event) -> None:
        """Return when new mail may be waiting, *stop* is set, or *timeout* passed."""
        ...

    def check(self) -> None:
        """Connect and open the mailbox; raise with a precise reason when that fails."""
        ...

    def close(self) -> None: ...
