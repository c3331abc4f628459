"""Notices on their way out: render, thread, compose and queue, in the caller's transaction.

Owns: `queue_mail` (a notice rendered from its template, threaded into the
ticket's conversation, kept as an outgoing message and put in the outbox),
who reads a notice — mail to the client copies the ticket's `cc` and threads
on what the client saw; mail to staff threads on the ticket's staff thread and
goes to the ticket's owner, else to `MAILINTAKE_STAFF_NOTIFY`
(`staff_recipients`, one rule: `recipients.internal`, never a client) — the
subjects of staff notices (`staff_subject`: never a command tag), the alerts
every use case sends staff (`notify_staff`), routine notices to a ticket's owner
(`tell_owner`), and whether a message answers mail we sent staff only
(`answers_staff_only`: the one "staff-only thread" rule).

Two rules hold here for every mail, present and future (issue 10): nothing is
queued to an address that cannot be delivered (`domain.recipients`), and no
subject of a mail that goes to staff only carries a command tag
(`staffcmd.without_commands`), so a reply to our notice never runs what it quotes.
Staff alerts (`notify_staff(alert=…)`) are capped: `ALERTS_PER_HOUR` of one kind
an hour, then one summary an hour; a forged staff command is told to every staff
address, so the real owner of a forged address learns of it.
Must not commit (the use case does), send (the outbox does) or decide whether
a notice may go to a client at all (the use case does; see `completion`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlmodel import Session

from mailintake.adapters import db, outmail
from mailintake.adapters.render import Rendered
from mailintake.app import App
from mailintake.domain import recipients, staffcmd
from mailintake.domain.mail import Attachment, ParsedMail
from mailintake.domain.recipients import is_deliverable

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
    own_text: str = "",
    images: Sequence[tuple[str, bytes]] = (),
    attachments: Sequence[Attachment] = (),
    answering: ParsedMail | None = None,
    **context: Any,
) -> db.OutboxRow | None:
    """Render a notice and put it in the outbox, in the caller's transaction (SPEC section 5).

    Mail to the client (any recipient outside staff) copies the client's side of the
    ticket (`copies`); `attachments` go with it as files. `own_text` is what a person
    wrote into the notice (a staff question), kept apart from the template's words so a
    later notice can quote it alone. `images` are PNG pictures the HTML part shows by
    `cid:` (Content-ID, bytes). None, and nothing queued, when no recipient can be
    delivered to (SPEC section 5). `answering` is the message this mail answers: with
    no ticket to thread on, the mail threads on it (RFC 5322 §3.6.4 In-Reply-To).
    """
    to = [address for address in recipients.unique(to) if is_deliverable(address)]
    if not to:
        log.warning("mail.undeliverable", ticket=ticket.key if ticket else None, kind=kind)
        return None
    rendered = _render(app, template, lang, ticket, context)
    in_reply_to, references = _thread_for(session, app, ticket, to)
    if ticket is None and answering is not None and answering.message_id:
        in_reply_to = answering.message_id
        references = (*answering.references[-20:], answering.message_id)
    out = outmail.Outgoing(
        sender=app.settings.support_address,
        to=tuple(to),
        cc=copies(app, ticket, to),
        attachments=tuple(attachments),
        subject=_safe_subject(
            app, to, subject if subject is not None else _subject(rendered, ticket)
        ),
        text=rendered.text,
        html=rendered.html,
        message_id=_new_message_id(app, ticket),
        in_reply_to=in_reply_to,
        references=references,
        auto_submitted=auto_submitted,
        date=now,
        images=tuple(images),
    )
    message = _keep_message(session, ticket, out, kind, now)
    message.own_text = own_text
    return _enqueue(session, message, out, kind, automatic, now)


def _render(
    app: App, template: str, lang: str, ticket: db.Ticket | None, context: dict[str, Any]
) -> Rendered:
    return app.renderer.render(
        template,
        lang,
        ticket=ticket_context(ticket) if ticket else None,
        support_address=app.settings.support_address,
        kb_logs_url=app.settings.kb_logs_url,
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

    Mail that is not to the client's side (staff, a former staff member) copies nobody
    (`recipients.client_side`).
    """
    if ticket is None:
        return ()
    return recipients.client_side(to, ticket.client_email, ticket.cc or [], _own(app))


def _own(app: App) -> frozenset[str]:
    return app.settings.internal | {app.settings.support_address.lower()}


def staff_recipients(app: App, ticket: db.Ticket | None) -> list[str]:
    """The ticket's owner while in `MAILINTAKE_STAFF`, else `MAILINTAKE_STAFF_NOTIFY`
    (default: all staff) (SPEC section 6, `recipients.internal`)."""
    owner = ticket.owner if ticket is not None else None
    return recipients.internal(owner, app.settings.staff, app.settings.staff_notify)


# The staff notice of a client's message: answering it without a tag answers the client.
CLIENT_NOTICE = "client_notice"


def answers_staff_only(session: Session, app: App, mail: ParsedMail) -> bool:
    """Does `mail` answer a mail we sent to staff only (an alert, a refusal, a notice)?

    The nearest message of the thread we know decides (staff's own mail in between is
    skipped): one of ours to staff only, other than a notice of a client's message, makes
    the answer internal; a client's message or our mail to the client does not (issue 12).
    """
    known = {m.message_id: m for m in db.known_messages(session, mail.thread_ids)}
    for mid in mail.thread_ids:
        found = known.get(mid)
        if found is None:
            continue
        if found.direction == "out":
            to = [a.strip() for a in found.to_addrs.split(",")]
            return found.kind != CLIENT_NOTICE and is_staff_only(app, to)
        if (found.from_addr or "").lower() not in app.settings.internal:
            return False
    return False


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


def _safe_subject(app: App, to: Sequence[str], subject: str) -> str:
    """A subject for staff only carries no command tag (issue 10); a client's is as it is."""
    if is_staff_only(app, to):
        return staffcmd.without_commands(subject, app.settings.ticket_prefix)
    return subject


def is_staff_only(app: App, to: Sequence[str]) -> bool:
    """Every recipient is one of our own people (`MAILINTAKE_STAFF` or the notify list)."""
    return bool(to) and {a.lower() for a in to} <= app.settings.internal


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
    alert: str | None = None,
    template: str = "staff_notice",
    **context: Any,
) -> None:
    """An alert or notice to the ticket's owner, else the notify list; an alert logs a
    warning, a routine notice (a client's reply, a suspension) logs at info.

    `alert` names an alert kind (`quarantine`, `untrusted`, `bounce`, …): its mails are
    capped at `ALERTS_PER_HOUR` an hour, then one summary an hour (issue 10). An
    `untrusted` alert (a forged staff command) goes to every staff address.
    """
    staff = sorted(app.settings.staff) if alert == "untrusted" else staff_recipients(app, ticket)
    level = log.warning if alert is not None or kind == "staff_alert" else log.info
    level("staff.notified", ticket=ticket.key if ticket else None, subject=subject, kind=kind)
    if not staff:
        return
    if alert is not None:
        kind = f"alert_{alert}"
        allowed = alert_allowance(session, kind, now)
        if allowed == "none":
            log.warning("staff.alert_capped", alert=alert, subject=subject)
            return
        if allowed == "summary":
            subject, title, lines = _summary(app, alert)
            kind, template, context = f"{kind}_summary"[:32], "staff_notice", {}
    queue_mail(
        session,
        app,
        ticket=ticket,
        to=staff,
        template=template,
        kind=kind,
        now=now,
        subject=subject,
        auto_submitted="auto-generated",
        title=title,
        lines=list(lines),
        **context,
    )


def tell_owner(
    session: Session,
    app: App,
    ticket: db.Ticket,
    *,
    label: str,
    title: str,
    lines: Sequence[str] = (),
    now: datetime,
    to: Sequence[str] | None = None,
    actor: str | None = None,
) -> None:
    """A routine notice of what happened to `ticket`, to `to` (default: `staff_recipients`),
    never to `actor` (who did it knows); its subject is `[LOG-…] label: subject`."""
    actor_folded = (actor or "").lower()
    people = [a for a in (staff_recipients(app, ticket) if to is None else to)
              if a.lower() != actor_folded and a.lower() in app.settings.internal]  # fmt: skip
    if not people:
        return
    subject = staff_subject(ticket, label, ticket.subject, app.settings.ticket_prefix)
    log.info("staff.notified", ticket=ticket.key, subject=subject, kind="staff_info", to=people)
    queue_mail(session, app, ticket=ticket, to=people, template="staff_notice",
               kind="staff_info", now=now, subject=subject, auto_submitted="auto-generated",
               title=title, lines=list(lines))  # fmt: skip


ALERTS_PER_HOUR = 10
ALERT_WINDOW = timedelta(hours=1)


def alert_allowance(session: Session, kind: str, now: datetime) -> str:
    """`mail`, `summary` (the cap is reached, no summary yet this hour) or `none`."""
    since = now - ALERT_WINDOW
    if db.outbox_count(session, kind, since) < ALERTS_PER_HOUR:
        return "mail"
    return "summary" if db.outbox_count(session, f"{kind}_summary"[:32], since) == 0 else "none"


def _summary(app: App, alert: str) -> tuple[str, str, list[str]]:
    return (
        f"[mailintake] Wstrzymano alerty / alerts held: {alert}",
        f"{ALERTS_PER_HOUR} alertów „{alert}” w ciągu godziny; kolejne przez godzinę tylko "
        f"w logu ({ALERTS_PER_HOUR} '{alert}' alerts within an hour; more go to the log only "
        "for an hour).",
        [
            "Sprawdź / check: mailintake quarantine list, mailintake tickets list, "
            "and the log (journalctl -u mailintake)."
        ],
    )
