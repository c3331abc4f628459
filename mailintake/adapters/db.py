"""The database: sqlmodel tables, the engine, `transaction()` and the queries.

Owns: how tickets, messages, attachments, history, the outbox, intake records
and quarantined mail are stored, on SQLite (WAL) and PostgreSQL alike. All
instants are stored as UTC and read back timezone-aware. Must not hold
business rules: it stores what the services decided.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import Field, Session, SQLModel, col, create_engine, select

from mailintake.adapters.dbvalues import normalise_rows


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
    owner: str | None = Field(default=None, max_length=320)  # the staff address that owns it
    cc: list[str] = _json(list)  # the client's colleagues copied on our mail to the client
    duplicate_of: str | None = Field(default=None, max_length=40)  # the key it was merged into
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
    status: str = Field(default="pending", index=True, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime, index=True)
    last_error: str | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = _when()

    __table_args__ = (sa.Index("ix_outbox_to_addr_created_at", "to_addr", "created_at"),)


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
    # SHA-256 of sender, subject and body: a reused Message-ID on other content is new (§5).
    content_sha256: str | None = Field(default=None, max_length=64)


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
    from_addr: str | None = Field(default=None, max_length=320)
    subject: str | None = Field(default=None, max_length=998)
    date: datetime | None = _when()  # the message's own Date header
    message_id: str | None = Field(default=None, max_length=998)
    held_ref: str | None = Field(default=None, max_length=300)  # where the mailbox keeps it


class InHandRow(SQLModel, table=True):
    """A message being handled, committed before its work starts (issue 10: poison mail)."""

    __tablename__ = "inhand"
    id: int | None = Field(default=None, primary_key=True)
    raw_sha256: str = Field(unique=True, max_length=64)
    source_ref: str | None = Field(default=None, max_length=300)
    passes: int = 0  # passes that started on it
    in_hand: bool = False  # True from the start of a pass until it ends, well or not
    started_at: datetime = Field(sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=1000)


# Every flush, on every engine: values SQLite would take and PostgreSQL refuse are fitted first.
event.listen(Session, "before_flush", normalise_rows)


def make_engine(url: str) -> sa.Engine:
    """An engine; SQLite gets WAL, a busy timeout and foreign keys."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@contextmanager
def transaction(engine: sa.Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


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


def ticket_by_key(session: Session, key: str) -> Ticket | None:
    return session.exec(select(Ticket).where(Ticket.key == key.upper())).first()


def ticket_by_message_ids(
    session: Session, message_ids: tuple[str, ...], *, direction: str | None = None
) -> Ticket | None:
    """The ticket of the first of `message_ids` we know, nearest first; one query.

    `direction="out"`: only messages we sent (what an auto-reply or a bounce may name).
    """
    if not message_ids:
        return None
    query = select(col(MessageRow.message_id), col(MessageRow.ticket_id)).where(
        col(MessageRow.message_id).in_(message_ids), col(MessageRow.ticket_id).is_not(None)
    )
    if direction is not None:
        query = query.where(MessageRow.direction == direction)
    found = dict(session.exec(query.order_by(col(MessageRow.id))).all()[::-1])
    nearest = next((found[mid] for mid in message_ids if mid in found), None)
    return session.get(Ticket, nearest) if nearest is not None else None


def sent_messages(session: Session, message_ids: tuple[str, ...]) -> list[MessageRow]:
    """Our outgoing messages among `message_ids`."""
    if not message_ids:
        return []
    query = select(MessageRow).where(
        col(MessageRow.message_id).in_(message_ids), MessageRow.direction == "out"
    )
    return list(session.exec(query))


def intake_by_hash(session: Session, sha256: str) -> IntakeRow | None:
    return session.exec(select(IntakeRow).where(IntakeRow.raw_sha256 == sha256)).first()


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
