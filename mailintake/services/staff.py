"""Use case: a message from a staff address (SPEC section 6).

Owns: the sender check of staff mail, running the one command tag of its subject (status
changes, question, note, split, duplicate; registration on behalf of a client is handed to
`registration`), relaying an untagged reply to the client, and answering a refused command
to the staff sender. Runs inside the intake transaction; must not commit, send mail (the
outbox does) or read the subject itself (`domain.staffcmd` does).

Every check that can refuse runs before the first write, so a refused command leaves the
ticket as it was: only the refusal notice and the message itself (as a note) are kept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import structlog
from sqlmodel import Session

from mailintake.adapters import db
from mailintake.app import App
from mailintake.domain import fields, sla, staffauth, staffcmd
from mailintake.domain.staffcmd import Action, Command
from mailintake.domain.status import CloseReason, Status, check_transition
from mailintake.errors import Refusal
from mailintake.services import completion, lifecycle, notices, registration, reports, threads
from mailintake.services import tickets as t
from mailintake.services.outcome import Incoming, Outcome

log = structlog.get_logger()


@dataclass(frozen=True)
class Job:
    """One trusted staff command on its way: who, about which ticket, with what text."""

    session: Session
    app: App
    msg: Incoming
    command: Command
    ticket: db.Ticket | None

    @property
    def by(self) -> str:
        return self.msg.mail.from_addr or ""

    @property
    def text(self) -> str:
        """The staff member's own words: quoted history and signature removed (SPEC §6)."""
        return self.msg.mail.own_text.strip()

    @property
    def now(self) -> datetime:
        return self.msg.now


def handle_staff_mail(session: Session, app: App, msg: Incoming) -> Outcome:
    """Check the sender, then run the subject's command; a refusal is answered, changes nothing."""
    mail = msg.mail
    ticket = threads.find_ticket(session, app, mail)
    mode = staffauth.parse_auth_mode(app.settings.staff_auth)
    verdict = staffauth.verify_sender(mode, mail.from_addr or "", mail.headers)
    if not verdict.trusted:
        return _untrusted(session, app, msg, ticket, verdict.reason)
    try:
        command = staffcmd.parse_command(mail.subject, prefix=app.settings.ticket_prefix)
        _refuse_if_quoted(session, app, msg, command)
        return _run(Job(session, app, msg, command, ticket))
    except Refusal as refusal:
        return _refuse(session, app, msg, ticket, str(refusal))


# -- the sender check and refusals -------------------------------------------------------


def _untrusted(
    session: Session, app: App, msg: Incoming, ticket: db.Ticket | None, reason: str
) -> Outcome:
    """Nothing runs; the message stays as an untrusted note and staff are alerted (SPEC §6)."""
    mail = msg.mail
    t.store_inbound(session, app, ticket, msg, kind="untrusted")
    key = ticket.key if ticket else None
    log.warning("security.untrusted_staff_command", sender=mail.from_addr, ticket=key,
                reason=reason, subject=mail.subject, message_id=mail.message_id)  # fmt: skip
    # Every staff address is told, so the real owner of a forged address learns of it too;
    # the subject quotes the forgery's, its command tags defanged by `notices` (issue 10).
    notices.notify_staff(
        session, app, ticket=ticket, template="staff_untrusted", alert="untrusted",
        now=msg.now, title="", subject=f"{_prefix(ticket)}Niezweryfikowany nadawca / "
        f"unverified staff sender: {mail.subject}",
        sender=mail.from_addr, original_subject=mail.subject, reason=reason,
        message_id=mail.message_id,
    )  # fmt: skip
    return Outcome("refused", key, mail.message_id, f"untrusted sender: {reason}")


def _refuse(
    session: Session, app: App, msg: Incoming, ticket: db.Ticket | None, reason: str
) -> Outcome:
    """One notice with the reason to the staff sender; the message is kept as a note."""
    mail = msg.mail
    t.store_inbound(session, app, ticket, msg, kind="staff_refused")
    notices.queue_mail(
        session, app, ticket=ticket, to=[mail.from_addr or ""], template="staff_refusal",
        kind="staff_refusal", now=msg.now, auto_submitted="auto-replied",
        subject=f"{_prefix(ticket)}Odrzucono / refused: {mail.subject}",
        reason=reason, original_subject=mail.subject,
    )  # fmt: skip
    log.info("staff.command_refused", sender=mail.from_addr, reason=reason,
             ticket=ticket.key if ticket else None)  # fmt: skip
    return Outcome("refused", ticket.key if ticket else None, mail.message_id, reason)


def _refuse_if_quoted(session: Session, app: App, msg: Incoming, command: Command) -> None:
    """A reply to a staff-only notice of ours never runs a tag that notice's subject quoted.

    Our notices defang tags now (`notices`); this also covers those sent before (issue 10).
    """
    if command.action is Action.RELAY:
        return
    for ours in db.sent_messages(session, msg.mail.in_reply_to):
        to = [a.strip() for a in ours.to_addrs.split(",")]
        if notices.is_staff_only(app, to) and command.tag.lower() in ours.subject.lower():
            raise Refusal(
                f"{command.tag} pochodzi z tematu naszego powiadomienia; napisz polecenie w nowym "
                f"temacie ({command.tag} was quoted from our notice's subject; write the command "
                "in a new subject)"
            )


def _prefix(ticket: db.Ticket | None) -> str:
    return f"[{ticket.key}] " if ticket else ""


# -- dispatch ----------------------------------------------------------------------------


def _run(job: Job) -> Outcome:
    if job.command.action is Action.REJESTRUJ:
        return registration.register_on_behalf(job.session, job.app, job.msg)
    if job.ticket is None:
        raise Refusal(
            "nie znaleziono zgłoszenia: podaj numer w temacie, np. [LOG-000123], albo odpowiedz "
            "na wiadomość zgłoszenia (no ticket found: put its key in the subject or reply "
            "to a message of the ticket)"
        )
    outcome = HANDLERS[job.command.action](job, job.ticket)
    # A split keeps the message (its text and files) on the ticket it opened.
    home = db.ticket_by_key(job.session, outcome.ticket or "") or job.ticket
    kind = "note" if job.command.action is Action.NOTATKA else "staff"
    t.store_inbound(job.session, job.app, home, job.msg, kind=kind)
    return outcome


def _done(job: Job, ticket: db.Ticket, outcome: str = "command") -> Outcome:
    return Outcome(outcome, ticket.key, job.msg.mail.message_id, str(job.command.action))


def _reached_client(ticket: db.Ticket, now: datetime) -> None:
    """The first staff action the client hears of is the first response (SLA, SPEC §4)."""
    if ticket.first_response_at is None:
        ticket.first_response_at = now


def _require_text(job: Job) -> str:
    if not job.text:
        raise Refusal(
            f"{job.command.tag or 'odpowiedź'}: brak treści dla klienta (no text for the client: "
            "write it above the quoted history)"
        )
    return job.text


# -- status changes ----------------------------------------------------------------------


def _move(job: Job, ticket: db.Ticket, reason: str, *, ask_accept: bool = False) -> Outcome:
    """→ the command's status, recorded, and the client mailed with the staff text."""
    target = job.command.target_status
    assert target is not None
    old = t.change_status(job.session, ticket, target, by=job.by, reason=reason, now=job.now)
    _mail_status(job, ticket, old, ask_accept=ask_accept)
    return _done(job, ticket)


def _mail_status(job: Job, ticket: db.Ticket, old: str, *, ask_accept: bool = False) -> None:
    notices.queue_mail(
        job.session, job.app, ticket=ticket, to=[ticket.client_email], template="status_changed",
        kind="status", now=job.now, lang=ticket.language, auto_submitted=None, automatic=False,
        old_status=old, new_status=ticket.status, staff_text=job.text,
        eta=ticket.eta, release_date=ticket.release_date,
        resolution=ticket.resolution, ask_accept=ask_accept,
        auto_close_at=ticket.auto_close_at,
    )  # fmt: skip
    _reached_client(ticket, job.now)


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
                      text=job.text, now=job.now)  # fmt: skip
    _reached_client(ticket, job.now)
    return _done(job, ticket)


def _complete(job: Job, ticket: db.Ticket) -> Outcome:
    """[KOMPLETNE]: staff accept the data as complete, NOWY → ANALIZA, client confirmed."""
    if ticket.status != Status.NOWY:
        raise Refusal(
            f"{job.command.tag}: zgłoszenie ma status {Status(ticket.status).display}, a nie NOWY "
            f"(the ticket is {ticket.status}, not NOWY)"
        )
    t.change_status(job.session, ticket, Status.ANALIZA, by=job.by,
                    reason="data accepted as complete by staff", now=job.now)  # fmt: skip
    received = t.field_labels([c for c in fields.FIELDS if c in ticket.fields], ticket.language)
    notices.queue_mail(job.session, job.app, ticket=ticket, to=[ticket.client_email],
                       template="confirmation", kind="confirmation", now=job.now,
                       lang=ticket.language, auto_submitted=None, automatic=False,
                       received=received)  # fmt: skip
    _reached_client(ticket, job.now)
    return _done(job, ticket)


def _close(job: Job, ticket: db.Ticket) -> Outcome:
    check_transition(Status(ticket.status), Status.ZAMKNIETY)
    lifecycle.close(job.session, job.app, ticket, CloseReason.STAFF, by=job.by, now=job.now,
                    text=job.text)  # fmt: skip
    _reached_client(ticket, job.now)
    return _done(job, ticket)


def _duplicate(job: Job, ticket: db.Ticket) -> Outcome:
    """[DUPLIKAT LOG-…]: closed as a duplicate of another existing ticket, linked both ways."""
    key = job.command.duplicate_of or ""
    original = db.ticket_by_key(job.session, key)
    if original is None or original.id == ticket.id:
        why = "to samo zgłoszenie (the same ticket)" if original else "nie istnieje (unknown)"
        raise Refusal(f"{job.command.tag}: {key} {why}")
    check_transition(Status(ticket.status), Status.ZAMKNIETY)
    lifecycle.close(job.session, job.app, ticket, CloseReason.DUPLICATE, by=job.by, now=job.now,
                    text=job.text)  # fmt: skip
    t.add_history(job.session, ticket, Status.ZAMKNIETY, Status.ZAMKNIETY, by=job.by,
                  reason=f"duplicate of {original.key}", now=job.now)  # fmt: skip
    t.add_link(ticket, original.key or "")
    t.add_link(original, ticket.key or "")
    _reached_client(ticket, job.now)
    return _done(job, ticket)


# -- messages ----------------------------------------------------------------------------


def _question(job: Job, ticket: db.Ticket) -> Outcome:
    """[PYTANIE]: the body goes to the client; the ticket awaits the client (SPEC section 4)."""
    text = _require_text(job)
    if ticket.status == Status.ZAMKNIETY:
        raise Refusal(f"{job.command.tag}: zgłoszenie jest zamknięte (the ticket is closed)")
    lifecycle.ask_question(job.session, job.app, ticket, by=job.by, text=text, now=job.now)
    _reached_client(ticket, job.now)
    return _done(job, ticket)


def _note(job: Job, ticket: db.Ticket) -> Outcome:
    """[NOTATKA]: an internal note in the history; nothing goes to the client."""
    first = (job.text.splitlines() or [""])[0][:200]
    t.add_history(job.session, ticket, ticket.status, ticket.status, by=job.by,
                  reason=f"note: {first}", now=job.now)  # fmt: skip
    return _done(job, ticket, "note")


def _relay(job: Job, ticket: db.Ticket) -> Outcome:
    """No tag: the staff member's own text goes to the client as a message on the ticket."""
    text = _require_text(job)
    notices.queue_mail(job.session, job.app, ticket=ticket, to=[ticket.client_email],
                       template="message", kind="staff_reply", now=job.now, lang=ticket.language,
                       auto_submitted=None, automatic=False, staff_text=text,
                       question=False)  # fmt: skip
    t.add_history(job.session, ticket, ticket.status, ticket.status, by=job.by,
                  reason="staff reply relayed to the client", now=job.now)  # fmt: skip
    _reached_client(ticket, job.now)
    return _done(job, ticket)


# -- a new ticket: split ----------------------------------------------------------------


def _split(job: Job, ticket: db.Ticket) -> Outcome:
    """[PODZIEL]: a new NOWY ticket for the same client from this body, linked, client told."""
    text = _require_text(job)
    mail = job.msg.mail
    subject = staffcmd.strip_tags(mail.subject, job.app.settings.ticket_prefix) or ticket.subject
    new = t.create_ticket(job.session, job.app, client_email=ticket.client_email,
                          client_name=ticket.client_name, subject=subject,
                          now=job.msg.received_at, language=ticket.language)  # fmt: skip
    t.add_link(new, ticket.key or "")
    t.add_link(ticket, new.key or "")
    t.add_history(job.session, new, Status.NOWY, Status.NOWY, by=job.by,
                  reason=f"split from {ticket.key}", now=job.now)  # fmt: skip
    t.add_history(job.session, ticket, ticket.status, ticket.status, by=job.by,
                  reason=f"split: new ticket {new.key}", now=job.now)  # fmt: skip
    notices.queue_mail(job.session, job.app, ticket=ticket, to=[ticket.client_email],
                       template="split_notice", kind="split", now=job.now, lang=ticket.language,
                       auto_submitted=None, automatic=False, new_key=new.key,
                       new_subject=new.subject, staff_text=text)  # fmt: skip
    _reached_client(ticket, job.now)
    new.fields = fields.merge({}, fields.extract(text, text, mail.attachments, first_message=True))
    as_client = dataclasses.replace(mail, from_addr=new.client_email, from_name=new.client_name)
    completion.complete_or_request(job.session, job.app,
                                   dataclasses.replace(job.msg, mail=as_client), new)  # fmt: skip
    return _done(job, new, "created")


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
    Action.RELAY: _relay,
}
