"""What every inbox offers: the `InboxItem` value and the `Inbox` Protocol.

Owns: the shape of one waiting message (a stable ref, the raw bytes or None
when oversize, size, arrival time in aware UTC) and the operations the daemon
and the services call: fetch oldest first, move to processed or quarantine,
wait for new mail, check, close.

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


class Inbox(Protocol):
    def fetch(self, max_bytes: int, batch: int = 100) -> Iterator[InboxItem]:
        """Every waiting message, oldest first; oversize ones with `raw=None`."""
        ...

    def mark_processed(self, refs: Sequence[str]) -> None:
        """Move the messages to the processed folder (created if missing)."""
        ...

    def quarantine(self, refs: Sequence[str]) -> None:
        """Move the messages to the quarantine folder (created if missing)."""
        ...

    def wait(self, timeout: float, stop: threading.Event) -> None:
        """Return when new mail may be waiting, *stop* is set, or *timeout* passed."""
        ...

    def check(self) -> None:
        """Connect and open the mailbox; raise with a precise reason when that fails."""
        ...

    def close(self) -> None: ...
