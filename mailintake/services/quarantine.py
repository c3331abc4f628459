"""Use case: what could not be handled, and handling it again after a fix (SPEC sections 5 and 9).

Owns: listing quarantined messages with what each is (`id`, `from`, `subject`,
`date`, `size`, `reason`, `at`; SPEC section 9) and retrying them by themselves
(issue 13): from the stored raw copy, or — for a message too large to have been
read — fetched back from the mailbox's quarantine folder and handled whatever
its size (an operator asked for it). A retried message that is handled leaves
the quarantine folder for the processed one; one that fails again is
quarantined anew (the old entry is marked `retried`), so the trail of attempts
stays visible. The one service that opens the mailbox: nobody else fetches
held mail back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog
from sqlmodel import col, select

from mailintake.adapters import db
from mailintake.adapters.inbox import Inbox
from mailintake.app import App
from mailintake.errors import MailintakeError, Refusal
from mailintake.services import intake
from mailintake.services.outcome import Outcome

log = structlog.get_logger()


def list_held(app: App, *, include_done: bool = False) -> list[dict[str, Any]]:
    """Held entries, oldest first: SPEC section 9's keys, plus `sha256`, `source`, `status`."""
    with db.reading(app.engine) as session:
        query = select(db.QuarantineRow).order_by(col(db.QuarantineRow.id))
        if not include_done:
            query = query.where(db.QuarantineRow.status == "held")
        return [_entry(row) for row in session.exec(query)]


def _entry(row: db.QuarantineRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "from": row.from_addr,
        "subject": row.subject,
        "date": row.date.isoformat() if row.date else None,
        "size": row.size,
        "reason": row.reason,
        "at": row.at.isoformat(),
        "sha256": row.raw_sha256,
        "source": row.source_ref,
        "status": row.status,
    }


def retry(app: App, quarantine_id: int) -> Outcome:
    """Handle a held message again; raises Refusal when there is none to handle."""
    with db.transaction(app.engine) as session:
        row = session.get(db.QuarantineRow, quarantine_id)
        if row is None or row.status != "held":
            raise Refusal(f"no held message #{quarantine_id} in quarantine")
        held = (row.held_ref, row.message_id)
        received_at = row.received_at or row.at
        stored = row.raw_sha256 if row.raw_sha256 and app.blobs.has("raw", row.raw_sha256) else None
    raw = app.blobs.get("raw", stored) if stored else _fetch_back(app, held, quarantine_id)
    outcome = intake.handle_message(app, raw, received_at=received_at,
                                    source_ref=f"quarantine:{quarantine_id}",
                                    size_limit=False)  # fmt: skip
    _settle(app, quarantine_id, outcome, held)
    if outcome.outcome != "quarantined" and held[0] is not None:
        _release(app, held, quarantine_id)
    return outcome


def _release(app: App, held: tuple[str | None, str | None], qid: int) -> None:
    """Out of the quarantine folder into the processed one; the mailbox away is no failure."""
    try:
        with _mailbox(app) as inbox:
            moved = inbox.release(*held)
    except MailintakeError as exc:
        log.warning("quarantine.not_released", id=qid, error=str(exc))
        return
    log.info("quarantine.released", id=qid, moved_in_mailbox=moved)


def _fetch_back(app: App, held: tuple[str | None, str | None], qid: int) -> bytes:
    """A message never read (too large): from the mailbox's quarantine folder."""
    with _mailbox(app) as inbox:
        raw = inbox.fetch_held(*held)
    if raw is None:
        raise Refusal(
            f"#{qid} has no stored copy and is not in the quarantine folder any more "
            "(moved or deleted by hand?)"
        )
    return raw


@contextmanager
def _mailbox(app: App) -> Iterator[Inbox]:
    inbox = app.open_inbox()
    try:
        yield inbox
    finally:
        inbox.close()


def _settle(app: App, qid: int, outcome: Outcome, held: tuple[str | None, str | None]) -> None:
    """The old entry's status; a new entry made by this retry keeps where the mailbox holds it."""
    with db.transaction(app.engine) as session:
        row = session.get(db.QuarantineRow, qid)
        assert row is not None, "quarantine rows are never deleted"
        row.status = "retried" if outcome.outcome == "quarantined" else "released"
        again = select(db.QuarantineRow).where(
            db.QuarantineRow.source_ref == f"quarantine:{qid}", col(db.QuarantineRow.id) > qid
        )
        for new in session.exec(again):
            new.held_ref, new.message_id = held[0], new.message_id or held[1]
