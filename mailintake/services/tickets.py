"""Operations on one ticket shared by every use case: create, change status, store mail.

Owns: the writes that keep a ticket, its history and its incoming messages
consistent inside the caller's transaction — a ticket's subject is stored
without keys or command tags, its owner is set once (or taken over), its
`cc` gathers the client's colleagues from their mail's To/Cc, the language a
new ticket is kept in — and how ticket values read to people (field labels,
file sizes). Must not commit (the use case does) and must not queue or send
mail (`notices` queues, the outbox sends).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import structlog
from sqlmodel import Session

from mailintake.adapters import db, outmail
from mailintake.adapters.language import detect_language
from mailintake.app import App
from mailintake.domain import deadlines, fields, staffcmd
from mailintake.domain.greetings import salutation_language
from mailintake.domain.mail import Attachment, ParsedMail
from mailintake.domain.status import Status, check_transition
from mailintake.domain.text import one_line
from mailintake.services import threads
from mailintake.services.outcome import Incoming

log = structlog.get_logger()
WARSAW = ZoneInfo("Europe/Warsaw")
NO_SUBJECT = {"pl": "(bez tematu)", "en": "(no subject)"}
CLIENT_KINDS = frozenset({"client", "survey"})  # the client's own mail: its To/Cc count
CREATED = "mailintake_created_tickets"  # session.info: key → ticket created in the transaction


def human_size(size: int) -> str:
    """A file size as people read it: 840 kB, 12.3 MB (1 kB = 1024 bytes)."""
    mb = 1024 * 1024
    return f"{size / mb:.1f} MB" if size >= mb else f"{max(1, round(size / 1024))} kB"


def create_ticket(
    session: Session,
    app: App,
    *,
    client_email: str,
    client_name: str,
    subject: str,
    now: datetime,
    words: Sequence[str] = (),
    language: str | None = None,
) -> db.Ticket:
    """A new NOWY ticket with its key and completion clock (SPEC sections 4 and 5).

    Its language, kept for every later notice: `language` when given (a split keeps its
    ticket's), else the client organisation's from `clients.toml`, else the language the
    client's `words` (each text of the mail: its own words, the whole mail with greeting
    and sign-off) are all clearly written in, else the default's (Polish). The subject is
    kept without keys, reply prefixes and command tags: staff notices are built from it,
    and a staff reply to one must never run a tag a client wrote.
    """
    client = app.settings.clients.for_address(client_email)
    plain = staffcmd.strip_tags(outmail.one_line(subject), app.settings.ticket_prefix)
    clock_start = app.calendar.clock_start(now)
    due = deadlines.completion_due(clock_start, app.calendar)
    ticket = db.Ticket(
        status=Status.NOWY,
        client_email=client_email,
        client_name=client_name,
        client_org=client.name,
        language=(chosen := language or language_of(app, client_email, words)),
        subject=(plain or NO_SUBJECT.get(chosen, NO_SUBJECT["pl"]))[:998],
        created_at=now,
        updated_at=now,
        clock_start=clock_start,
        completion_due=due,
        close_after=due,
    )
    session.add(ticket)
    session.flush()  # the key is the row's number
    ticket.key = f"{app.settings.ticket_prefix}-{db.id_of(ticket):06d}"
    session.info.setdefault(CREATED, {})[ticket.key] = ticket
    add_history(session, ticket, None, Status.NOWY, by=client_email, reason="registered", now=now)
    return ticket


def locked_ticket(session: Session, key: str) -> db.Ticket | None:
    """The ticket with `key`, locked (`db.ticket_by_key`); one this transaction created is
    taken as it is, without a query: no other transaction can see it yet."""
    created: db.Ticket | None = session.info.get(CREATED, {}).get(key)
    if created is not None and created in session and created.key == key:
        return created  # never rolled back (a SAVEPOINT's rollback takes it out of the session)
    return db.ticket_by_key(session, key)


def language_of(app: App, client_email: str, words: Sequence[str]) -> str:
    """A configured organisation's language; for anyone else, that of their words if clear.

    Every text in `words` that tells a language (lingua on its words, or the language of
    its greeting and sign-off) must tell the same one: a Polish greeting and sign-off
    around a pasted English error message ("Witam, Error when saving …, Pozdrawiam") is
    a Polish client, so a disagreement keeps the default (Polish).
    """
    clients = app.settings.clients
    if client_email.rpartition("@")[2].lower() in clients.by_domain:
        return clients.for_address(client_email).language
    found = (lang for text in words for lang in (detect_language(text), salutation_language(text)))
    told = {lang for lang in found if lang}
    return told.pop() if len(told) == 1 else clients.default.language


def add_history(
    session: Session,
    ticket: db.Ticket,
    from_status: str | None,
    to_status: str | None,
    *,
    by: str,
    reason: str,
    now: datetime,
) -> None:
    session.add(
        db.HistoryRow(
            ticket_id=db.id_of(ticket),
            from_status=from_status,
            to_status=to_status,
            at=now,
            by=by,
            reason=one_line(reason),  # one line, never a whole mail (issue 12)
        )
    )


def change_status(
    session: Session, ticket: db.Ticket, target: Status, *, by: str, reason: str, now: datetime
) -> Status:
    """Move the ticket (SPEC section 2) and record it; raises Refusal when not allowed."""
    current = Status(ticket.status)
    check_transition(current, target)
    ticket.status = target
    ticket.updated_at = now
    add_history(session, ticket, current, target, by=by, reason=reason, now=now)
    log.info(
        "ticket.status_changed", ticket=ticket.key, old=current, new=target, by=by, reason=reason
    )
    return current


def add_link(ticket: db.Ticket, other_key: str) -> None:
    if other_key not in ticket.linked:
        ticket.linked = [*ticket.linked, other_key]


def claim(
    session: Session, ticket: db.Ticket, by: str, now: datetime, *, take: bool = False
) -> None:
    """`by` owns the ticket if nobody does yet, or always with `take` ([PRZEJMIJ], SPEC §6).

    Taking is recorded in the history; a first owner by any other action is not, as
    that action's own history entry already names them.
    """
    if ticket.owner == by or (ticket.owner is not None and not take):
        return
    if take:
        reason = f"owner: {ticket.owner} → {by}" if ticket.owner else f"owner: {by}"
        add_history(session, ticket, ticket.status, ticket.status, by=by, reason=reason, now=now)
    ticket.owner = by


def add_copies(app: App, ticket: db.Ticket, addresses: Iterable[str]) -> None:
    """The client's colleagues among `addresses` join the ticket's `cc`, each once."""
    found = [
        a for a in addresses if a != ticket.client_email and threads.is_colleague(app, ticket, a)
    ]
    if new := [a for a in dict.fromkeys(found) if a not in ticket.cc]:
        ticket.cc = [*ticket.cc, *new]


def store_inbound(
    session: Session,
    app: App,
    ticket: db.Ticket | None,
    msg: Incoming,
    *,
    kind: str,
    mail: ParsedMail | None = None,
) -> db.MessageRow:
    """Keep an incoming message and its attachments (content-addressed) on the ticket.

    `mail` is what to store when it is not `msg.mail` itself (a forwarded message
    registered on behalf of its sender).
    """
    mail = mail or msg.mail
    raw_sha256, at = msg.raw_sha256, msg.received_at
    row = db.MessageRow(
        ticket_id=ticket.id if ticket else None,
        direction="in",
        message_id=mail.message_id,
        in_reply_to=" ".join(mail.in_reply_to) or None,
        references=" ".join(mail.references) or None,
        from_addr=mail.from_addr or "",
        to_addrs=", ".join(mail.to),
        subject=mail.subject,
        at=at,
        kind=kind,
        raw_sha256=raw_sha256,
        body_text=mail.text,
        own_text=mail.own_text,
    )
    session.add(row)
    if mail.attachments:
        session.flush()  # the attachment rows name the message row's id
        _keep_attachments(session, app, row, mail.attachments)
    if ticket is not None:
        ticket.updated_at = at
        if kind in CLIENT_KINDS:
            add_copies(app, ticket, (*mail.to, *mail.cc))
    return row


def _keep_attachments(
    session: Session, app: App, row: db.MessageRow, attachments: Iterable[Attachment]
) -> None:
    """Each file once in the blob store (by SHA-256), listed on the message and its ticket."""
    for attachment in attachments:
        sha256 = app.blobs.put("attachments", attachment.data)
        session.add(
            db.AttachmentRow(
                ticket_id=row.ticket_id,
                message_row_id=db.id_of(row),
                filename=attachment.filename,
                size=attachment.size,
                sha256=sha256,
                content_type=attachment.content_type,
                inline=attachment.inline,
            )
        )


def our_lines(session: Session, ticket: db.Ticket) -> frozenset[str]:
    """Normalised lines of everything we sent on the ticket: quoted back, they are not answers."""
    lines: set[str] = set()
    for row in db.messages_of(session, db.id_of(ticket)):
        if row.direction == "out":
            lines.update(fields.normalize_line(line) for line in row.body_text.splitlines())
    lines.discard("")
    return frozenset(lines)


def field_labels(codes: Iterable[str], lang: str) -> list[str]:
    return [fields.LABELS[code].get(lang, fields.LABELS[code]["pl"]) for code in codes]
