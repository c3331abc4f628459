"""What a batch of incoming messages has seen before: the duplicate guard's look-ups (SPEC §5).

Owns: `Seen` — the intake rows of a batch's raw SHA-256s and Message-IDs, read in two
queries at the start of the batch's transaction instead of two per message, and kept
current as the batch's own messages are committed — and `content_sha256`, what "the
same message" compares. On PostgreSQL the batch first serializes on each of its
Message-IDs (sorted, so two batches never wait on each other in a circle): a second
instance taking in the same message waits for this batch and then sees it. On SQLite
the batch's `BEGIN IMMEDIATE` keeps every other writer out. Must not decide what a
duplicate does (the intake does) or commit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlmodel import Session, col, or_, select

from mailintake.adapters import db
from mailintake.domain.mail import ParsedMail


def content_sha256(mail: ParsedMail) -> str:
    """SHA-256 of sender, subject, body and attachments: what "the same message" compares.

    SPEC section 5 names sender, subject and body; a reused Message-ID with the same words
    but a new attachment (the logs sent after all) is a new message too (issue 10). Each
    attachment counts by name and content hash; without any, the value is what it was
    before attachments counted, so rows stored earlier still match.
    """
    parts = [mail.from_addr or "", mail.subject, mail.text]
    parts += [f"{a.filename}:{a.sha256}" for a in mail.attachments]
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


class Seen:
    """The intake rows a batch's messages may repeat, by raw SHA-256 and by Message-ID."""

    def __init__(self, session: Session, shas: Sequence[str], message_ids: Sequence[str]) -> None:
        ids = sorted(set(message_ids))
        for message_id in ids:  # the same lock `intake` takes per message; held to the commit
            db.serialize(session, f"message-id:{message_id}")
        self.by_hash: dict[str, db.IntakeRow] = {}
        self.by_message_id: dict[str, list[db.IntakeRow]] = {}
        if shas or ids:
            query = select(db.IntakeRow).where(or_(col(db.IntakeRow.raw_sha256).in_(set(shas)),
                                                   col(db.IntakeRow.message_id).in_(ids)))  # fmt: skip
            for row in session.exec(query.order_by(col(db.IntakeRow.id))):
                self.add(row)

    def add(self, row: db.IntakeRow) -> None:
        """A row committed with the batch (or before it)."""
        self.by_hash.setdefault(row.raw_sha256, row)
        if row.message_id:
            self.by_message_id.setdefault(row.message_id, []).append(row)

    def same_bytes(self, sha256: str) -> db.IntakeRow | None:
        return self.by_hash.get(sha256)

    def same_message(self, mail: ParsedMail) -> db.IntakeRow | None:
        """An earlier intake of this Message-ID with the same sender, subject, body and files (§5).

        A reused Message-ID on other content is a new message (FreeScout #5591); rows from
        before the fingerprint existed count as the same, as they always did.
        """
        if not mail.message_id:
            return None
        fingerprint = content_sha256(mail)
        for row in self.by_message_id.get(mail.message_id, ()):
            if row.content_sha256 in (None, fingerprint):
                return row
        return None
