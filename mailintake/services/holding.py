"""Use case step: keeping a message aside — the quarantine entry, the staff alert, the size notice.

Owns: `quarantine` (a message read but not handled: its raw copy kept, a row with
what it is — sender, subject, Date, size, reason — and a capped staff alert, times in
Warsaw with offset; one over the size limit, as `ingest` from a pipe reads it whole,
gets the same size notice),
`quarantine_unread` (a message too large to read: the same from its header
block, and one polite notice to its human sender saying the limit and how to
send large logs; issue 13) and `record_held` (where the mailbox now keeps it,
so `quarantine retry` can fetch it back by itself). Each opens its own
transaction: call it outside any. A message held again from the same place before
the mailbox moved it (the server refused the move: the next pass sees it again) keeps
its one entry and its one alert (issue 10). Must not decide *why* a message is held (the
intake does) or move it in the mailbox (the inbox does, for the daemon).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import structlog
from sqlmodel import Session, col, select

from mailintake.adapters import db
from mailintake.adapters.parse.summary import Summary, summarise
from mailintake.adapters.timefmt import with_offset
from mailintake.app import App
from mailintake.domain import mailrules
from mailintake.domain.mail import ParsedMail
from mailintake.services import completion, notices
from mailintake.services.outcome import Outcome

log = structlog.get_logger()


def quarantine(
    app: App,
    raw: bytes,
    reason: str,
    source_ref: str | None,
    received_at: datetime | None = None,
) -> Outcome:
    """Keep the raw message aside and alert staff (SPEC section 5); the caller moves it."""
    sha256 = app.blobs.put("raw", raw)
    facts = summarise(raw)
    with db.transaction(app.engine) as session:
        if (earlier := _still_unmoved(session, source_ref, sha256)) is not None:
            log.warning("message.quarantined_again", id=earlier.id, source=source_ref)
            return Outcome("quarantined", None, facts.message_id, earlier.reason)
        row = _held_row(app, facts, reason, source_ref, len(raw), received_at, sha256)
        session.add(row)
        session.flush()
        _alert(session, app, row, "Nie udało się obsłużyć wiadomości; zachowano ją w kwarantannie.")
        if len(raw) > app.settings.max_message_bytes:  # refused for its size (`ingest`, a pipe)
            _tell_sender_of_size(session, app, facts, len(raw))
    log.error("message.quarantined", reason=reason, sha256=sha256, source=source_ref)
    return Outcome("quarantined", None, facts.message_id, reason)


def quarantine_unread(
    app: App, size: int, source_ref: str, received_at: datetime, head: bytes | None = None
) -> Outcome:
    """A message too large to read: recorded, alerted, its human sender told; raw stays in the box."""
    reason = f"message over {app.settings.max_message_mb:g} MB ({size} B), not read"
    facts = summarise(head or b"")
    with db.transaction(app.engine) as session:
        if (earlier := _still_unmoved(session, source_ref, None)) is not None:
            log.warning("message.quarantined_again", id=earlier.id, source=source_ref)
            return Outcome("quarantined", None, facts.message_id, earlier.reason)
        row = _held_row(app, facts, reason, source_ref, size, received_at, None)
        session.add(row)
        session.flush()
        _alert(session, app, row, "Wiadomość jest za duża; przeniesiono ją do folderu kwarantanny.")
        _tell_sender_of_size(session, app, facts, size)
    log.error("message.quarantined", reason=reason, source=source_ref)
    return Outcome("quarantined", None, facts.message_id, reason)


def _still_unmoved(
    session: Session, source_ref: str | None, sha256: str | None
) -> db.QuarantineRow | None:
    """The held entry of the same message from the same place that the mailbox never moved."""
    if source_ref is None:
        return None
    query = select(db.QuarantineRow).where(
        db.QuarantineRow.source_ref == source_ref,
        db.QuarantineRow.status == "held",
        col(db.QuarantineRow.held_ref).is_(None),
    )
    for row in session.exec(query):
        if row.raw_sha256 == sha256:
            return row
    return None


def _held_row(
    app: App,
    facts: Summary,
    reason: str,
    source_ref: str | None,
    size: int,
    received_at: datetime | None,
    sha256: str | None,
) -> db.QuarantineRow:
    return db.QuarantineRow(
        raw_sha256=sha256, source_ref=source_ref, size=size, reason=reason, at=app.clock(),
        received_at=received_at, from_addr=facts.from_addr, subject=facts.subject,
        date=facts.date, message_id=facts.message_id,
    )  # fmt: skip


def _aware(at: datetime | None) -> datetime | None:
    """A stored instant; one without an offset is UTC (SQLite keeps none)."""
    return at if at is None or at.tzinfo else at.replace(tzinfo=UTC)


def _alert(session: Session, app: App, row: db.QuarantineRow, title: str) -> None:
    """The staff alert names what the message is, so nobody has to open the folder (issue 13)."""
    notices.notify_staff(
        session,
        app,
        subject=f"[mailintake] Wiadomość w kwarantannie / message quarantined #{row.id}",
        title=title,
        lines=[
            f"Od / from: {row.from_addr or '-'}",
            f"Temat / subject: {row.subject or '-'}",
            f"Data / date: {with_offset(_aware(row.date)) or '-'}",
            f"Rozmiar / size: {row.size} B",
            f"Powód / reason: {row.reason}",
            f"Zatrzymano / at: {with_offset(_aware(row.at))}",
            f"Ponów po naprawie / retry after a fix: mailintake quarantine retry {row.id}",
        ],
        now=row.at,
        alert="quarantine",
    )


def _tell_sender_of_size(session: Session, app: App, facts: Summary, size: int) -> None:
    """One polite notice with the limit and how to send large logs; never to a machine (§5)."""
    to = facts.from_addr
    mail = ParsedMail(
        message_id=facts.message_id, subject=facts.subject, from_addr=to,
        from_name=facts.from_name, headers=facts.headers or {},
    )  # fmt: skip
    allowed, why = mailrules.may_autoreply(mail, support_address=app.settings.support_address)
    if to is None or not allowed or to.lower() in {s.lower() for s in app.settings.staff}:
        log.info("size_notice.suppressed", to=to, reason=why or "no human sender")
        return
    if not completion.may_mail(session, app, to, None, app.clock()):
        return
    lang = app.settings.clients.for_address(to).language
    notices.queue_mail(
        session, app, ticket=None, to=[to], template="size_refused", kind="size_refused",
        now=app.clock(), lang=lang, original_subject=facts.subject, answering=mail,
        limit_mb=f"{app.settings.max_message_mb:g}", size_mb=f"{size / 1024 / 1024:.1f}",
    )  # fmt: skip


def record_held(app: App, held: Mapping[str, str]) -> None:
    """Remember where the mailbox keeps each held message (inbox ref → its Quarantine ref)."""
    if not held:
        return
    with db.transaction(app.engine) as session:
        query = select(db.QuarantineRow).where(
            col(db.QuarantineRow.source_ref).in_(list(held)),
            col(db.QuarantineRow.held_ref).is_(None),
        )
        for row in session.exec(query):
            row.held_ref = held.get(row.source_ref or "")
