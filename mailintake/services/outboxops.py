"""Use case: ops' handle on the outbox — what waits, what failed, and sending it again (SPEC §9).

Owns: `list_rows` (the `outbox list --json` shape: `id`, `status`, `to`,
`subject`, `ticket`, `attempts`, `next_attempt_at`, `last_error`,
`created_at`; times ISO-8601 with offset) and `retry` (a failed or waiting
row becomes due now). Must not send: the next flush does (`outbox`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from mailintake.adapters import db
from mailintake.app import App
from mailintake.errors import Refusal
from mailintake.services.views import iso

STATUSES = ("pending", "sending", "sent", "failed")


def list_rows(app: App, status: str | None = None) -> list[dict[str, Any]]:
    """Outbox rows, oldest first, optionally of one status; without bodies."""
    query = (
        select(db.OutboxRow, db.MessageRow.subject, db.Ticket.key)
        .outerjoin(db.MessageRow, col(db.MessageRow.id) == col(db.OutboxRow.message_row_id))
        .outerjoin(db.Ticket, col(db.Ticket.id) == col(db.OutboxRow.ticket_id))
        .order_by(col(db.OutboxRow.id))
        .options(sa.orm.defer(db.OutboxRow.raw))  # type: ignore[arg-type]  # sqlmodel types the column as bytes
    )
    if status is not None:
        query = query.where(db.OutboxRow.status == status)
    with db.reading(app.engine) as session:
        return [_shown(row, subject, key) for row, subject, key in session.exec(query)]


def _shown(row: db.OutboxRow, subject: str | None, ticket: str | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "status": row.status,
        "to": ", ".join(row.recipients),
        "subject": subject,
        "ticket": ticket,
        "attempts": row.attempts,
        "next_attempt_at": iso(row.next_attempt_at) if row.status == "pending" else None,
        "last_error": row.last_error,
        "created_at": iso(row.created_at),
    }


def retry(app: App, ids: list[int] | None, now: datetime) -> list[int]:
    """Make rows due now: the given ones (failed or waiting), or with `ids=None` every failed
    and every waiting row. Returns the ids queued; raises `Refusal` naming a row that is
    unknown, sent or being sent, before changing any."""
    with db.transaction(app.engine) as session:
        rows = _chosen(session, ids)
        for row in rows:
            row.status = "pending"
            row.next_attempt_at = now
        return [db.id_of(row) for row in rows]


def _chosen(session: Session, ids: list[int] | None) -> list[db.OutboxRow]:
    query = select(db.OutboxRow).order_by(col(db.OutboxRow.id)).with_for_update()
    if ids is None:
        return list(session.exec(query.where(col(db.OutboxRow.status).in_(("failed", "pending")))))
    found = {db.id_of(row): row for row in session.exec(query.where(col(db.OutboxRow.id).in_(ids)))}
    for row_id in ids:
        row = found.get(row_id)
        if row is None:
            raise Refusal(f"#{row_id}: no such outbox row")
        if row.status == "sent":
            raise Refusal(f"#{row_id}: sent at {iso(row.sent_at)}; not sent again")
        if row.status == "sending":
            raise Refusal(f"#{row_id}: being sent right now")
    return [found[row_id] for row_id in dict.fromkeys(ids)]
