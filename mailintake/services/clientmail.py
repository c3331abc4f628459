"""Use case: a message from a client (SPEC sections 3, 4 and 5).

Owns: what a client's message does — opens a ticket, adds data to its own
ticket (an answer to our question restarts the SLA clock, an accepted ETA is
recorded), or answers a resolved or closed ticket (complaint, confirmation,
survey, or a new linked ticket) — and that staff hear of it (`staffnotice`).
A message on the thread of a duplicate goes to the ticket it was merged into.
Runs inside the intake transaction; must not commit, send mail (the outbox
does) or find the ticket by itself (`threads`).
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from mailintake.adapters import db
from mailintake.app import App
from mailintake.domain import fields, intents
from mailintake.domain.mail import ParsedMail
from mailintake.domain.status import Status
from mailintake.services import completion, lifecycle, staffnotice, threads
from mailintake.services import tickets as t
from mailintake.services.outcome import CLOSE_REQUEST, REPLY_TO_CLOSED, Incoming, Outcome


def handle_client(session: Session, app: App, msg: Incoming) -> Outcome:
    """Route the client's message by its ticket's status, then tell staff what it did."""
    ticket = threads.find_ticket(session, app, msg.mail)
    if ticket is not None:
        ticket = threads.surviving(session, ticket)
    before = staffnotice.Before.of(session, ticket)
    outcome = _route(session, app, msg, ticket)
    staffnotice.tell_staff(session, app, msg, outcome, before)
    return outcome


def _route(session: Session, app: App, msg: Incoming, ticket: db.Ticket | None) -> Outcome:
    if ticket is None:
        return open_ticket(session, app, msg)
    status = Status(ticket.status)
    if status == Status.ZAMKNIETY:
        return reply_to_closed(session, app, msg, ticket)
    if status == Status.ROZWIAZANY:
        return lifecycle.client_reply_to_resolved(session, app, msg, ticket)
    return add_to_ticket(session, app, msg, ticket)


def open_ticket(
    session: Session, app: App, msg: Incoming, *, linked_to: db.Ticket | None = None
) -> Outcome:
    """A new NOWY ticket of the message's sender, with the data the message brings."""
    mail = msg.mail
    ticket = t.create_ticket(
        session,
        app,
        client_email=mail.from_addr or "unknown@invalid",
        client_name=mail.from_name,
        subject=mail.subject,
        now=msg.received_at,
        words=(f"{mail.subject}\n{mail.own_text or mail.text}", f"{mail.subject}\n{mail.text}"),
    )
    if linked_to is not None:
        t.add_link(ticket, db.key_of(linked_to))
        t.add_link(linked_to, db.key_of(ticket))
    t.store_inbound(session, app, ticket, msg, kind="client")
    found = fields.extract(mail.text, mail.own_text, mail.attachments, first_message=True)
    ticket.fields = fields.merge({}, found)
    completion.complete_or_request(session, app, msg, ticket)
    reason = REPLY_TO_CLOSED if linked_to is not None else None
    return Outcome("created", ticket.key, mail.message_id, reason)


def add_to_ticket(session: Session, app: App, msg: Incoming, ticket: db.Ticket) -> Outcome:
    """More from the client on an open ticket: its data is merged; a NOWY ticket completes."""
    mail = msg.mail
    t.store_inbound(session, app, ticket, msg, kind="client")
    if ticket.awaiting_client:
        _answered_question(session, ticket, msg)
    if ticket.eta is not None and not ticket.eta_accepted and _intent(mail) == "accept":
        _accepted_eta(session, ticket, ticket.eta, msg)
    found = fields.extract(
        mail.text, mail.own_text, mail.attachments, our_lines=t.our_lines(session, ticket)
    )
    ticket.fields = fields.merge(ticket.fields, found)
    if intents.asks_to_close(mail.own_text, mail.subject):
        # Staff decide (SPEC §6 [ZAMKNIJ]); the client is not asked for data meanwhile.
        t.add_history(session, ticket, ticket.status, ticket.status, by=mail.from_addr or "",
                      reason="client asks to close the ticket", now=msg.now)  # fmt: skip
        return Outcome("updated", ticket.key, mail.message_id, CLOSE_REQUEST)
    if ticket.status == Status.NOWY:
        completion.complete_or_request(session, app, msg, ticket)
    return Outcome("updated", ticket.key, mail.message_id)


def _intent(mail: ParsedMail) -> str | None:
    return intents.client_intent(mail.own_text, mail.subject)


def _accepted_eta(session: Session, ticket: db.Ticket, eta: date, msg: Incoming) -> None:
    """The client accepts the ticket's ETA past the SLA target (SPEC section 4); recorded once."""
    ticket.eta_accepted = True
    reason = f"client accepted the ETA {eta.isoformat()}"
    t.add_history(session, ticket, ticket.status, ticket.status, by=msg.mail.from_addr or "",
                  reason=reason, now=msg.now)  # fmt: skip


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
    t.add_history(session, ticket, ticket.status, ticket.status, by=msg.mail.from_addr or "",
                  reason="client answered the question", now=msg.now)  # fmt: skip


def reply_to_closed(session: Session, app: App, msg: Incoming, ticket: db.Ticket) -> Outcome:
    """A survey answer is recorded; anything else opens a new ticket linked to the old one."""
    survey = lifecycle.record_survey(session, app, msg, ticket)
    if survey is not None:
        return survey
    return open_ticket(session, app, msg, linked_to=ticket)
