"""Notices on their way out: render, thread, compose and queue, in the caller's transaction.

Owns: `queue_mail` (a notice rendered from its template, threaded into the
ticket's conversation, kept as an outgoing message and put in the outbox),
who reads a notice — mail to the client copies the ticket's `cc` and threads
on what the client saw; mail to staff threads on the ticket's staff thread and
goes to the ticket's owner, else to `MAILINTAKE_STAFF_NOTIFY`
(`staff_recipients`) — the subjects of staff notices (`staff_subject`: never a
command tag) and the alerts every use case sends staff (`notify_staff`).
Must not commit (the use case does), send (the outbox does) or decide whether
a notice may go to a client at all (the use case does; see `completion`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlmodel import Session

from mailintake.adapters import db, outmail
from mailintake.adapters.render import Rendered
from mailintake.app import App
from mailintake.domain import staffcmd
from mailintake.domain.mail import Attachment

log = structlog.get_logger()


def queue_mail(
    session: Session,
    app: App,
    *,
    ticket: db.Ticket | None,
    to: Sequence[str],
    template: str,
    kind: str,
    now: datetime,
    lang: str = "pl",
    subject: str | None = None,
    auto_submitted: str | None = "auto-replied",
    automatic: bool = True,
    attachments: Sequence[Attachment] = (),
    **context: Any,
) -> db.OutboxRow:
    """Render a notice and put it in the outbox, in the caller's transaction (SPEC section 5).

    Mail to the client (any recipient outside staff) copies the client's side of the
    ticket (`copies`); `attachments` go with it as files.
    """
    rendered = _render(app, template, lang, ticket, context)
    in_reply_to, references = _thread_for(session, app, ticket, to)
    out = outmail.Outgoing(
        sender=app.settings.support_address,
        to=tuple(to),
        cc=copies(app, ticket, to),
        attachments=tuple(attachments),
        subject=subject if subject is not None else _subject(rendered, ticket),
        text=rendered.text,
        html=rendered.html,
        message_id=_new_message_id(app, ticket),
        in_reply_to=in_reply_to,
        references=references,
        auto_submitted=auto_submitted,
        date=now,
    )
    message = _keep_message(session, ticket, out, kind, now)
    return _enqueue(session, message, out, kind, automatic, now)


def _render(
    app: App, template: str, lang: str, ticket: db.Ticket | None, context: dict[str, Any]
) -> Rendered:
    return app.renderer.render(
        template,
        lang,
        ticket=ticket_context(ticket) if ticket else None,
        support_address=app.settings.support_address,
        **context,
    )


def ticket_context(ticket: db.Ticket) -> dict[str, Any]:
    """What every template may show of the ticket."""
    return {
        "key": ticket.key,
        "subject": ticket.subject,
        "status": ticket.status,
        "client_email": ticket.client_email,
        "client_name": ticket.client_name,
        "owner": ticket.owner,
    }


def copies(app: App, ticket: db.Ticket | None, to: Sequence[str]) -> tuple[str, ...]:
    """Who is copied on mail to the client: the client and their colleagues not in `to`.

    Mail only to our own people (`Settings.internal`) copies nobody.
    """
    addressed = {a.lower() for a in to}
    if ticket is None or addressed <= app.settings.internal:
        return ()
    side = [ticket.client_email, *(ticket.cc or [])]
    return tuple(a for a in dict.fromkeys(side) if a not in addressed | app.settings.internal)


def staff_recipients(app: App, ticket: db.Ticket | None) -> list[str]:
    """The ticket's owner, else `MAILINTAKE_STAFF_NOTIFY` (default: all staff) (SPEC section 6)."""
    if ticket is not None and ticket.owner:
        return [ticket.owner]
    return sorted(app.settings.staff_notify)


def staff_subject(ticket: db.Ticket | None, label: str, subject: str, prefix: str) -> str:
    """`[LOG-000123] label: subject` with every key and command tag taken out of `subject`.

    A staff member answers a notice as it stands: a tag that came in with a client's or
    a refused subject must not become their command (SPEC section 6).
    """
    key = f"[{ticket.key}] " if ticket is not None else ""
    return f"{key}{label}: {staffcmd.strip_tags(subject, prefix) or '-'}"


def _subject(rendered: Rendered, ticket: db.Ticket | None) -> str:
    """The template's subject line, else the ticket's own: `[LOG-000123] subject`."""
    if rendered.subject:
        return rendered.subject
    assert ticket is not None, "a notice without a ticket needs a subject"
    return f"[{ticket.key}] {ticket.subject}"


def _thread_for(
    session: Session, app: App, ticket: db.Ticket | None, to: Sequence[str]
) -> tuple[str | None, tuple[str, ...]]:
    """Staff get the ticket's staff thread; the client only the mail it has seen."""
    if ticket is None:
        return None, ()
    internal = app.settings.internal
    return thread_of(session, ticket, internal, staff={a.lower() for a in to} <= internal)


def thread_of(
    session: Session, ticket: db.Ticket, internal: frozenset[str], *, staff: bool = False
) -> tuple[str | None, tuple[str, ...]]:
    """(In-Reply-To, References) for our next mail on the ticket: the newest message, the chain.

    `staff` picks the staff side of the ticket (notices and staff mail), else the client's.
    """
    ids = db.thread_ids(session, db.id_of(ticket), internal, staff=staff)
    return (ids[-1] if ids else None), tuple(ids)


def _new_message_id(app: App, ticket: db.Ticket | None) -> str:
    domain = app.settings.support_address.rpartition("@")[2]
    return outmail.new_message_id(ticket.key if ticket else None, domain)


def _keep_message(
    session: Session, ticket: db.Ticket | None, out: outmail.Outgoing, kind: str, now: datetime
) -> db.MessageRow:
    """The notice as an outgoing message of the ticket (what `tickets show` lists)."""
    message = db.MessageRow(
        ticket_id=ticket.id if ticket else None,
        direction="out",
        message_id=out.message_id,
        in_reply_to=out.in_reply_to,
        references=" ".join(out.references) or None,
        from_addr=out.sender,
        to_addrs=", ".join(out.to),
        subject=outmail.one_line(out.subject),
        at=now,
        kind=kind,
        body_text=out.text,
    )
    session.add(message)
    session.flush()
    return message


def _enqueue(
    session: Session,
    message: db.MessageRow,
    out: outmail.Outgoing,
    kind: str,
    automatic: bool,
    now: datetime,
) -> db.OutboxRow:
    """The composed bytes in the outbox, due now; `automatic` rows count against the cap."""
    row = db.OutboxRow(
        ticket_id=message.ticket_id,
        message_row_id=message.id,
        message_id=out.message_id,
        sender=out.sender,
        recipients=[*out.to, *out.cc],
        to_addr=out.to[0].lower() if out.to else "",
        raw=outmail.compose(out),
        kind=kind,
        automatic=automatic,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    return row


def notify_staff(
    session: Session,
    app: App,
    *,
    subject: str,
    title: str,
    lines: Sequence[str] = (),
    ticket: db.Ticket | None = None,
    now: datetime,
    kind: str = "staff_alert",
) -> None:
    """An alert or notice to the ticket's owner, else the notify list; logged loudly always."""
    staff = staff_recipients(app, ticket)
    log.warning("staff.notified", ticket=ticket.key if ticket else None, subject=subject)
    if not staff:
        return
    queue_mail(
        session,
        app,
        ticket=ticket,
        to=staff,
        template="staff_notice",
        kind=kind,
        now=now,
        subject=subject,
        auto_submitted="auto-generated",
        title=title,
        lines=list(lines),
    )
