"""The outbox's claims: which process sends a row (SPEC section 5: none is sent twice).

Owns: claiming due rows (`UPDATE … SET status='sending' WHERE id=? AND
status='pending'`: only the process whose update changed the row sends it, on
SQLite as on PostgreSQL), giving claims back, and deciding when another
process's claim is abandoned. A claim is abandoned only when its claimer is
dead (`adapters.liveness`), on PostgreSQL for `liveness.grace` at least (a
server restart ends a live claimer's session; it takes its lock again and
checks its claims with `still_claimed` before it sends). A live claimer's
claim is never taken by time: a clock ahead, on another machine or after an
NTP step, would otherwise send its mail a second time. Must not send or
record what a send did: `services.outbox` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
import structlog
from sqlmodel import Session, col, select

from mailintake.adapters import db
from mailintake.app import App

log = structlog.get_logger()


def claim(app: App, now: datetime, count: int) -> tuple[list[db.OutboxRow], dict[int, str]]:
    """Up to `count` of the oldest due rows, claimed in one transaction, and the keys of their
    tickets by id; rows another process holds are skipped, not awaited. The commit is not
    durable: a power cut that loses it only leaves the rows pending."""
    due = (
        select(db.OutboxRow)
        .where(db.OutboxRow.status == "pending", col(db.OutboxRow.next_attempt_at) <= now)
        .order_by(col(db.OutboxRow.id))
        .limit(count)
        .with_for_update(skip_locked=True)
    )
    with db.transaction(app.engine, durable=False) as session:
        rows = session.exec(due).all()
        taken = _take(session, rows, app.liveness.token, now)
        ids = {row.ticket_id for row in taken if row.ticket_id is not None}
        query = select(db.Ticket.id, db.Ticket.key).where(col(db.Ticket.id).in_(ids))
        keys = {i: k for i, k in session.exec(query) if i is not None and k is not None}
    return taken, keys


def _take(
    session: Session, rows: Sequence[db.OutboxRow], token: str, now: datetime
) -> list[db.OutboxRow]:
    """The claim, one UPDATE for all: only the process whose UPDATE changed a row sends it."""
    ids = [db.id_of(row) for row in rows]
    claim = (
        sa.update(db.OutboxRow)
        .where(col(db.OutboxRow.id).in_(ids), col(db.OutboxRow.status) == "pending")
        .values(status="sending", claimed_by=token, claimed_at=now)
    )
    if not ids or session.exec(claim).rowcount == len(ids):
        return list(rows)
    mine = select(db.OutboxRow.id).where(col(db.OutboxRow.id).in_(ids),
                                         db.OutboxRow.claimed_by == token)  # fmt: skip
    ours = set(session.exec(mine))
    return [row for row in rows if row.id in ours]


def release_abandoned(app: App, now: datetime) -> None:
    """Rows left `sending` by a process that died (claimed over `liveness.grace` ago), and our
    own left by an interrupted flush (one flush at a time per process), wait again.

    The dead process may have handed the mail over just before it died: sending it again
    is the price of never losing it (SPEC section 5). A live claimer keeps its rows
    however old the claim looks: clocks differ and jump, and it is sending them.
    """
    query = select(db.OutboxRow).where(db.OutboxRow.status == "sending")
    with db.reading(app.engine) as session:
        claims = session.exec(query).all()
    abandoned = [(db.id_of(row), row.claimed_by) for row in claims if _abandoned(app, row, now)]
    if not abandoned:
        return
    with db.transaction(app.engine) as session:
        for row_id, by in abandoned:
            if _release(session, row_id, by):
                log.warning("mail.claim_released", outbox_id=row_id, claimed_by=by)


def _abandoned(app: App, row: db.OutboxRow, now: datetime) -> bool:
    if row.claimed_by is None or row.claimed_at is None or row.claimed_by == app.liveness.token:
        return True
    return row.claimed_at <= now - app.liveness.grace and not app.liveness.alive(row.claimed_by)


def still_claimed(app: App, row: db.OutboxRow) -> bool:
    """Does this process still hold its claim on `row` (after its lock was lost a while)?"""
    query = select(db.OutboxRow.id).where(
        db.OutboxRow.id == row.id,
        db.OutboxRow.status == "sending",
        db.OutboxRow.claimed_by == app.liveness.token,
    )
    with db.reading(app.engine) as session:
        return session.exec(query).first() is not None


def release_claims(app: App, rows: list[db.OutboxRow]) -> None:
    """Our own claims on rows we will not try now: pending again, for the next flush."""
    if rows:
        with db.transaction(app.engine) as session:
            for row in rows:
                _release(session, db.id_of(row), app.liveness.token)


def _release(session: Session, row_id: int, claimed_by: str | None) -> bool:
    """`sending` → `pending`, if `claimed_by` still holds the row."""
    release = (
        sa.update(db.OutboxRow)
        .where(col(db.OutboxRow.id) == row_id, col(db.OutboxRow.status) == "sending",
               col(db.OutboxRow.claimed_by) == claimed_by)
        .values(status="pending", claimed_by=None, claimed_at=None)
    )  # fmt: skip
    return bool(session.exec(release).rowcount)
