"""Use case: one incoming message, from raw bytes to committed effects (SPEC sections 1, 3 and 5).

Owns: `handle_message` — the single entry for every way mail comes in (IMAP,
Maildir, `ingest` files and pipes). Each call is one transaction: the message,
its attachments, the ticket change, history and the outbox rows of the
answers are committed together, or nothing is. Must not talk to the mailbox
or the mail server (the daemon and the outbox do).
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlmodel import Session

from mailintake.adapters import bounces, db
from mailintake.adapters.parse import UnparseableMail, parse
from mailintake.bootstrap import App
from mailintake.domain import deadlines, fields, intents, mailrules, staffcmd
from mailintake.domain.mail import ParsedMail
from mailintake.domain.mailrules import Kind
from mailintake.domain.status import Status
from mailintake.services import lifecycle
from mailintake.services import tickets as t
from mailintake.services.outcome import Incoming, Outcome

log = structlog.get_logger()


def handle_message(
    app: App, raw: bytes, *, received_at: datetime | None = None, source_ref: str | None = None
) -> Outcome:
    """Process one raw message; a second call with the same message has no effect."""
    now = app.clock()
    received_at = received_at or now
    sha256 = hashlib.sha256(raw).hexdigest()
    if len(raw) > app.settings.max_message_bytes:
        reason = f"message over {app.settings.max_message_mb:g} MB"
        return quarantine(app, raw, reason, source_ref, received_at)
    try:
        mail = parse(raw)
    except UnparseableMail as exc:
        return quarantine(app, raw, f"cannot be parsed: {exc}", source_ref, received_at)
    app.blobs.put("raw", raw)
    try:
        with db.transaction(app.engine) as session:
            seen = db.intake_by_hash(session, sha256)
            if seen is not None:
                return Outcome("duplicate", seen.ticket_key, mail.message_id, "same bytes seen")
            outcome = _handle(session, app, Incoming(mail, raw, sha256, received_at, now, None))
            session.add(
                db.IntakeRow(
                    raw_sha256=sha256,
                    message_id=mail.message_id,
                    source_ref=source_ref,
                    received_at=received_at,
                    processed_at=now,
                    outcome=outcome.outcome,
                    ticket_key=outcome.ticket,
                )
            )
    except sa.exc.IntegrityError:
        # Another instance committed the same message first (SPEC section 5) — but only if
        # its intake row is really there: any other constraint failure must not pass as a
        # duplicate, or the message would leave the inbox with no effect at all.
        with db.transaction(app.engine) as session:
            seen = db.intake_by_hash(session, sha256)
        if seen is None:
            raise
        return Outcome(
            "duplicate", seen.ticket_key, mail.message_id, "committed by another instance"
        )
    log.info(
        "message.processed",
        ticket=outcome.ticket,
        outcome=outcome.outcome,
        message_id=mail.message_id,
        sender=mail.from_addr,
        reason=outcome.reason,
        source=source_ref,
    )
    return outcome


def _handle(session: Session, app: App, msg: Incoming) -> Outcome:
    mail = msg.mail
    previous = mail.message_id and db.intake_by_message_id(session, mail.message_id)
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
        t.notify_staff(
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
        t.notify_staff(
            session,
            app,
            now=now,
            subject=f"[mailintake] Wiadomość w kwarantannie / message quarantined #{row.id}",
            title="Wiadomość jest za duża; przeniesiono ją do folderu kwarantanny.",
            lines=[f"Powód / reason: {reason}", f"Skrzynka / mailbox ref: {source_ref}"],
        )
    log.error("message.quarantined", reason=reason, source=source_ref)
    return Outcome("quarantined", None, None, reason)


# -- finding the ticket ----------------------------------------------------


def find_ticket(session: Session, app: App, mail: ParsedMail) -> db.Ticket | None:
    """The ticket this message answers, if the sender may take part in it (SPEC section 5)."""
    candidates = [
        db.ticket_by_message_ids(session, mail.thread_ids),
        _ticket_from_our_ids(session, app, mail.thread_ids),
        _ticket_from_subject(session, app, mail.subject),
    ]
    for ticket in candidates:
        if ticket is not None and is_participant(app, ticket, mail.from_addr):
            return ticket
    return None


def _ticket_from_our_ids(session: Session, app: App, ids: tuple[str, ...]) -> db.Ticket | None:
    """Our Message-IDs carry the key (`LOG-000123.<uuid>@domain`): enough even if the row is gone."""
    domain = app.settings.support_address.rpartition("@")[2]
    for mid in ids:
        local, _, mid_domain = mid.partition("@")
        if mid_domain.lower() == domain:
            key = staffcmd.find_ticket_key(
                f"[{local.partition('.')[0]}]", app.settings.ticket_prefix
            )
            if key and (ticket := db.ticket_by_key(session, key)):
                return ticket
    return None


def _ticket_from_subject(session: Session, app: App, subject: str) -> db.Ticket | None:
    key = staffcmd.find_ticket_key(subject, app.settings.ticket_prefix)
    return db.ticket_by_key(session, key) if key else None


def is_participant(app: App, ticket: db.Ticket, address: str | None) -> bool:
    """The ticket's client, a colleague from the same configured organisation, or staff."""
    if not address:
        return False
    if address == ticket.client_email or address in app.settings.staff:
        return True
    org = app.settings.clients.for_address(address)
    return bool(ticket.client_org) and org.domains != () and org.name == ticket.client_org


# -- routes by kind of mail ------------------------------------------------


def handle_client(session: Session, app: App, msg: Incoming) -> Outcome:
    ticket = find_ticket(session, app, msg.mail)
    if ticket is None:
        return open_ticket(session, app, msg)
    status = Status(ticket.status)
    if status == Status.ZAMKNIETY:
        return reply_to_closed(session, app, msg, ticket)
    if status == Status.ROZWIAZANY:
        return reply_to_resolved(session, app, msg, ticket)
    return add_to_ticket(session, app, msg, ticket)


def open_ticket(
    session: Session, app: App, msg: Incoming, *, linked_to: db.Ticket | None = None
) -> Outcome:
    mail = msg.mail
    ticket = t.create_ticket(
        session,
        app,
        client_email=mail.from_addr or "unknown@invalid",
        client_name=mail.from_name,
        subject=staffcmd.strip_tags(mail.subject, app.settings.ticket_prefix) or mail.subject,
        now=msg.received_at,
    )
    if linked_to is not None:
        t.add_link(ticket, linked_to.key)
        t.add_link(linked_to, ticket.key)
    t.store_inbound(session, app, ticket, msg, kind="client")
    found = fields.extract(mail.text, mail.own_text, mail.attachments, first_message=True)
    ticket.fields = fields.merge({}, found)
    _after_client_data(session, app, msg, ticket)
    return Outcome("created", ticket.key, mail.message_id)


def add_to_ticket(session: Session, app: App, msg: Incoming, ticket: db.Ticket) -> Outcome:
    mail = msg.mail
    t.store_inbound(session, app, ticket, msg, kind="client")
    if ticket.awaiting_client:
        _answered_question(session, ticket, msg)
    if ticket.eta is not None and not ticket.eta_accepted and _intent(mail) == "accept":
        ticket.eta_accepted = True
        reason = f"client accepted the ETA {ticket.eta.isoformat()}"
        t.add_history(
            session,
            ticket,
            ticket.status,
            ticket.status,
            by=mail.from_addr or "",
            reason=reason,
            now=msg.now,
        )
    found = fields.extract(
        mail.text, mail.own_text, mail.attachments, our_lines=t.our_lines(session, ticket)
    )
    ticket.fields = fields.merge(ticket.fields, found)
    if ticket.status == Status.NOWY:
        _after_client_data(session, app, msg, ticket)
    else:
        t.tell_staff_of_reply(session, app, msg, ticket)
    return Outcome("updated", ticket.key, mail.message_id)


def _intent(mail: ParsedMail) -> str | None:
    return intents.client_intent(mail.own_text, mail.subject)


def _after_client_data(session: Session, app: App, msg: Incoming, ticket: db.Ticket) -> None:
    """Complete → ANALIZA and a confirmation; else a request listing what is missing (SPEC §3)."""
    missing = fields.missing(ticket.fields)
    if not missing:
        t.change_status(
            session, ticket, Status.ANALIZA, by="system", reason="data complete", now=msg.now
        )
        _auto_reply(
            session,
            app,
            msg,
            ticket,
            "confirmation",
            received=t.field_labels(
                [c for c in fields.FIELDS if c in ticket.fields], ticket.language
            ),
        )
        return
    if _auto_reply(
        session, app, msg, ticket, "request_missing", **request_context(ticket, missing)
    ):
        record_attempt(ticket, msg.now)


def request_context(ticket: db.Ticket, missing: list[str], *, reminder: bool = False) -> dict:
    """What the request and reminder templates show: what is missing, the form, the deadline."""
    return {
        "missing": t.field_labels(missing, ticket.language),
        "missing_codes": list(missing),
        "form": fields.form_lines(missing, ticket.language),
        "attempts": ticket.attempts + 1,
        "reminder": reminder,
        "completion_due": t.local_time(ticket.completion_due),
    }


def record_attempt(ticket: db.Ticket, now: datetime) -> None:
    """Each request for data is an attempt; the incomplete-close moves with it (SPEC section 4)."""
    ticket.attempts += 1
    ticket.last_attempt_at = now
    ticket.close_after = deadlines.close_after(ticket.completion_due, now)


def _auto_reply(
    session: Session, app: App, msg: Incoming, ticket: db.Ticket, template: str, **context
) -> bool:
    """Answer the client unless RFC 3834 or the per-sender cap forbids it (SPEC section 5)."""
    to = msg.mail.from_addr or ticket.client_email
    if not msg.classification.may_autoreply:
        log.info("mail.suppressed", ticket=ticket.key, to=to, reasons=msg.classification.reasons)
        return False
    since = msg.now - timedelta(hours=1)
    if db.automatic_mail_count(session, to, since) >= app.settings.autoreply_per_hour:
        log.warning("mail.rate_limited", ticket=ticket.key, to=to)
        return False
    t.queue_mail(
        session,
        app,
        ticket=ticket,
        to=[to],
        template=template,
        kind=template,
        now=msg.now,
        lang=ticket.language,
        **context,
    )
    return True


def _answered_question(session: Session, ticket: db.Ticket, msg: Incoming) -> None:
    """The client answered our question: the SLA clock runs again (SPEC section 4)."""
    paused = list(ticket.sla_paused or [])
    if paused and paused[-1][1] is None:
        paused[-1] = [paused[-1][0], msg.received_at.isoformat()]
    ticket.sla_paused = paused
    ticket.awaiting_client = False
    ticket.awaiting_since = None
    ticket.question_reminded_at = None
    ticket.suspended = False
    t.add_history(
        session,
        ticket,
        ticket.status,
        ticket.status,
        by=msg.mail.from_addr or "",
        reason="client answered the question",
        now=msg.now,
    )


def reply_to_closed(session: Session, app: App, msg: Incoming, ticket: db.Ticket) -> Outcome:
    """A survey answer is recorded; anything else opens a new ticket linked to the old one."""
    survey = lifecycle.record_survey(session, app, msg, ticket)
    if survey is not None:
        return survey
    return open_ticket(session, app, msg, linked_to=ticket)


def reply_to_resolved(session: Session, app: App, msg: Incoming, ticket: db.Ticket) -> Outcome:
    return lifecycle.client_reply_to_resolved(session, app, msg, ticket)


def handle_note(session: Session, app: App, msg: Incoming) -> Outcome:
    """Auto-replies and reports: a note on their ticket, never a ticket or an answer (SPEC §5)."""
    ticket = db.ticket_by_message_ids(session, msg.mail.thread_ids) or _ticket_from_our_ids(
        session, app, msg.mail.thread_ids
    )
    if ticket is None:
        ticket = _ticket_from_subject(session, app, msg.mail.subject)
    kind = msg.classification.kind.value.lower()
    if ticket is None:
        t.store_inbound(session, app, None, msg, kind=kind)
        return Outcome("ignored", None, msg.mail.message_id, ", ".join(msg.classification.reasons))
    t.store_inbound(session, app, ticket, msg, kind=kind)
    return Outcome("note", ticket.key, msg.mail.message_id, ", ".join(msg.classification.reasons))


def handle_bounce(session: Session, app: App, msg: Incoming) -> Outcome:
    """A delivery-status report marks our message failed and flags its ticket (SPEC section 5)."""
    bounce = bounces.parse_bounce(msg.mail, msg.raw)
    ticket = None
    original = bounce.original_message_id if bounce else None
    if original:
        ticket = db.ticket_by_message_ids(session, (original,)) or _ticket_from_our_ids(
            session, app, (original,)
        )
        for row in session.exec(
            sa.select(db.OutboxRow).where(db.OutboxRow.message_id == original)
        ).scalars():
            row.status = "failed"
            row.last_error = f"bounced: {bounce.diagnostic or ''}"[:500]
    t.store_inbound(session, app, ticket, msg, kind="bounce")
    if ticket is not None:
        ticket.flagged = True
        failed = ", ".join(bounce.failed_recipients) if bounce else ""
        ticket.flag_reason = f"mail to {failed or 'the client'} bounced"
        t.notify_staff(
            session,
            app,
            ticket=ticket,
            now=msg.now,
            subject=f"[{ticket.key}] Niedoręczona wiadomość / bounce",
            title="Nasza wiadomość do klienta nie została doręczona / our mail bounced.",
            lines=[f"Adresy / addresses: {failed}", f"Diagnoza / diagnostic: {bounce.diagnostic}"],
        )
    return Outcome("bounce", ticket.key if ticket else None, msg.mail.message_id)


def handle_loop(session: Session, app: App, msg: Incoming) -> Outcome:
    t.store_inbound(session, app, None, msg, kind="loop")
    return Outcome("ignored", None, msg.mail.message_id, "our own message")


def handle_staff(session: Session, app: App, msg: Incoming) -> Outcome:
    from mailintake.services import staff

    return staff.handle_staff_mail(session, app, msg)


ROUTES = {
    Kind.CLIENT: handle_client,
    Kind.STAFF: handle_staff,
    Kind.AUTOREPLY: handle_note,
    Kind.REPORT: handle_note,
    Kind.BULK: handle_note,
    Kind.BOUNCE: handle_bounce,
    Kind.LOOP: handle_loop,
}
