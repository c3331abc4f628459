"""Use case: a message from a staff address (SPEC section 6).

Owns: the sender check of staff mail, reading the one command of its subject and running
it (`staffcommands` has a handler per tag; registration on behalf of a client is
`registration`'s; [POMOC] mails the tag guide back here), making the sender the ticket's
owner when the command says so, keeping the staff message on the ticket, and answering a
refused command to the staff sender. An untagged answer to mail we sent staff only (an
alert, a refusal, any notice but that of a client's message: `notices.answers_staff_only`)
is an internal note, never relayed; an untagged forward of no ticket registers it. Runs inside the intake transaction; must not commit,
send mail (the outbox does) or read the subject itself (`domain.staffcmd` does).

Every check that can refuse runs before the first write, so a refused command leaves the
ticket as it was: only the refusal notice and the message itself (as a note) are kept.
Subjects of the mail this module sends staff never carry a command tag (`notices`).
"""

from __future__ import annotations

import structlog
from sqlmodel import Session

from mailintake.adapters import db, guide
from mailintake.app import App
from mailintake.domain import staffauth, staffcmd, subjects
from mailintake.domain.staffcmd import Action, Command
from mailintake.errors import Refusal
from mailintake.services import notices, registration, staffcommands, threads
from mailintake.services import tickets as t
from mailintake.services.outcome import Incoming, Outcome
from mailintake.services.staffjob import Job, check_files

log = structlog.get_logger()


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
        if disputed := threads.thread_disagrees(session, app, mail):
            named, threaded = disputed
            raise Refusal(
                f"temat wskazuje {named}, a wiadomość odpowiada na {threaded}; wyślij polecenie "
                f"w nowej wiadomości do jednego zgłoszenia (the subject names {named} but the "
                f"mail answers {threaded}: send the command in a new mail naming one ticket)"
            )
        if command.action is Action.RELAY and notices.answers_staff_only(session, app, mail):
            return _internal_reply(session, app, msg, ticket)
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
    # Every staff address is told, so the real owner of a forged address learns of it too
    # (`notify_staff` sends `untrusted` alerts to all staff, capped per hour: issue 10).
    notices.notify_staff(
        session, app, ticket=ticket, template="staff_untrusted", alert="untrusted",
        now=msg.now, title="",
        # The forged command stays readable, defanged: `(ZAMKNIJ)` (issue 10).
        subject=notices.staff_subject(
            ticket, "Niezweryfikowany nadawca / unverified staff sender",
            staffcmd.without_commands(mail.subject, app.settings.ticket_prefix),
            app.settings.ticket_prefix,
        ),
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
        subject=_subject(app, ticket, "Odrzucono / refused", msg), answering=mail,
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


def _internal_reply(session: Session, app: App, msg: Incoming, ticket: db.Ticket | None) -> Outcome:
    """An untagged answer to mail we sent staff only stays a note: never mailed to a client.

    Whatever the notice was (an alert, a refusal, a suspension, `notices.answers_staff_only`),
    staff talking among themselves is not a reply on the ticket (issue 12).
    """
    command = Command(Action.NOTATKA, tag="(reply to a staff-only notice)")
    if ticket is None:
        t.store_inbound(session, app, None, msg, kind="note")
        return Outcome("note", None, msg.mail.message_id, "reply to a staff-only notice")
    job = Job(session, app, msg, command, ticket)
    outcome = staffcommands.HANDLERS[Action.NOTATKA](job, ticket)
    t.store_inbound(session, app, ticket, msg, kind="note")
    log.info("staff.internal_reply", ticket=ticket.key, sender=msg.mail.from_addr)
    return outcome


def _subject(app: App, ticket: db.Ticket | None, label: str, msg: Incoming) -> str:
    """The staff mail's subject quoted back without its tags: answering it runs nothing."""
    return notices.staff_subject(ticket, label, msg.mail.subject, app.settings.ticket_prefix)


# -- dispatch ----------------------------------------------------------------------------


def _run(job: Job) -> Outcome:
    if job.command.action is Action.REJESTRUJ or _forwards_a_new_matter(job):
        return registration.register_on_behalf(job.session, job.app, job.msg)
    if job.command.action is Action.POMOC:
        return _help(job)
    if job.ticket is None:
        raise Refusal(
            "nie znaleziono zgłoszenia: podaj numer w temacie, np. [LOG-000123], albo odpowiedz "
            "na wiadomość zgłoszenia (no ticket found: put its key in the subject or reply "
            "to a message of the ticket)"
        )
    check_files(job)
    outcome = staffcommands.HANDLERS[job.command.action](job, job.ticket)
    if job.command.silent:
        staffcommands.note(job, job.ticket)  # the status changed; the text stays internal
    if job.command.takes_ownership:
        previous = job.ticket.owner
        take = job.command.action is Action.PRZEJMIJ
        t.claim(job.session, job.ticket, job.by, job.now, take=take)
        if take and previous and previous != job.by:
            notices.tell_owner(
                job.session, job.app, job.ticket, now=job.now, to=[previous],
                label="Przejęte / taken over",
                title=f"{job.by} przejął(ęła) to zgłoszenie / took this ticket over.",
            )  # fmt: skip
    # A split keeps the message (its text and files) on the ticket it opened.
    home = db.ticket_by_key(job.session, outcome.ticket or "") or job.ticket
    internal = job.command.action is Action.NOTATKA or job.command.silent
    t.store_inbound(job.session, job.app, home, job.msg, kind="note" if internal else "staff")
    return outcome


def _forwards_a_new_matter(job: Job) -> bool:
    """An untagged forward (`PD:`, `Fwd:`) of no ticket registers the forwarded message,
    as `[REJESTRUJ]` would: staff forwarding a client's mail to support mean exactly that."""
    return (
        job.ticket is None
        and job.command.action is Action.RELAY
        and subjects.is_forward(job.msg.mail.subject)
    )


def _help(job: Job) -> Outcome:
    """[POMOC]/[help]: the tag guide (docs/staff-guide.md) back to the sender; no ticket needed."""
    mail = job.msg.mail
    t.store_inbound(job.session, job.app, None, job.msg, kind="staff_help")
    notices.queue_mail(
        job.session, job.app, ticket=None, to=[job.by], template="staff_guide", kind="staff_help",
        now=job.now, auto_submitted="auto-replied",
        subject="[mailintake] Przewodnik po tagach / staff tag guide", guide=guide.staff_guide(),
        answering=mail,
    )  # fmt: skip
    return Outcome("command", job.ticket.key if job.ticket else None, mail.message_id, "POMOC")
