"""Use case: send what the outbox holds (SPEC section 5: none is lost).

Owns: `flush(app)`, the only caller of the mail transport. A row is sent,
retried later with exponential backoff when the server is away (transient),
or marked failed when the server refuses it for good (permanent), which flags
its ticket. Rows are claimed one at a time (`FOR UPDATE SKIP LOCKED` on
PostgreSQL) so several instances never send one row twice.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlmodel import select

from mailintake.adapters import db
from mailintake.adapters.mailer import PermanentSendError
from mailintake.bootstrap import App
from mailintake.errors import TransientError

log = structlog.get_logger()

GIVE_UP_AFTER = timedelta(hours=48)
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min … capped at an hour, with jitter so instances do not march in step."""
    base = min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), MAX_RETRY)
    return base * random.uniform(0.8, 1.2)


def flush(app: App, *, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Send every due row; returns counts by result. Stops early when the server is down."""
    counts = {"sent": 0, "retry": 0, "failed": 0}
    for _ in range(limit):
        result = _send_one(app, now or app.clock())
        if result is None:
            break
        counts[result] += 1
        if result == "retry":
            break  # the server is away: the rest waits for the next flush
    return counts


def pending_count(app: App) -> int:
    with db.transaction(app.engine) as session:
        query = sa.select(sa.func.count()).select_from(db.OutboxRow)
        return session.exec(query.where(db.OutboxRow.status == "pending")).one()[0]


def _send_one(app: App, now: datetime) -> str | None:
    with db.transaction(app.engine) as session:
        query = (
            select(db.OutboxRow)
            .where(db.OutboxRow.status == "pending", db.OutboxRow.next_attempt_at <= now)
            .order_by(db.OutboxRow.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        row = session.exec(query).first()
        if row is None:
            return None
        ticket_key = _ticket_key(session, row)
        try:
            app.mailer.send(row.sender, row.recipients, row.raw)
        except PermanentSendError as exc:
            return _failed(session, row, ticket_key, str(exc), now)
        except (TransientError, OSError) as exc:
            return _retry(session, row, ticket_key, str(exc), now)
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


def _retry(session, row: db.OutboxRow, ticket_key: str | None, error: str, now: datetime) -> str:
    row.attempts += 1
    row.last_error = error[:1000]
    if now - row.created_at > GIVE_UP_AFTER:
        return _failed(session, row, ticket_key, f"gave up after 48 h: {error}", now)
    row.next_attempt_at = now + backoff(row.attempts)
    log.warning(
        "mail.retry",
        ticket=ticket_key,
        error=error,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at.isoformat(),
    )
    return "retry"


def _failed(session, row: db.OutboxRow, ticket_key: str | None, error: str, now: datetime) -> str:
    row.status = "failed"
    row.last_error = error[:1000]
    if row.ticket_id is not None:
        ticket = session.get(db.Ticket, row.ticket_id)
        ticket.flagged = True
        ticket.flag_reason = f"mail to {', '.join(row.recipients)} failed: {error}"[:500]
    log.error("mail.failed", ticket=ticket_key, to=row.recipients, error=error)
    return "failed"


def _ticket_key(session, row: db.OutboxRow) -> str | None:
    if row.ticket_id is None:
        return None
    ticket = session.get(db.Ticket, row.ticket_id)
    return ticket.key if ticket else None
