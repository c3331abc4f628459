"""Use case: send what the outbox holds (SPEC section 5: none is lost).

Owns: `flush(app)`, the only caller of the mail transport. A row is sent,
retried later with exponential backoff when the server is away (transient),
or marked failed when the server refuses it for good (permanent), which flags
its ticket. Rows are claimed one at a time (`FOR UPDATE SKIP LOCKED` on
PostgreSQL) so several instances never send one row twice.
"""

from __future__ import annotations

import itertools
import random
from datetime import datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlmodel import Session, col, select

from mailintake.adapters import db
from mailintake.adapters.mailer import PermanentSendError
from mailintake.app import App
from mailintake.errors import TransientError
from mailintake.services import notices

log = structlog.get_logger()

GIVE_UP_AFTER = timedelta(hours=48)
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min … capped at an hour, with jitter so instances do not march in step."""
    base: timedelta = min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), MAX_RETRY)
    return base * random.uniform(0.8, 1.2)


def flush(app: App, *, now: datetime | None = None, limit: int | None = 500) -> dict[str, int]:
    """Send due rows (all of them with `limit=None`); counts by result. Stops when the server is
    down. The daemon's loop keeps the default limit so new mail is not kept waiting."""
    counts = {"sent": 0, "retry": 0, "failed": 0}
    for _ in range(limit) if limit is not None else itertools.count():
        result = _send_one(app, now or app.clock())
        if result is None:
            break
        counts[result] += 1
        if result == "retry":
            break  # the server is away: the rest waits for the next flush
    return counts


def pending_count(app: App) -> int:
    with db.reading(app.engine) as session:
        query = select(sa.func.count()).select_from(db.OutboxRow)
        return session.exec(query.where(db.OutboxRow.status == "pending")).one()


def _send_one(app: App, now: datetime) -> str | None:
    with db.transaction(app.engine) as session:
        row = _claim(session, now)
        if row is None:
            return None
        ticket_key = _ticket_key(session, row)
        try:
            app.mailer.send(row.sender, row.recipients, row.raw)
        except PermanentSendError as exc:
            return _failed(app, session, row, ticket_key, str(exc), now)
        except (TransientError, OSError) as exc:
            return _retry(app, session, row, ticket_key, str(exc), now)
        except Exception as exc:
            # A row no server can take (e.g. a non-ASCII address without SMTPUTF8) must not
            # block every row behind it forever: it fails and staff are told (SPEC section 5).
            log.exception("mail.unsendable", ticket=ticket_key, message_id=row.message_id)
            app.mailer.close()  # the SMTP dialogue stopped half-way; start the next one afresh
            return _failed(app, session, row, ticket_key, f"{type(exc).__name__}: {exc}", now)
        return _sent(row, ticket_key, now)


def _claim(session: Session, now: datetime) -> db.OutboxRow | None:
    """The oldest due row, locked; rows another instance holds are skipped, not waited for."""
    query = (
        select(db.OutboxRow)
        .where(db.OutboxRow.status == "pending", col(db.OutboxRow.next_attempt_at) <= now)
        .order_by(col(db.OutboxRow.id))
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return session.exec(query).first()


def _sent(row: db.OutboxRow, ticket_key: str | None, now: datetime) -> str:
    row.status = "sent"
    row.sent_at = now
    row.attempts += 1
    log.info(
        "mail.sent",
        ticket=ticket_key,
        to=row.recipients,
        kind=row.kind,
        message_id=row.message_id,
    )
    return "sent"


def _retry(
    app: App, session: Session, row: db.OutboxRow, ticket_key: str | None, error: str, now: datetime
) -> str:
    row.attempts += 1
    row.last_error = error[:1000]
    if now - row.created_at > GIVE_UP_AFTER:
        return _failed(app, session, row, ticket_key, f"gave up after 48 h: {error}", now)
    row.next_attempt_at = now + backoff(row.attempts)
    log.warning(
        "mail.retry",
        ticket=ticket_key,
        error=error,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at.isoformat(),
    )
    return "retry"


def _failed(
    app: App, session: Session, row: db.OutboxRow, ticket_key: str | None, error: str, now: datetime
) -> str:
    row.status = "failed"
    row.last_error = error[:1000]
    ticket = session.get(db.Ticket, row.ticket_id) if row.ticket_id is not None else None
    if ticket is not None:
        ticket.flagged = True
        ticket.flag_reason = f"mail to {', '.join(row.recipients)} failed: {error}"[:500]
    log.error("mail.failed", ticket=ticket_key, to=row.recipients, error=error)
    _alert_staff(app, session, row, ticket, error, now)
    return "failed"


def _alert_staff(
    app: App,
    session: Session,
    row: db.OutboxRow,
    ticket: db.Ticket | None,
    error: str,
    now: datetime,
) -> None:
    """Tell staff a mail was not delivered; never about a failed mail to staff (no alert loop)."""
    staff = {s.lower() for s in app.settings.staff}
    if not staff or {r.lower() for r in row.recipients} <= staff:
        log.critical("mail.failed_unreported", to=row.recipients, error=error)
        return
    notices.notify_staff(
        session,
        app,
        ticket=ticket,
        now=now,
        subject=f"[mailintake] Wiadomość niewysłana / mail not delivered: {row.kind}",
        title="Nie udało się wysłać wiadomości / a message could not be sent.",
        lines=[
            f"Do / to: {', '.join(row.recipients)}",
            f"Zgłoszenie / ticket: {ticket.key if ticket else '-'}",
            f"Błąd / error: {error[:300]}",
        ],
    )


def _ticket_key(session: Session, row: db.OutboxRow) -> str | None:
    if row.ticket_id is None:
        return None
    ticket = session.get(db.Ticket, row.ticket_id)
    return ticket.key if ticket else None
