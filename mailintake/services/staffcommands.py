"""The staff commands on a ticket (SPEC section 6): status changes, messages, notes, split.

Owns: one handler per command tag — what it changes on the ticket and what the client is
mailed (the staff text and files go with it unless the command is silent or the client
already has the mail, `staffjob`). Merging a duplicate is `duplicates`'; checks that can
refuse run before the first write. Runs inside the intake transaction; must not commit,
send (the outbox does), store the staff message or set the owner (`staff` does both).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date

from mailintake.adapters import db
from mailintake.domain import fields, greetings, sla, staffcmd
from mailintake.domain.staffcmd import Action
from mailintake.domain.status import CloseReason, Status, check_transition
from mailintake.errors import Refusal
from mailintake.services import completion, duplicates, lifecycle, notices, reports
from mailintake.services import tickets as t
from mailintake.services.outcome import Outcome
from mailintake.services.staffjob import Job


def done(job: Job, ticket: db.Ticket, outcome: str = "command") -> Outcome:
    return Outcome(outcome, ticket.key, job.msg.mail.message_id, str(job.command.action))


def reached_client(ticket: db.Ticket, job: Job) -> None:
    """The first staff action the client hears of is the first response (SLA, SPEC §4)."""
    if ticket.first_response_at is None:
        ticket.first_response_at = job.now


def require_text(job: Job) -> str:
    """The text a message to the client needs; none needed when the client has it already."""
    if not job.text and not job.client_has_it:
        raise Refusal(
            f"{job.command.tag or 'odpowiedź'}: brak treści dla klienta (no text for the client: "
            "write it above the quoted history)"
        )
    return job.text


def note(job: Job, ticket: db.Ticket) -> None:
    """The staff text as an internal note in the history (its first line)."""
    first = (job.text.splitlines() or [""])[0][:200]
    t.add_history(job.session, ticket, ticket.status, ticket.status, by=job.by,
                  reason=f"note: {first}", now=job.now)  # fmt: skip


# -- status changes ----------------------------------------------------------------------


def _move(job: Job, ticket: db.Ticket, reason: str, *, ask_accept: bool = False) -> Outcome:
    """→ the command's status, recorded, and the client mailed (with the staff text)."""
    target = job.command.target_status
    assert target is not None
    old = t.change_status(job.session, ticket, target, by=job.by, reason=reason, now=job.now)
    notices.queue_mail(
        job.session, job.app, ticket=ticket, to=[ticket.client_email], template="status_changed",
        kind="status", now=job.now, lang=ticket.language, auto_submitted=None, automatic=False,
        attachments=job.files,
        **lifecycle.status_context(
            old, ticket.status, staff_text=job.for_client, eta=ticket.eta,
            release_date=ticket.release_date, resolution=ticket.resolution,
            ask_accept=ask_accept, auto_close_at=ticket.auto_close_at),
    )  # fmt: skip
    reached_client(ticket, job)
    return done(job, ticket)


def _plain_move(job: Job, ticket: db.Ticket) -> Outcome:
    return _move(job, ticket, f"staff: {job.command.tag}")


def _fix(job: Job, ticket: db.Ticket) -> Outcome:
    """[POPRAWKA date]: the ETA; one past the SLA resolution target asks the client to accept."""
    check_transition(Status(ticket.status), Status.CZEKA_NA_POPRAWKE)
    eta = job.command.date
    ask = eta is not None and _past_sla(job, ticket, eta)
    if eta is not None:
        ticket.eta = eta
        ticket.eta_accepted = False
    reason = f"staff: {job.command.tag}" + (" (ETA past SLA, acceptance asked)" if ask else "")
    return _move(job, ticket, reason, ask_accept=ask)


def _past_sla(job: Job, ticket: db.Ticket, eta: date) -> bool:
    """Is `eta` later than the day the SLA resolution target falls on (SPEC section 4)?"""
    return sla.past_due(eta, reports.resolution_due(job.session, job.app, ticket))


def _release(job: Job, ticket: db.Ticket) -> Outcome:
    check_transition(Status(ticket.status), Status.CZEKA_NA_PUBLIKACJE)
    if job.command.date is not None:
        ticket.release_date = job.command.date
    return _move(job, ticket, f"staff: {job.command.tag}")


def _resolve(job: Job, ticket: db.Ticket) -> Outcome:
    """[ROZWIĄZANY]/[OBEJŚCIE]: the body goes to the client as the solution (SPEC section 6)."""
    check_transition(Status(ticket.status), Status.ROZWIAZANY)
    resolution = job.command.resolution or "full"
    lifecycle.resolve(job.session, job.app, ticket, by=job.by, resolution=resolution,
                      text=job.for_client, now=job.now, files=job.files)  # fmt: skip
    reached_client(ticket, job)
    return done(job, ticket)


def _complete(job: Job, ticket: db.Ticket) -> Outcome:
    """[KOMPLETNE]: staff accept the data as complete, NOWY → ANALIZA, client confirmed."""
    if ticket.status != Status.NOWY:
        raise Refusal(
            f"{job.command.tag}: zgłoszenie ma status {Status(ticket.status).display}, a nie NOWY "
            f"(the ticket is {ticket.status}, not NOWY)"
        )
    completion.accept_complete(job.session, job.app, ticket, by=job.by, now=job.now,
                               reason="data accepted as complete by staff")  # fmt: skip
    reached_client(ticket, job)
    return done(job, ticket)


def _close(job: Job, ticket: db.Ticket) -> Outcome:
    check_transition(Status(ticket.status), Status.ZAMKNIETY)
    unanswered = ticket.awaiting_client or ticket.suspended
    reason = job.command.close_reason(question_unanswered=unanswered) or CloseReason.STAFF
    lifecycle.close(job.session, job.app, ticket, reason, by=job.by, now=job.now,
                    text=job.for_client, note=job.text, files=job.files)  # fmt: skip
    reached_client(ticket, job)
    return done(job, ticket)


def _duplicate(job: Job, ticket: db.Ticket) -> Outcome:
    """[DUPLIKAT LOG-…]: closed and merged into the ticket that stays (`duplicates`)."""
    duplicates.close_as_duplicate(job, ticket)
    reached_client(ticket, job)
    return done(job, ticket)


# -- messages ----------------------------------------------------------------------------


def _question(job: Job, ticket: db.Ticket) -> Outcome:
    """[PYTANIE]: the body goes to the client; the ticket awaits the client (SPEC section 4)."""
    text = require_text(job)
    if ticket.status == Status.ZAMKNIETY:
        raise Refusal(f"{job.command.tag}: zgłoszenie jest zamknięte (the ticket is closed)")
    lifecycle.ask_question(job.session, job.app, ticket, by=job.by, text=text, now=job.now,
                           files=job.files, mailed=job.relays)  # fmt: skip
    reached_client(ticket, job)
    return done(job, ticket)


def _note(job: Job, ticket: db.Ticket) -> Outcome:
    """[NOTATKA]: an internal note in the history; nothing goes to the client."""
    note(job, ticket)
    return done(job, ticket, "note")


def _take(job: Job, ticket: db.Ticket) -> Outcome:
    """[PRZEJMIJ]: the sender becomes the owner (`staff` records it); nothing is mailed."""
    return done(job, ticket)


def _relay(job: Job, ticket: db.Ticket) -> Outcome:
    """No tag: the staff text goes to the client, unless staff already wrote to them directly."""
    text = require_text(job)
    if job.client_has_it:
        reason = "staff reply sent directly to the client (client in To/Cc); not relayed again"
    else:
        notices.queue_mail(job.session, job.app, ticket=ticket, to=[ticket.client_email],
                           template="message", kind="staff_reply", now=job.now,
                           lang=ticket.language, auto_submitted=None, automatic=False,
                           staff_text=text, question=False, attachments=job.files)  # fmt: skip
        reason = "staff reply relayed to the client"
    t.add_history(job.session, ticket, ticket.status, ticket.status, by=job.by, reason=reason,
                  now=job.now)  # fmt: skip
    reached_client(ticket, job)
    return done(job, ticket)


# -- a new ticket: split ----------------------------------------------------------------


def _split(job: Job, ticket: db.Ticket) -> Outcome:
    """[PODZIEL]: a new NOWY ticket for the same client from this body, linked, client told.

    Its subject is the split text's first line (after a greeting): the staff mail's own
    subject is usually the old ticket's, answered with the tag added.
    """
    text = require_text(job)
    mail = job.msg.mail
    prefix = job.app.settings.ticket_prefix
    subject = greetings.subject_line(text) or staffcmd.strip_tags(mail.subject, prefix)
    subject = subject or ticket.subject
    new = t.create_ticket(job.session, job.app, client_email=ticket.client_email,
                          client_name=ticket.client_name, subject=subject,
                          now=job.msg.received_at, language=ticket.language)  # fmt: skip
    new.cc = list(ticket.cc)
    t.add_link(new, db.key_of(ticket))
    t.add_link(ticket, db.key_of(new))
    t.add_history(job.session, new, Status.NOWY, Status.NOWY, by=job.by,
                  reason=f"split from {ticket.key}", now=job.now)  # fmt: skip
    t.add_history(job.session, ticket, ticket.status, ticket.status, by=job.by,
                  reason=f"split: new ticket {new.key}", now=job.now)  # fmt: skip
    notices.queue_mail(job.session, job.app, ticket=ticket, to=[ticket.client_email],
                       template="split_notice", kind="split", now=job.now, lang=ticket.language,
                       auto_submitted=None, automatic=False, new_key=new.key,
                       new_subject=new.subject, staff_text=job.for_client,
                       attachments=job.files)  # fmt: skip
    reached_client(ticket, job)
    new.fields = fields.merge({}, fields.extract(text, text, mail.attachments, first_message=True))
    as_client = dataclasses.replace(mail, from_addr=new.client_email, from_name=new.client_name)
    completion.complete_or_request(job.session, job.app,
                                   dataclasses.replace(job.msg, mail=as_client), new)  # fmt: skip
    return done(job, new, "created")


HANDLERS: dict[Action, Callable[[Job, db.Ticket], Outcome]] = {
    Action.ANALIZA: _plain_move,
    Action.W_TRAKCIE: _plain_move,
    Action.POPRAWKA: _fix,
    Action.PUBLIKACJA: _release,
    Action.ROZWIAZANY: _resolve,
    Action.OBEJSCIE: _resolve,
    Action.PYTANIE: _question,
    Action.NOTATKA: _note,
    Action.KOMPLETNE: _complete,
    Action.ZAMKNIJ: _close,
    Action.DUPLIKAT: _duplicate,
    Action.PODZIEL: _split,
    Action.PRZEJMIJ: _take,
    Action.RELAY: _relay,
}
