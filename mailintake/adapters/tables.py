"""The tables: how tickets, messages, attachments, history, the outbox, intake records,
quarantined mail and messages in hand are stored (sqlmodel), on SQLite and PostgreSQL alike.

Owns: the columns, their sizes and indexes (the migrations in `mailintake/migrations`
follow them; `tests/integration/test_schema.py` holds the two equal), UTC instants in,
timezone-aware instants out, and fitting every value both databases can hold before a
flush (`dbvalues`). Must not query or hold business rules (`db` queries; the services
decide).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import Field, Session, SQLModel

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
    # pending → sending (claimed by one process) → sent | failed; `outbox retry` → pending.
    status: str = Field(default="pending", index=True, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime, index=True)
    last_error: str | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = _when()
    # Who is sending it and since when (`adapters.liveness` token): a dead claimer's row is
    # sent again by a later flush (`services.outboxclaims`); a live one's never is.
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
    # SHA-256 of sender, subject and body: a reused Message-ID on other content is new (§5).
    content_sha256: str | None = Field(default=None, max_length=64)
    # Our border MTA did not stamp it (issue 10): what the hourly warning and the metric read.
    unstamped: bool = False
    unstamped_warned: bool = False  # ... and this one was warned of (once an hour)


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
    held_by: str | None = Field(default=None, max_length=100)  # `adapters.liveness` token
    batch: int = Field(
        default=1, sa_column_kwargs={"server_default": "1"}
    )  # messages taken with it
    started_at: datetime = Field(sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=1000)


# Every flush, on every engine: values SQLite would take and PostgreSQL refuse are fitted first.
event.listen(Session, "before_flush", normalise_rows)
