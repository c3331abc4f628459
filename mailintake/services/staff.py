"""Use case: a message from a staff address (SPEC section 6).

Owns: the sender check of staff mail, running the one command tag of its subject (status
changes, question, note, split, duplicate, registration on behalf of a client), relaying an
untagged reply to the client, and answering a refused command to the staff sender. Runs
inside the intake transaction; must not commit, send mail (the outbox does) or read the
subject itself (`domain.staffcmd` does).

Every check that can refuse runs before the first write, so a refused command leaves the
ticket as it was: only the refusal notice and the message itself (as a note) are kept.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr

import structlog
from sqlmodel import Session

from mailintake.adapters import db
from mailintake.adapters.parse import parse
from mailintake.bootstrap import App
from mailintake.domain import deadlines, fields, mailrules, staffauth, staffcmd
from mailintake.domain.mail import Attachment, ParsedMail
from mailintake.domain.staffcmd import Action, Command
from mailintake.domain.status import CloseReason, Status, check_transition
from mailintake.errors import Refusal
from mailintake.services import lifecycle, reports
from mailintake.services import tickets as t
from mailintake.services.outcome import Incoming, Outcome

log = structlog.get_logger()

ENCLOSED = ("message/rfc822", "message/global")
# Outlook and Gmail forward separators, Polish and English (SPEC section 6, inline forward).
FORWARD_START = re.compile(
    r"^\s*(?:-{2,}\s*(?:Original Message|Forwarded message|Wiadomo(?:ść|sc) oryginalna"
    r"|Oryginalna wiadomo(?:ść|sc)|Wiadomo(?:ść|sc) przekazana dalej)\s*-{2,}"
    r"|Begin forwarded message:|_{10,})\s*$",
    re.IGNORECASE,
)
FORWARD_HEADER = re.compile(
    r"^\s*\*?(?P<name>From|Od|Sent|Wysłane|Wysłano|Date|Data|To|Do|Cc|DW|Subject|Temat)\s*\*?"
    r"\s*:\s*(?P<value>.*)$",
    re.IGNORECASE,
)
HEADER_NAMES = {"od": "from", "wysłane": "date", "wysłano": "date", "data": "date",
                "sent": "date", "do": "to", "dw": "cc", "temat": "subject"}  # fmt: skip


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
    from mailintake.services.intake import find_ticket

    mail = msg.mail
    ticket = find_ticket(session, app, mail)
    mode = staffauth.parse_auth_mode(app.settings.staff_auth)
    verdict = staffauth.verify_sender(mode, mail.from_addr or "", mail.headers)
    if not verdict.trusted:
        return _untrusted(session, app, msg, ticket, verdict.reason)
    try:
        command = staffcmd.parse_command(mail.subject, prefix=app.settings.ticket_prefix)
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
    # Every staff address is told, so the real owner of a forged address learns of it too.
    t.queue_mail(
        session, app, ticket=ticket, to=sorted(app.settings.staff), template="staff_untrusted",
        kind="staff_alert", now=msg.now, auto_submitted="auto-generated",
        subject=f"{_prefix(ticket)}Niezweryfikowany nadawca / unverified staff sender: "
        f"{mail.subject}",
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
    t.queue_mail(
        session, app, ticket=ticket, to=[mail.from_addr or ""], template="staff_refusal",
        kind="staff_refusal", now=msg.now, auto_submitted="auto-replied",
        subject=f"{_prefix(ticket)}Odrzucono / refused: {mail.subject}",
        reason=reason, original_subject=mail.subject,
    )  # fmt: skip
    log.info("staff.command_refused", sender=mail.from_addr, reason=reason,
             ticket=ticket.key if ticket else None)  # fmt: skip
    return Outcome("refused", ticket.key if ticket else None, mail.message_id, reason)


def _prefix(ticket: db.Ticket | None) -> str:
    return f"[{ticket.key}] " if ticket else ""


# -- dispatch ----------------------------------------------------------------------------


def _run(job: Job) -> Outcome:
    if job.command.action is Action.REJESTRUJ:
        return _register(job)
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
    t.queue_mail(
        job.session, job.app, ticket=ticket, to=[ticket.client_email], template="status_changed",
        kind="status", now=job.now, lang=ticket.language, auto_submitted=None, automatic=False,
        old_status=old, new_status=ticket.status, staff_text=job.text,
        eta=_day(ticket.eta), release_date=_day(ticket.release_date),
        resolution=ticket.resolution, ask_accept=ask_accept,
        auto_close_at=t.local_time(ticket.auto_close_at),
    )  # fmt: skip
    _reached_client(ticket, job.now)


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


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
    plan = job.app.settings.clients.for_address(ticket.client_email).sla
    history = db.history_of(job.session, ticket.id)
    start = reports.sla_start(ticket, history)
    due = deadlines.sla_due(start, plan.resolution_hours, job.app.calendar, reports.pauses(ticket))
    return due is not None and eta > date.fromisoformat(t.local_time(due)[:10])


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
    t.queue_mail(job.session, job.app, ticket=ticket, to=[ticket.client_email],
                 template="confirmation", kind="confirmation", now=job.now, lang=ticket.language,
                 auto_submitted=None, automatic=False, received=received)  # fmt: skip
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
    t.queue_mail(job.session, job.app, ticket=ticket, to=[ticket.client_email],
                 template="message", kind="staff_reply", now=job.now, lang=ticket.language,
                 auto_submitted=None, automatic=False, staff_text=text, question=False)  # fmt: skip
    t.add_history(job.session, ticket, ticket.status, ticket.status, by=job.by,
                  reason="staff reply relayed to the client", now=job.now)  # fmt: skip
    _reached_client(ticket, job.now)
    return _done(job, ticket)


# -- new tickets: split and registration on behalf ---------------------------------------


def _split(job: Job, ticket: db.Ticket) -> Outcome:
    """[PODZIEL]: a new NOWY ticket for the same client from this body, linked, client told."""
    from mailintake.services import intake

    text = _require_text(job)
    mail = job.msg.mail
    subject = staffcmd.strip_tags(mail.subject, job.app.settings.ticket_prefix) or ticket.subject
    new = t.create_ticket(job.session, job.app, client_email=ticket.client_email,
                          client_name=ticket.client_name, subject=subject,
                          now=job.msg.received_at)  # fmt: skip
    t.add_link(new, ticket.key or "")
    t.add_link(ticket, new.key or "")
    t.add_history(job.session, new, Status.NOWY, Status.NOWY, by=job.by,
                  reason=f"split from {ticket.key}", now=job.now)  # fmt: skip
    t.add_history(job.session, ticket, ticket.status, ticket.status, by=job.by,
                  reason=f"split: new ticket {new.key}", now=job.now)  # fmt: skip
    t.queue_mail(job.session, job.app, ticket=ticket, to=[ticket.client_email],
                 template="split_notice", kind="split", now=job.now, lang=ticket.language,
                 auto_submitted=None, automatic=False, new_key=new.key, new_subject=new.subject,
                 staff_text=text)  # fmt: skip
    _reached_client(ticket, job.now)
    new.fields = fields.merge({}, fields.extract(text, text, mail.attachments, first_message=True))
    as_client = dataclasses.replace(mail, from_addr=new.client_email, from_name=new.client_name)
    intake._after_client_data(job.session, job.app, dataclasses.replace(job.msg, mail=as_client),
                              new)  # fmt: skip
    return _done(job, new, "created")


def _register(job: Job) -> Outcome:
    """[REJESTRUJ]: the forwarded client message becomes a ticket of its original sender."""
    from mailintake.services import intake

    inner, rest = _forwarded(job.msg.mail)
    _check_registrable(job, inner)
    c = mailrules.classify(inner, support_address=job.app.settings.support_address,
                           staff=job.app.settings.staff)  # fmt: skip
    client_msg = dataclasses.replace(job.msg, mail=inner, classification=c)
    outcome = intake.open_ticket(job.session, job.app, client_msg)
    ticket = db.ticket_by_key(job.session, outcome.ticket or "")
    assert ticket is not None
    t.add_history(job.session, ticket, Status(ticket.status), Status(ticket.status), by=job.by,
                  reason=f"registered on behalf of {inner.from_addr}", now=job.now)  # fmt: skip
    outer = dataclasses.replace(job.msg.mail, attachments=rest)
    t.store_inbound(job.session, job.app, ticket, job.msg, kind="staff", mail=outer)
    return Outcome("created", ticket.key, job.msg.mail.message_id, "REJESTRUJ")


def _check_registrable(job: Job, inner: ParsedMail | None) -> None:
    settings = job.app.settings
    sender = inner.from_addr if inner else None
    if inner is None or not sender:
        raise Refusal(
            "[REJESTRUJ]: brak przekazanej wiadomości klienta – prześlij ją jako załącznik lub "
            "„Przekaż dalej” z nagłówkiem Od:/From: ([REGISTER]: no forwarded client message: "
            "attach it or forward it inline with its From: line)"
        )
    if sender in settings.staff or sender == settings.support_address:
        raise Refusal(f"[REJESTRUJ]: {sender} nie jest klientem ({sender} is not a client)")
    known = inner.message_id and db.ticket_by_message_ids(job.session, (inner.message_id,))
    if known:
        raise Refusal(f"[REJESTRUJ]: ta wiadomość jest już zgłoszeniem {known.key} "
                      f"(this message is already ticket {known.key})")  # fmt: skip


def _forwarded(mail: ParsedMail) -> tuple[ParsedMail | None, tuple[Attachment, ...]]:
    """The forwarded message and the staff mail's attachments not part of it."""
    for attachment in mail.attachments:
        if attachment.content_type in ENCLOSED:
            return parse(attachment.data), mail.attachments
    files = tuple(a for a in mail.attachments if a.content_type not in ENCLOSED)
    inline = _inline_forward(mail.text, files)
    return (inline, ()) if inline is not None else (None, mail.attachments)


def _inline_forward(text: str, files: tuple[Attachment, ...]) -> ParsedMail | None:
    """An Outlook/Gmail inline forward: its From:/Od: header block and the text below it.

    Rebuilt as a message and parsed, so addresses, RFC 2047 words and the sender's own
    text are read by the same parser as any incoming mail. Outlook forwards the original's
    attachments as attachments of the forward, so they go with it.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    for i in range(len(lines)):
        headers, end = _header_block(lines, i)
        if "from" in headers:
            return parse(_rebuild(headers, "\n".join(lines[end:]).strip(), files))
    return None


def _header_block(lines: list[str], start: int) -> tuple[dict[str, str], int]:
    """Header lines at `start` (after an optional separator line) → (headers, first body line)."""
    i = start + 1 if FORWARD_START.match(lines[start]) else start
    found: dict[str, str] = {}
    while i < len(lines) and (match := FORWARD_HEADER.match(lines[i])):
        name = match.group("name").lower()
        found.setdefault(HEADER_NAMES.get(name, name), match.group("value").strip())
        i += 1
    # A lone "From:" line in prose is not a forward: a second header must follow.
    return (found if len(found) >= 2 else {}), i


def _rebuild(headers: dict[str, str], body: str, files: tuple[Attachment, ...]) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = _address(headers["from"])
    if headers.get("subject"):
        msg["Subject"] = headers["subject"]
    msg.set_content(body or "\n")
    for file in files:
        main, _, sub = file.content_type.partition("/")
        msg.add_attachment(file.data, maintype=main, subtype=sub or "octet-stream",
                           filename=file.filename)  # fmt: skip
    return msg.as_bytes()


def _address(value: str) -> str:
    """Outlook writes `Jan Kowalski [mailto:jan@x.pl]`, `Jan <jan@x.pl>` or a bare address."""
    found = re.search(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", value)
    if found is None:
        return ""
    name = value[: found.start()].strip(" \t\"'<[(").removesuffix("mailto:").strip(" \t\"'<[(")
    return formataddr((name, found.group(0)))


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
