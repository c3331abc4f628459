"""Use case: one incoming message, from raw bytes to committed effects (SPEC sections 1, 3 and 5).

Owns: `handle_message` — the single entry for every way mail comes in (IMAP,
Maildir, `ingest` files and pipes): size limit, duplicates, parsing,
classification and the route by kind (client mail to `clientmail`, staff mail
to `staff`; auto-replies, reports, bounces and our own loops here), and
quarantining what cannot be handled. Each call is one transaction: the
message, its attachments, the ticket change, history and the outbox rows of
the answers are committed together, or nothing is. Must not talk to the
mailbox or the mail server (the daemon and the outbox do).
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import datetime

import sqlalchemy as sa
import structlog
from sqlmodel import Session, select

from mailintake import testhooks
from mailintake.adapters import bounces, db
from mailintake.adapters.parse import UnparseableMail, parse
from mailintake.app import App
from mailintake.domain import mailrules
from mailintake.domain.mailrules import Bounce, Kind
from mailintake.services import clientmail, notices, staff, threads
from mailintake.services import tickets as t
from mailintake.services.outcome import Incoming, Outcome

log = structlog.get_logger()


def handle_message(
    app: App, raw: bytes, *, received_at: datetime | None = None, source_ref: str | None = None
) -> Outcome:
    """Process one raw message; a second call with the same message has no effect."""
    testhooks.pause("intake.received")
    now = app.clock()
    received_at = received_at or now
    if len(raw) > app.settings.max_message_bytes:
        reason = f"message over {app.settings.max_message_mb:g} MB"
        return quarantine(app, raw, reason, source_ref, received_at)
    try:
        mail = parse(raw)
    except UnparseableMail as exc:
        return quarantine(app, raw, f"cannot be parsed: {exc}", source_ref, received_at)
    app.blobs.put("raw", raw)
    msg = Incoming(mail, raw, hashlib.sha256(raw).hexdigest(), received_at, now, None)
    try:
        return _commit(app, msg, source_ref)
    except sa.exc.IntegrityError:
        # Another instance committed the same message first (SPEC section 5) — but only if
        # its intake row is really there: any other constraint failure must not pass as a
        # duplicate, or the message would leave the inbox with no effect at all.
        with db.reading(app.engine) as session:
            seen = db.intake_by_hash(session, msg.raw_sha256)
        if seen is None:
            raise
        return Outcome(
            "duplicate", seen.ticket_key, mail.message_id, "committed by another instance"
        )


def _commit(app: App, msg: Incoming, source_ref: str | None) -> Outcome:
    """One transaction: the message's effects and its intake row; nothing for bytes seen."""
    with db.transaction(app.engine) as session:
        seen = db.intake_by_hash(session, msg.raw_sha256)
        if seen is not None:
            return Outcome("duplicate", seen.ticket_key, msg.mail.message_id, "same bytes seen")
        outcome = _handle(session, app, msg)
        session.add(_intake_row(msg, outcome, source_ref))
    log.info("message.processed", ticket=outcome.ticket, outcome=outcome.outcome,
             message_id=msg.mail.message_id, sender=msg.mail.from_addr, reason=outcome.reason,
             source=source_ref)  # fmt: skip
    return outcome


def _intake_row(msg: Incoming, outcome: Outcome, source_ref: str | None) -> db.IntakeRow:
    """What makes a second delivery of the same bytes or Message-ID a duplicate."""
    return db.IntakeRow(
        raw_sha256=msg.raw_sha256,
        message_id=msg.mail.message_id,
        source_ref=source_ref,
        received_at=msg.received_at,
        processed_at=msg.now,
        outcome=outcome.outcome,
        ticket_key=outcome.ticket,
    )


def _handle(session: Session, app: App, msg: Incoming) -> Outcome:
    mail = msg.mail
    if mail.message_id:  # two copies taken in at once: the second waits, then is a duplicate
        db.serialize(session, f"message-id:{mail.message_id}")
    previous = mail.message_id and db.intake_by_message_id(session, mail.message_id)
    testhooks.pause("intake.duplicate_checked")
    if previous:
        return Outcome("duplicate", previous.ticket_key, mail.message_id, "same Message-ID seen")
    c = mailrules.classify(
        mail, support_address=app.settings.support_address, staff=app.settings.staff
    )
    msg = dataclasses.replace(msg, classification=c)
    return ROUTES[c.kind](session, app, msg)


def quarantine(
    app: App, raw: bytes, reason: str, source_ref: str | None, received_at: datetime | None = None
) -> Outcome:
    """Keep the raw message aside and alert staff (SPEC section 5); the caller moves it."""
    now = app.clock()
    sha256 = app.blobs.put("raw", raw)
    with db.transaction(app.engine) as session:
        row = db.QuarantineRow(
            raw_sha256=sha256,
            source_ref=source_ref,
            size=len(raw),
            reason=reason,
            at=now,
            received_at=received_at,
        )
        session.add(row)
        session.flush()
        notices.notify_staff(
            session,
            app,
            subject=f"[mailintake] Wiadomość w kwarantannie / message quarantined #{row.id}",
            title="Nie udało się obsłużyć wiadomości; zachowano ją w kwarantannie.",
            lines=[
                f"Powód / reason: {reason}",
                f"Rozmiar / size: {len(raw)} B, SHA-256: {sha256}",
                f"Ponów po naprawie / retry after a fix: mailintake quarantine retry {row.id}",
            ],
            now=now,
        )
    log.error("message.quarantined", reason=reason, sha256=sha256, source=source_ref)
    return Outcome("quarantined", None, None, reason)


def quarantine_unread(app: App, size: int, source_ref: str, received_at: datetime) -> Outcome:
    """A message too large to read: recorded and alerted; its raw copy stays in the mailbox."""
    now = app.clock()
    reason = f"message over {app.settings.max_message_mb:g} MB ({size} B), not read"
    with db.transaction(app.engine) as session:
        row = db.QuarantineRow(
            source_ref=source_ref, size=size, reason=reason, at=now, received_at=received_at
        )
        session.add(row)
        session.flush()
        notices.notify_staff(
            session,
            app,
            now=now,
            subject=f"[mailintake] Wiadomość w kwarantannie / message quarantined #{row.id}",
            title="Wiadomość jest za duża; przeniesiono ją do folderu kwarantanny.",
            lines=[f"Powód / reason: {reason}", f"Skrzynka / mailbox ref: {source_ref}"],
        )
    log.error("message.quarantined", reason=reason, source=source_ref)
    return Outcome("quarantined", None, None, reason)


# -- routes by kind of mail ------------------------------------------------


def handle_note(session: Session, app: App, msg: Incoming) -> Outcome:
    """Auto-replies and reports: a note on their ticket, never a ticket or an answer (SPEC §5)."""
    ticket = threads.ticket_of_thread(session, app, msg.mail.thread_ids)
    if ticket is None:
        ticket = threads.ticket_from_subject(session, app, msg.mail.subject)
    kind = msg.classified.kind.value.lower()
    if ticket is None:
        t.store_inbound(session, app, None, msg, kind=kind)
        return Outcome("ignored", None, msg.mail.message_id, ", ".join(msg.classified.reasons))
    t.store_inbound(session, app, ticket, msg, kind=kind)
    return Outcome("note", ticket.key, msg.mail.message_id, ", ".join(msg.classified.reasons))


def handle_bounce(session: Session, app: App, msg: Incoming) -> Outcome:
    """A delivery-status report marks our message failed and flags its ticket (SPEC section 5)."""
    bounce = bounces.parse_bounce(msg.mail, msg.raw)
    ticket = _mark_bounced(session, app, bounce) if bounce is not None else None
    t.store_inbound(session, app, ticket, msg, kind="bounce")
    if ticket is not None and bounce is not None:
        _flag_bounced(session, app, ticket, bounce, msg.now)
    return Outcome("bounce", ticket.key if ticket else None, msg.mail.message_id)


def _mark_bounced(session: Session, app: App, bounce: Bounce) -> db.Ticket | None:
    """The ticket of the returned original, whose outbox rows become failed."""
    original = bounce.original_message_id
    if not original:
        return None
    ticket = threads.ticket_of_thread(session, app, (original,))
    for row in session.exec(select(db.OutboxRow).where(db.OutboxRow.message_id == original)):
        row.status = "failed"
        row.last_error = f"bounced: {bounce.diagnostic or ''}"[:500]
    return ticket


def _flag_bounced(
    session: Session, app: App, ticket: db.Ticket, bounce: Bounce, now: datetime
) -> None:
    """The ticket is flagged and staff are told which addresses bounced and why."""
    ticket.flagged = True
    failed = ", ".join(bounce.failed_recipients)
    ticket.flag_reason = f"mail to {failed or 'the client'} bounced"
    notices.notify_staff(
        session,
        app,
        ticket=ticket,
        now=now,
        subject=f"[{ticket.key}] Niedoręczona wiadomość / bounce",
        title="Nasza wiadomość do klienta nie została doręczona / our mail bounced.",
        lines=[f"Adresy / addresses: {failed}", f"Diagnoza / diagnostic: {bounce.diagnostic}"],
    )


def handle_loop(session: Session, app: App, msg: Incoming) -> Outcome:
    t.store_inbound(session, app, None, msg, kind="loop")
    return Outcome("ignored", None, msg.mail.message_id, "our own message")


ROUTES = {
    Kind.CLIENT: clientmail.handle_client,
    Kind.STAFF: staff.handle_staff_mail,
    Kind.AUTOREPLY: handle_note,
    Kind.REPORT: handle_note,
    Kind.BULK: handle_note,
    Kind.BOUNCE: handle_bounce,
    Kind.LOOP: handle_loop,
}
