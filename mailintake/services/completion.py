"""The completion step of a NOWY ticket (SPEC sections 3, 4 and 5), shared by every way in.

Owns: after client data arrived (a client's message, a split, a registration
on behalf), the ticket either becomes complete (→ ANALIZA and a confirmation)
or the client is asked for what is missing; each request is an attempt that
moves the incomplete-close. Also owns the guard on every automatic answer to
a client: RFC 3834 and the per-address hourly cap. Runs inside the caller's
transaction; must not commit or send (the outbox sends).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlmodel import Session

from mailintake.adapters import db
from mailintake.app import App
from mailintake.domain import deadlines, fields
from mailintake.domain.status import Status
from mailintake.services import notices
from mailintake.services import tickets as t
from mailintake.services.outcome import Incoming

log = structlog.get_logger()
CAP_WINDOW = timedelta(hours=1)


def complete_or_request(session: Session, app: App, msg: Incoming, ticket: db.Ticket) -> None:
    """Complete → ANALIZA and a confirmation; else a request listing what is missing (SPEC §3)."""
    missing = fields.missing(ticket.fields)
    if not missing:
        _complete(session, app, msg, ticket)
    elif auto_reply(
        session, app, msg, ticket, "request_missing", **request_context(ticket, missing)
    ):
        record_attempt(ticket, msg.now)


def _complete(session: Session, app: App, msg: Incoming, ticket: db.Ticket) -> None:
    t.change_status(
        session, ticket, Status.ANALIZA, by="system", reason="data complete", now=msg.now
    )
    auto_reply(session, app, msg, ticket, "confirmation", received=_received(ticket))


def accept_complete(
    session: Session, app: App, ticket: db.Ticket, *, by: str, reason: str, now: datetime
) -> None:
    """Staff made the ticket complete: NOWY → ANALIZA and the client's confirmation (SPEC §3).

    A person decided it, so the confirmation is no automatic answer (no Auto-Submitted,
    not counted in the cap). The caller checks that the ticket is NOWY.
    """
    t.change_status(session, ticket, Status.ANALIZA, by=by, reason=reason, now=now)
    notices.queue_mail(session, app, ticket=ticket, to=[ticket.client_email],
                       template="confirmation", kind="confirmation", now=now,
                       lang=ticket.language, auto_submitted=None, automatic=False,
                       received=_received(ticket))  # fmt: skip


def _received(ticket: db.Ticket) -> list[str]:
    return t.field_labels([c for c in fields.FIELDS if c in ticket.fields], ticket.language)


def request_context(
    ticket: db.Ticket, missing: list[str], *, reminder: bool = False
) -> dict[str, Any]:
    """What the request and reminder templates show: what is missing, the form, the deadline."""
    return {
        "missing": t.field_labels(missing, ticket.language),
        "missing_codes": list(missing),
        "labels": dict(zip(missing, t.field_labels(missing, ticket.language), strict=True)),
        "form": fields.form_lines(missing, ticket.language),
        "attempts": ticket.attempts + 1,
        "reminder": reminder,
        "completion_due": ticket.completion_due,  # templates: {{ completion_due | when(lang) }}
    }


def record_attempt(ticket: db.Ticket, now: datetime) -> None:
    """Each request for data is an attempt; the incomplete-close moves with it (SPEC section 4)."""
    ticket.attempts += 1
    ticket.last_attempt_at = now
    due = ticket.completion_due
    assert due is not None, "create_ticket gives every ticket its completion deadline"
    ticket.close_after = deadlines.close_after(due, now)


def auto_reply(
    session: Session,
    app: App,
    msg: Incoming,
    ticket: db.Ticket,
    template: str,
    *,
    kind: str | None = None,
    **context: Any,
) -> bool:
    """Answer the client unless RFC 3834 or the per-sender cap forbids it (SPEC section 5)."""
    to = msg.mail.from_addr or ticket.client_email
    if not msg.classified.may_autoreply:
        log.info("mail.suppressed", ticket=ticket.key, to=to, reasons=msg.classified.reasons)
        return False
    if not may_mail(session, app, to, ticket, msg.now):
        return False
    notices.queue_mail(session, app, ticket=ticket, to=[to], template=template,
                       kind=kind or template, now=msg.now, lang=ticket.language,
                       **context)  # fmt: skip
    return True


def may_mail(session: Session, app: App, to: str, ticket: db.Ticket | None, now: datetime) -> bool:
    """The per-address cap on automatic mail in the last hour (SPEC section 5)."""
    db.serialize(session, f"cap:{to.lower()}")  # count and queue as one step across instances
    if db.automatic_mail_count(session, to, now - CAP_WINDOW) < app.settings.autoreply_per_hour:
        return True
    log.warning("mail.rate_limited", ticket=ticket.key if ticket else None, to=to)
    return False
