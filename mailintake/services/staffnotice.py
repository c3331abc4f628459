"""Staff notices of client mail (issue 12): what a client sends reaches the staff working on it.

Owns: whether a client's message is noticed (always on an existing ticket; a new ticket
when it is complete at once, answers a closed one, or `MAILINTAKE_NOTIFY_NEW` asks), what
the notice says — the client's own text, the fields the message filled in, its attachments
(attached, within `MAILINTAKE_MAX_ATTACHMENTS_MB`), what mailintake did (status changes,
mail to the client, what is still missing) — and its subject: `[LOG-000123]`, a flag
(complaint, complete, new) and the ticket's stored subject, never a command tag. Who gets
it and how it threads is `notices`'. Runs in the caller's transaction after the client's
message was handled; must not change the ticket or decide anything for the client.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlmodel import Session

from mailintake.adapters import db
from mailintake.app import App
from mailintake.domain import fields, labels, staffcmd
from mailintake.domain.attachments import is_signature_image
from mailintake.domain.mail import Attachment
from mailintake.domain.status import Status
from mailintake.services import notices
from mailintake.services import tickets as t
from mailintake.services.outcome import CLOSE_REQUEST, REPLY_TO_CLOSED, Incoming, Outcome

log = structlog.get_logger()

VALUE_CHARS = 200  # a field value in the notice; the whole text is above it
# What the client was sent, by the kind of the outgoing message.
TO_CLIENT = {
    "request_missing": "prośba o brakujące dane / request for the missing data",
    "confirmation": "potwierdzenie: zgłoszenie kompletne / confirmation: ticket complete",
    "status": "powiadomienie o zmianie statusu / status notice",
    "survey": "ankieta / survey",
    "survey_thanks": "podziękowanie za ocenę / thanks for the rating",
}
COMPLETE = "zgłoszenie kompletne → ANALIZA / ticket complete → ANALIZA"


@dataclass(frozen=True)
class Before:
    """A ticket as it was before the client's message: the notice tells what changed."""

    ticket_id: int | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    last_history: int = 0
    last_message: int = 0

    @classmethod
    def of(cls, session: Session, ticket: db.Ticket | None) -> Before:
        if ticket is None:
            return cls()
        history, message = db.newest_row_ids(session, db.id_of(ticket))
        return cls(db.id_of(ticket), dict(ticket.fields or {}), history, message)


def tell_staff(session: Session, app: App, msg: Incoming, outcome: Outcome, before: Before) -> None:
    """Queue the staff notice of one client message, when it is one staff must see."""
    ticket = t.locked_ticket(session, outcome.ticket or "")
    if ticket is None:
        return
    if before.ticket_id != ticket.id:
        before = Before()  # a new ticket: everything about it is news
    new = before.ticket_id is None
    if new and not (app.settings.notify_new or ticket.status != Status.NOWY or ticket.linked):
        return
    closed = _closed_ticket(session, ticket, outcome)
    # A reply to a closed ticket goes to whoever owned that one (SPEC §5: linked).
    to = notices.staff_recipients(app, ticket if ticket.owner or closed is None else closed)
    if not to:
        return
    history = db.history_of(session, db.id_of(ticket), after=before.last_history)
    sent = [m for m in db.messages_of(session, db.id_of(ticket), after=before.last_message)
            if m.direction == "out"]  # fmt: skip
    files, left_out = _attachable(msg.mail.attachments, app.settings.max_attachments_bytes)
    subject = notices.staff_subject(ticket, _flag(outcome, history, new, closed), ticket.subject,
                                    app.settings.ticket_prefix)  # fmt: skip
    log.info(
        "staff.notified", ticket=ticket.key, subject=subject, kind=notices.CLIENT_NOTICE, to=to
    )
    notices.queue_mail(
        session, app, ticket=ticket, to=to, template="client_notice", kind=notices.CLIENT_NOTICE,
        now=msg.now, auto_submitted="auto-generated", attachments=files,
        subject=subject, sender=msg.mail.from_addr or "", at=msg.received_at,
        text=(msg.mail.own_text or msg.mail.text).strip(),
        client_subject=_their_subject(msg, ticket, app.settings.ticket_prefix),
        filled=_filled(before.fields, ticket.fields or {}),
        files=[_size(a) for a in files], left_out=[_size(a) for a in left_out],
        limit_mb=f"{app.settings.max_attachments_mb:g}",
        did=[*_reopened(closed), *_did(history), *_mailed(sent, app)], missing=_missing(ticket),
    )  # fmt: skip


def _closed_ticket(session: Session, ticket: db.Ticket, outcome: Outcome) -> db.Ticket | None:
    """The closed ticket a reply to it opened `ticket` from, if it did."""
    if outcome.reason != REPLY_TO_CLOSED or not ticket.linked:
        return None
    return db.ticket_by_key(session, ticket.linked[0], for_update=False)


def _reopened(closed: db.Ticket | None) -> list[str]:
    if closed is None:
        return []
    return [f"odpowiedź na zamknięte zgłoszenie {closed.key} (opiekun / owner: "
            f"{closed.owner or '-'}): nowe zgłoszenie, powiązane / reply to the closed ticket "
            f"{closed.key}: a new ticket, linked"]  # fmt: skip


def _flag(
    outcome: Outcome, history: Sequence[db.HistoryRow], new: bool, closed: db.Ticket | None
) -> str:
    """What the subject says first: a complaint, a completion, a new ticket or a reply."""
    moves = {(h.from_status, h.to_status) for h in history}
    if outcome.reason == "complaint":
        return "REKLAMACJA / complaint"
    if outcome.reason == CLOSE_REQUEST:
        return "Klient prosi o zamknięcie / client asks to close"
    if closed is not None:
        return f"Odpowiedź na zamknięte {closed.key} / reply to closed {closed.key}"
    if (Status.NOWY, Status.ANALIZA) in moves:
        return "Kompletne / complete → ANALIZA"
    if new:
        return "Nowe zgłoszenie / new ticket"
    if outcome.reason == "confirmed":
        return "Klient potwierdził rozwiązanie / solution confirmed"
    if outcome.outcome == "survey":
        return "Ocena / survey rating"
    return "Odpowiedź klienta / client replied"


def _their_subject(msg: Incoming, ticket: db.Ticket, prefix: str) -> str:
    """The subject the client wrote, when it says more than the ticket's (often their words
    are only there: a body that is just our quoted mail)."""
    theirs = staffcmd.strip_tags(msg.mail.subject, prefix)
    return theirs if theirs and theirs != ticket.subject else ""


def _filled(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """`Label: value` for each field this message gave or changed (SPEC section 3)."""
    lines = []
    for code in fields.FIELDS:
        value, before = new.get(code), old.get(code)
        if isinstance(value, list):
            value = [v for v in value if v not in (before or [])]
        if value and value != before:
            shown = " ".join(labels.shown(code, value).split())
            if len(shown) > VALUE_CHARS:
                shown = shown[:VALUE_CHARS].rsplit(" ", 1)[0] + " …"
            lines.append(f"{labels.label(code)}: {shown}")
    return lines


def _did(history: Iterable[db.HistoryRow]) -> list[str]:
    """The history the message caused, as staff read it."""
    lines = []
    for h in history:
        if h.from_status is None:
            lines.append(f"nowe zgłoszenie / new ticket: {_shown(h.to_status)}")
        elif (h.from_status, h.to_status) == (Status.NOWY, Status.ANALIZA):
            lines.append(COMPLETE)
        elif h.from_status != h.to_status:
            lines.append(f"status: {_shown(h.from_status)} → {_shown(h.to_status)} ({h.reason})")
        else:
            lines.append(h.reason)
    return lines


def _mailed(sent: Iterable[db.MessageRow], app: App) -> list[str]:
    """What went to the client in answer (staff notices aside)."""
    return [
        f"do klienta / to the client: {TO_CLIENT.get(m.kind, m.kind)}"
        for m in sent
        if not {a.strip() for a in m.to_addrs.split(",")} <= app.settings.internal
    ]


def _missing(ticket: db.Ticket) -> list[str]:
    """What the ticket still lacks, as the form names it (never the internal codes)."""
    if ticket.status != Status.NOWY:
        return []
    return [labels.label(code) for code in fields.missing(ticket.fields or {})]


def _shown(status: str | None) -> str:
    return Status(status).display if status else "-"


def _attachable(
    attachments: Sequence[Attachment], limit: int
) -> tuple[list[Attachment], list[Attachment]]:
    """The client's files that fit within `limit` bytes together, in order; and the rest."""
    files, left_out, total = [], [], 0
    for attachment in attachments:
        if is_signature_image(attachment):
            continue
        if total + attachment.size <= limit:
            files.append(attachment)
            total += attachment.size
        else:
            left_out.append(attachment)
    return files, left_out


def _size(attachment: Attachment) -> str:
    return f"{attachment.filename} ({t.human_size(attachment.size)})"
