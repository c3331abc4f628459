"""Read-only views of tickets: the `tickets list` / `show` / `search` of SPEC section 9.

Owns: the exact JSON shape external tools rely on (every key always present; `null`
where there is no value; times ISO-8601 with offset), finding tickets by a piece of text
(`search_tickets`) and the conversation a person reads (`conversation`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from mailintake.adapters import db
from mailintake.app import App
from mailintake.domain import fields
from mailintake.domain.text import fold

LIST_FIELDS = ("logs", "screenshots")


def iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def ticket_fields(ticket: db.Ticket) -> dict[str, Any]:
    stored = ticket.fields or {}
    return {
        code: list(stored.get(code) or []) if code in LIST_FIELDS else stored.get(code)
        for code in fields.FIELDS
    }


def ticket_summary(ticket: db.Ticket) -> dict[str, Any]:
    return {
        "key": ticket.key,
        "status": ticket.status,
        "client_email": ticket.client_email,
        "subject": ticket.subject,
        "created_at": iso(ticket.created_at),
        "missing": fields.missing(ticket.fields or {}),
    }


def list_tickets(
    app: App, status: str | None = None, *, owner: bool = False
) -> list[dict[str, Any]]:
    """`tickets list --json` (SPEC section 9); with `owner` each also names its owner."""
    with db.reading(app.engine) as session:
        return [_listed(t, owner) for t in db.tickets(session, status)]


def _listed(ticket: db.Ticket, owner: bool) -> dict[str, Any]:
    return ticket_summary(ticket) | ({"owner": ticket.owner} if owner else {})


def search_tickets(app: App, text: str, *, owner: bool = False) -> list[dict[str, Any]]:
    """Tickets whose key, client address or organisation, subject or any message's text holds
    `text`, ignoring case and diacritics alike on every database; oldest first."""
    needle = " ".join(fold(text).split())
    if not needle:
        return []
    domains = {
        domain
        for domain, client in app.settings.clients.by_domain.items()
        if needle in fold(client.name)
    }
    with db.reading(app.engine) as session:
        tickets = db.tickets(session)
        found = {db.id_of(t) for t in tickets if _matches(t, needle, domains)}
        found |= db.tickets_whose_messages(session, lambda body: needle in _words(body))
        return [_listed(t, owner) for t in tickets if db.id_of(t) in found]


def _words(text: str) -> str:
    return " ".join(fold(text).split())


def _matches(ticket: db.Ticket, needle: str, domains: set[str]) -> bool:
    fields_ = (ticket.key or "", ticket.client_email, ticket.client_name, ticket.client_org,
               ticket.subject)  # fmt: skip
    domain = ticket.client_email.rpartition("@")[2].lower()
    return domain in domains or any(needle in _words(value) for value in fields_)


def conversation(app: App, key: str) -> list[dict[str, Any]] | None:
    """The ticket's messages as a person reads them, oldest first; None for no such ticket.

    Each: `at`, `direction`, `from`, `to`, `kind`, `subject`, `text` (the sender's own words
    for incoming mail, our notice without its footer for outgoing) and `attachments`
    (`filename`, `size`).
    """
    with db.reading(app.engine) as session:
        ticket = db.ticket_by_key(session, key, for_update=False)
        if ticket is None:
            return None
        files: dict[int, list[dict[str, Any]]] = {}
        for row in db.attachments_of(session, db.id_of(ticket)):
            files.setdefault(row.message_row_id, []).append(
                {"filename": row.filename, "size": row.size}
            )
        return [
            {**_message(m), "text": _own_words(m), "attachments": files.get(db.id_of(m), [])}
            for m in db.messages_of(session, db.id_of(ticket))
        ]


def _own_words(row: db.MessageRow) -> str:
    if row.direction == "in":
        return (row.own_text or row.body_text).strip()
    return row.body_text.split("\n--\n")[0].strip()  # our footer starts with "--"


def show_ticket(app: App, key: str) -> dict[str, Any] | None:
    with db.reading(app.engine) as session:
        ticket = db.ticket_by_key(session, key, for_update=False)
        if ticket is None:
            return None
        return ticket_detail(session, ticket)


def ticket_detail(session: Session, ticket: db.Ticket) -> dict[str, Any]:
    survey = (
        {"rating": ticket.survey_rating, "comment": ticket.survey_comment}
        if ticket.survey_rating is not None
        else None
    )
    return {
        **ticket_summary(ticket),
        "owner": ticket.owner,
        "client_name": ticket.client_name,
        "client_org": ticket.client_org,
        "language": ticket.language,
        "fields": ticket_fields(ticket),
        "attempts": ticket.attempts,
        "completion_due": iso(ticket.completion_due),
        "close_after": iso(ticket.close_after) if ticket.status == "NOWY" else None,
        "auto_close_at": iso(ticket.auto_close_at),
        "awaiting_client": ticket.awaiting_client,
        "suspended": ticket.suspended,
        "resolution": ticket.resolution,
        "resolved_at": iso(ticket.resolved_at),
        "closed_at": iso(ticket.closed_at),
        "close_reason": ticket.close_reason,
        "first_response_at": iso(ticket.first_response_at),
        "eta": iso(ticket.eta),
        "eta_accepted": ticket.eta_accepted,
        "release_date": iso(ticket.release_date),
        "flagged": ticket.flagged,
        "flag_reason": ticket.flag_reason,
        "survey": survey,
        "linked": list(ticket.linked or []),
        "cc": list(ticket.cc or []),
        "duplicate_of": ticket.duplicate_of,
        "messages": [_message(m) for m in db.messages_of(session, db.id_of(ticket))],
        "attachments": [_attachment(a) for a in db.attachments_of(session, db.id_of(ticket))],
        "history": [_history(h) for h in db.history_of(session, db.id_of(ticket))],
    }


def _message(row: db.MessageRow) -> dict[str, Any]:
    return {
        "direction": row.direction,
        "from": row.from_addr,
        "to": row.to_addrs,
        "subject": row.subject,
        "message_id": row.message_id,
        "at": iso(row.at),
        "kind": row.kind,
    }


def _attachment(row: db.AttachmentRow) -> dict[str, Any]:
    return {
        "filename": row.filename,
        "size": row.size,
        "sha256": row.sha256,
        "content_type": row.content_type,
    }


def _history(row: db.HistoryRow) -> dict[str, Any]:
    return {
        "from": row.from_status,
        "to": row.to_status,
        "at": iso(row.at),
        "by": row.by,
        "reason": row.reason,
    }
