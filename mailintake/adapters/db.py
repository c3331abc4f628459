"""The database: sqlmodel tables and the queries (the engine and units of work: `database`).

Owns: how tickets, messages, attachments, history, the outbox, intake records
and quarantined mail are stored, on SQLite (WAL) and PostgreSQL alike, and the
ticket lookups that lock the row they return. All instants are stored as UTC
and read back timezone-aware. Must not hold business rules: it stores what the
services decided. Re-exports `database`'s engine and units of work, so callers
say `db.transaction(...)`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from mailintake.adapters.database import for_reading as for_reading
from mailintake.adapters.database import make_engine as make_engine
from mailintake.adapters.database import reading as reading
from mailintake.adapters.database import serialize as serialize
from mailintake.adapters.database import sqlite_path as sqlite_path
from mailintake.adapters.database import transaction as transaction


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, naive UTC in the column (SPEC section 4)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _when(**kw: Any) -> Any:
    return Field(default=None, sa_type=UTCDateTime, **kw)


def _json(default: Any) -> Any:
    return Field(default_factory=default, sa_type=sa.JSON)


class Ticket(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    key: str | None = Field(default=None, unique=True, max_length=40)
    status: str = Field(index=True, max_length=32)
    client_email: str = Field(index=True, max_length=320)
    client_name: str = Field(default="", max_length=320)
    client_org: str = Field(default="", max_length=200)
    language: str = Field(default="pl", max_length=8)
    subject: str = Field(default="", max_length=998)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    clock_start: datetime | None = _when()
    completion_due: datetime | None = _when()
    attempts: int = 0
    reminders_sent: int = 0
    last_attempt_at: datetime | None = _when()
    close_after: datetime | None = _when()
    first_response_at: datetime | None = _when()
    resolved_at: datetime | None = _when()
    auto_close_at: datetime | None = _when()
    closed_at: datetime | None = _when()
    resolution: str | None = Field(default=None, max_length=32)
    close_reason: str | None = Field(default=None, max_length=32)
    awaiting_client: bool = False
    awaiting_since: datetime | None = _when()
    question_reminded_at: datetime | None = _when()
    suspended: bool = False
    sla_paused: list[list[str | None]] = _json(list)  # [start_iso, end_iso | null] pairs
    eta: date | None = None
    release_date: date | None = None
    eta_accepted: bool = False
    flagged: bool = False
    flag_reason: str | None = Field(default=None, max_length=500)
    fields: dict[str, Any] = _json(dict)  # code → value, as `domain.fields.merge` builds it
    linked: list[str] = _json(list)  # ticket keys
    survey_rating: int | None = None
    survey_comment: str | None = None
    survey_thanked: bool = False


class MessageRow(SQLModel, table=True):
    __tablename__ = "message"
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    direction: str = Field(max_length=3)
    message_id: str | None = Field(default=None, index=True, max_length=998)
    in_reply_to: str | None = None
    references: str | None = None
    from_addr: str = Field(default="", max_length=320)
    to_addrs: str = ""
    subject: str = ""
    at: datetime = Field(sa_type=UTCDateTime)
    kind: str = Field(default="client", max_length=32)
    raw_sha256: str | None = Field(default=None, max_length=64)
    body_text: str = ""
    own_text: str = ""


class AttachmentRow(SQLModel, table=True):
    __tablename__ = "attachment"
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    message_row_id: int = Field(foreign_key="message.id", index=True)
    filename: str = Field(max_length=255)
    size: int
    sha256: str = Field(max_length=64)
    content_type: str = Field(default="application/octet-stream", max_length=255)
    inline: bool = False


class HistoryRow(SQLModel, table=True):
    __tablename__ = "history"
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    from_status: str | None = Field(default=None, max_length=32)
    to_status: str | None = Field(default=None, max_length=32)
    at: datetime = Field(sa_type=UTCDateTime)
    by: str = Field(default="system", max_length=320)
    reason: str = ""


class OutboxRow(SQLModel, table=True):
    __tablename__ = "outbox"
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    message_row_id: int | None = Field(default=None, foreign_key="message.id")
    message_id: str = Field(max_length=998)
    sender: str = Field(max_length=320)
    recipients: list[str] = _json(list)
    # The first recipient, lower-case: what the per-sender cap on automatic mail counts by.
    to_addr: str = Field(default="", max_length=320)
    raw: bytes = Field(sa_type=sa.LargeBinary)
    kind: str = Field(max_length=32)
    automatic: bool = True
    # pending → sending (claimed by one process) → sent | failed; `outbox retry` → pending.
    status: str = Field(default="pending", index=True, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime, index=True)
    last_error: str | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = _when()
    # Who is sending it and since when (`adapters.liveness` token): a dead claimer's row is
    # sent again by the next flush, a live one's after `outbox.LEASE` at the latest.
    claimed_by: str | None = Field(default=None, max_length=100)
    claimed_at: datetime | None = _when()
    # When staff were told it has waited too long (once per row, `outbox.OVERDUE_AFTER`).
    overdue_alerted_at: datetime | None = _when()

    __table_args__ = (
        sa.Index("ix_outbox_to_addr_created_at", "to_addr", "created_at"),
        sa.Index("ix_outbox_message_id", "message_id"),  # a bounce finds our message by it
        sa.Index("ix_outbox_kind_created_at", "kind", "created_at"),  # today's digest sent?
    )


class IntakeRow(SQLModel, table=True):
    """One row per distinct incoming message: the guard against a second effect (SPEC §5)."""

    __tablename__ = "intake"
    id: int | None = Field(default=None, primary_key=True)
    raw_sha256: str = Field(unique=True, max_length=64)
    message_id: str | None = Field(default=None, index=True, max_length=998)
    source_ref: str | None = Field(default=None, max_length=300)
    received_at: datetime = Field(sa_type=UTCDateTime)
    processed_at: datetime = Field(sa_type=UTCDateTime)
    outcome: str = Field(max_length=16)
    ticket_key: str | None = Field(default=None, max_length=40)


class QuarantineRow(SQLModel, table=True):
    __tablename__ = "quarantine"
    id: int | None = Field(default=None, primary_key=True)
    raw_sha256: str | None = Field(default=None, max_length=64)
    source_ref: str | None = Field(default=None, max_length=300)
    size: int = 0
    reason: str = ""
    at: datetime = Field(sa_type=UTCDateTime)
    received_at: datetime | None = _when()
    status: str = Field(default="held", max_length=16)


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
    session: Session, message_ids: tuple[str, ...], *, for_update: bool = True
) -> Ticket | None:
    """The ticket of the first of `message_ids` we know, nearest first; locked like `ticket_by_key`."""
    for mid in message_ids:
        row = session.exec(
            select(MessageRow).where(
                MessageRow.message_id == mid, col(MessageRow.ticket_id).is_not(None)
            )
        ).first()
        if row is not None:
            return _one_ticket(session, Ticket.id == row.ticket_id, for_update=for_update)
    return None


def intake_by_hash(session: Session, sha256: str) -> IntakeRow | None:
    return session.exec(select(IntakeRow).where(IntakeRow.raw_sha256 == sha256)).first()


def intake_by_message_id(session: Session, message_id: str) -> IntakeRow | None:
    return session.exec(select(IntakeRow).where(IntakeRow.message_id == message_id)).first()


def messages_of(session: Session, ticket_id: int) -> list[MessageRow]:
    query = select(MessageRow).where(MessageRow.ticket_id == ticket_id)
    return list(session.exec(query.order_by(col(MessageRow.id))))


def attachments_of(session: Session, ticket_id: int) -> list[AttachmentRow]:
    query = select(AttachmentRow).where(AttachmentRow.ticket_id == ticket_id)
    return list(session.exec(query.order_by(col(AttachmentRow.id))))


def history_of(session: Session, ticket_id: int) -> list[HistoryRow]:
    query = select(HistoryRow).where(HistoryRow.ticket_id == ticket_id)
    return list(session.exec(query.order_by(col(HistoryRow.id))))


def tickets(session: Session, status: str | None = None) -> list[Ticket]:
    query = select(Ticket).order_by(col(Ticket.id))
    if status:
        query = query.where(Ticket.status == status)
    return list(session.exec(query))


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


def thread_ids(
    session: Session, ticket_id: int, internal: frozenset[str] = frozenset()
) -> list[str]:
    """Message-IDs of the ticket's mail the client saw, oldest first (no bodies loaded).

    Mail from or only to `internal` addresses (staff) is left out: the client
    never had it, so threading our answers on it would break their thread.
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
        if not internal_mail and message_id is not None:  # never None: the query says so
            ids.append(message_id)
    return ids
