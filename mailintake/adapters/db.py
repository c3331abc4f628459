"""The database's queries (the tables: `tables`; the engine and units of work: `database`).

Owns: reading and writing the stored rows on SQLite and PostgreSQL alike, and the
ticket lookups that lock the row they return. Must not hold business rules: it
stores what the services decided. Re-exports the tables and `database`'s engine and
units of work, so callers say `db.Ticket`, `db.transaction(...)`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlmodel import Session, col, select

from mailintake.adapters.database import for_reading as for_reading
from mailintake.adapters.database import make_engine as make_engine
from mailintake.adapters.database import reading as reading
from mailintake.adapters.database import serialize as serialize
from mailintake.adapters.database import sqlite_path as sqlite_path
from mailintake.adapters.database import transaction as transaction
from mailintake.adapters.tables import AttachmentRow as AttachmentRow
from mailintake.adapters.tables import HistoryRow as HistoryRow
from mailintake.adapters.tables import InHandRow as InHandRow
from mailintake.adapters.tables import IntakeRow as IntakeRow
from mailintake.adapters.tables import MessageRow as MessageRow
from mailintake.adapters.tables import OutboxRow as OutboxRow
from mailintake.adapters.tables import QuarantineRow as QuarantineRow
from mailintake.adapters.tables import Ticket as Ticket
from mailintake.adapters.tables import UTCDateTime as UTCDateTime

# -- stored rows -----------------------------------------------------------


class _Row(Protocol):
    id: int | None


def id_of(row: _Row) -> int:
    """The id of a row the session has flushed; a row never flushed has none yet."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id: it was never flushed")
    return row.id


def key_of(ticket: Ticket) -> str:
    """The key (`LOG-000123`) of a ticket: given on the flush that creates it."""
    if ticket.key is None:
        raise ValueError("ticket has no key: it was never flushed")
    return ticket.key


# -- queries ---------------------------------------------------------------


def lock_ticket(session: Session, ticket_id: int) -> Ticket | None:
    """The ticket, read afresh and locked until the transaction ends (`SELECT … FOR UPDATE`).

    Every read-modify-write of a ticket reads it through here (or the lookups below, which
    lock by default), so a status change is checked against the state it replaces: a second
    instance changing the same ticket waits for this transaction. On SQLite the write lock
    of `transaction()` does the same for the whole database.
    """
    return _one_ticket(session, Ticket.id == ticket_id, for_update=True)


def _one_ticket(session: Session, where: Any, *, for_update: bool) -> Ticket | None:
    query = select(Ticket).where(where)
    if for_update:
        # populate_existing: a ticket this session loaded before the lock is refreshed too.
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.exec(query).first()


def ticket_by_key(session: Session, key: str, *, for_update: bool = True) -> Ticket | None:
    """The ticket with `key` (`LOG-000123`), locked unless `for_update=False` (read-only views)."""
    return _one_ticket(session, Ticket.key == key.upper(), for_update=for_update)


def ticket_by_message_ids(
    session: Session,
    message_ids: tuple[str, ...],
    *,
    direction: str | None = None,
    for_update: bool = True,
) -> Ticket | None:
    """The ticket of the first of `message_ids` we know, nearest first; one query to find it,
    locked like `ticket_by_key`. `direction="out"`: only messages we sent (what an
    auto-reply or a bounce may name)."""
    if not message_ids:
        return None
    query = select(col(MessageRow.message_id), col(MessageRow.ticket_id)).where(
        col(MessageRow.message_id).in_(message_ids), col(MessageRow.ticket_id).is_not(None)
    )
    if direction is not None:
        query = query.where(MessageRow.direction == direction)
    found = dict(session.exec(query.order_by(col(MessageRow.id))).all()[::-1])
    nearest = next((found[mid] for mid in message_ids if mid in found), None)
    if nearest is None:
        return None
    return _one_ticket(session, Ticket.id == nearest, for_update=for_update)


def sent_messages(session: Session, message_ids: tuple[str, ...]) -> list[MessageRow]:
    """Our outgoing messages among `message_ids`."""
    return [m for m in known_messages(session, message_ids) if m.direction == "out"]


def known_messages(session: Session, message_ids: tuple[str, ...]) -> list[MessageRow]:
    """The messages (in and out) among `message_ids` we keep, oldest row first."""
    if not message_ids:
        return []
    query = select(MessageRow).where(col(MessageRow.message_id).in_(message_ids))
    return list(session.exec(query.order_by(col(MessageRow.id))))


def intake_by_hash(session: Session, sha256: str) -> IntakeRow | None:
    return session.exec(select(IntakeRow).where(IntakeRow.raw_sha256 == sha256)).first()


def unstamped_warned_since(session: Session, since: datetime) -> bool:
    """Whether unstamped mail was warned of at or after `since` (by any process)."""
    query = select(IntakeRow.id).where(
        col(IntakeRow.unstamped_warned).is_(True), col(IntakeRow.processed_at) >= since
    )
    return session.exec(query.limit(1)).first() is not None


def intakes_by_message_id(session: Session, message_id: str) -> list[IntakeRow]:
    query = select(IntakeRow).where(IntakeRow.message_id == message_id)
    return list(session.exec(query.order_by(col(IntakeRow.id))))


def messages_of(session: Session, ticket_id: int, after: int = 0) -> list[MessageRow]:
    """The ticket's messages, oldest first; only those with an id above `after` if given."""
    query = select(MessageRow).where(MessageRow.ticket_id == ticket_id, col(MessageRow.id) > after)
    return list(session.exec(query.order_by(col(MessageRow.id))))


def attachments_of(session: Session, ticket_id: int) -> list[AttachmentRow]:
    query = select(AttachmentRow).where(AttachmentRow.ticket_id == ticket_id)
    return list(session.exec(query.order_by(col(AttachmentRow.id))))


def history_of(session: Session, ticket_id: int, after: int = 0) -> list[HistoryRow]:
    """The ticket's history, oldest first; only entries with an id above `after` if given."""
    query = select(HistoryRow).where(HistoryRow.ticket_id == ticket_id, col(HistoryRow.id) > after)
    return list(session.exec(query.order_by(col(HistoryRow.id))))


def newest_row_ids(session: Session, ticket_id: int) -> tuple[int, int]:
    """The highest history and message row ids of a ticket (0 when it has none)."""
    history = select(sa.func.max(HistoryRow.id)).where(HistoryRow.ticket_id == ticket_id)
    message = select(sa.func.max(MessageRow.id)).where(MessageRow.ticket_id == ticket_id)
    both = sa.select(history.scalar_subquery(), message.scalar_subquery())
    last_history, last_message = session.execute(both).one()
    return last_history or 0, last_message or 0


def tickets(session: Session, status: str | None = None) -> list[Ticket]:
    query = select(Ticket).order_by(col(Ticket.id))
    if status:
        query = query.where(Ticket.status == status)
    return list(session.exec(query))


def tickets_whose_messages(session: Session, test: Callable[[str], bool]) -> set[int]:
    """Ids of tickets with a message whose subject or text passes `test` (read in batches)."""
    query = (
        select(col(MessageRow.ticket_id), col(MessageRow.subject), col(MessageRow.body_text))
        .where(col(MessageRow.ticket_id).is_not(None))
        .execution_options(yield_per=200)
    )
    found: set[int] = set()
    for ticket_id, subject, body in session.exec(query):
        if ticket_id is not None and ticket_id not in found and test(f"{subject}\n{body}"):
            found.add(ticket_id)
    return found


def outgoing_raw(session: Session, message_row_id: int) -> bytes | None:
    """The bytes we composed for an outgoing message (its outbox row), if kept."""
    query = select(OutboxRow.raw).where(OutboxRow.message_row_id == message_row_id)
    return session.exec(query.limit(1)).first()


def automatic_mail_count(session: Session, recipient: str, since: datetime) -> int:
    """Automatic mails queued for `recipient` since `since` (the per-sender cap, SPEC §5)."""
    query = (
        select(sa.func.count())
        .select_from(OutboxRow)
        .where(
            col(OutboxRow.to_addr) == recipient.lower(),
            col(OutboxRow.automatic),
            col(OutboxRow.created_at) >= since,
        )
    )
    return session.exec(query).one()


def outbox_count(session: Session, kind: str, since: datetime) -> int:
    """Outbox rows of `kind` queued since `since` (the cap on staff alerts, issue 10)."""
    query = select(sa.func.count()).select_from(OutboxRow)
    query = query.where(col(OutboxRow.kind) == kind, col(OutboxRow.created_at) >= since)
    return session.exec(query).one()


def thread_ids(
    session: Session, ticket_id: int, internal: frozenset[str] = frozenset(), *, staff: bool = False
) -> list[str]:
    """Message-IDs of the ticket's mail one side had, oldest first (no bodies loaded).

    The client's side (default): mail from or only to `internal` addresses (staff) is
    left out, as the client never had it and threading our answers on it would break
    their thread. The staff side (`staff=True`) is that internal mail alone: our
    notices to staff and staff's own mail, which is what a staff mailbox holds.
    """
    query = (
        select(col(MessageRow.message_id), col(MessageRow.direction),
               col(MessageRow.from_addr), col(MessageRow.to_addrs))
        .where(col(MessageRow.ticket_id) == ticket_id, col(MessageRow.message_id).is_not(None))
        .order_by(col(MessageRow.id))
    )  # fmt: skip
    ids: list[str] = []
    for message_id, direction, sender, to in session.exec(query):
        recipients = {a.strip().lower() for a in to.split(",") if a.strip()}
        internal_mail = sender in internal if direction == "in" else recipients <= internal
        if internal_mail == staff and message_id is not None:  # never None: the query says so
            ids.append(message_id)
    return ids
