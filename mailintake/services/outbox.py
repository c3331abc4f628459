"""Use case: send what the outbox holds (SPEC section 5: none is lost, none is sent twice).

Owns: `flush(app)`, the only caller of the mail transport. Each row is first
claimed, up to `CLAIM_BATCH` rows per short transaction (`services.outboxclaims`:
only the process whose claim changed the row sends it, so a second instance,
`ingest` or `sweep` flushing while the daemon does never sends it too, on SQLite
as on PostgreSQL), then handed to the mail server outside any transaction (the
database is never held while SMTP talks), then recorded (claims and records are not
durable commits: a power cut that loses one sends that row again, as a crash while it
is sent does): sent; retried later
with exponential backoff capped at an hour when the server is away
(transient), never given up; or failed when the server refuses it for good
(permanent), which flags its ticket and tells staff. Before each send the
process makes sure it still holds its liveness lock, and if it had lost it, its
claim. Claims never outlive this process's flush: the next flush of the same
process first records what the server did with rows whose record the database
refused (it was away: the mail is never sent twice for that), then releases
any claims an interrupted flush left. Staff hear once when mail has
waited longer than `OVERDUE_AFTER`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from mailintake import testhooks
from mailintake.adapters import db, timefmt
from mailintake.adapters.mailer import PermanentSendError
from mailintake.adapters.timefmt import with_offset
from mailintake.app import App
from mailintake.errors import TransientError
from mailintake.services import notices, outboxclaims

log = structlog.get_logger()

FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
OVERDUE_AFTER = timedelta(hours=4)
WAITING = ("pending", "sending")
OVERDUE_KIND = "outbox_overdue"
CLAIM_BATCH = 10  # rows claimed per transaction

Delivery = tuple[str, str] | None  # None: the server took it; else ("retry" | "failed", why)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min … capped at an hour, with jitter so instances do not march in step."""
    base: timedelta = min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), MAX_RETRY)
    return base * random.uniform(0.8, 1.2)


def flush(
    app: App,
    *,
    now: datetime | None = None,
    limit: int | None = 500,
    progress: Callable[[], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, int]:
    """Send due rows (all of them with `limit=None`); counts by result.

    Stops when the server is down, or once `should_stop()` is true (a stopping
    daemon; the rest waits for the next flush). `progress` is called after every
    row (the daemon's watchdog). The daemon keeps the default limit so new mail
    is not kept waiting.
    """
    app.liveness.hold()
    _record_kept(app)
    outboxclaims.release_abandoned(app, now or app.clock())
    counts = {"sent": 0, "retry": 0, "failed": 0}
    left = limit
    while left is None or left > 0:
        batch = CLAIM_BATCH if left is None else min(CLAIM_BATCH, left)
        claimed, keys = outboxclaims.claim(app, now or app.clock(), batch)
        if not claimed or _send_claimed(app, claimed, keys, counts, now, progress, should_stop):
            break
        left = None if left is None else left - len(claimed)
    alert_overdue(app, now or app.clock())
    return counts


def _send_claimed(
    app: App,
    rows: list[db.OutboxRow],
    keys: dict[int, str],
    counts: dict[str, int],
    now: datetime | None,
    progress: Callable[[], None] | None,
    should_stop: Callable[[], bool] | None,
) -> bool:
    """Send claimed rows in order, recording each at once; True when the flush must end (the
    server is away, or stopping). Rows not tried are released for the next flush."""
    for i, row in enumerate(rows):
        if should_stop is not None and should_stop():
            outboxclaims.release_claims(app, rows[i:])
            return True
        testhooks.pause("outbox.sending")
        if app.liveness.hold() and not outboxclaims.still_claimed(app, row):
            log.warning("mail.claim_lost", outbox_id=row.id, result="not sent")
            continue  # our lock was lost a while: another process took the row over
        delivery = _deliver(app, row)
        result = _record_or_keep(app, row, keys, delivery, now or app.clock())
        counts[result] += 1
        if progress is not None:
            progress()
        if result == "retry":  # the server is away: the rest waits for the next flush
            outboxclaims.release_claims(app, rows[i + 1 :])
            return True
    return False


def waiting_count(app: App) -> int:
    """Rows not sent yet: pending, or being sent right now."""
    with db.reading(app.engine) as session:
        query = select(sa.func.count()).select_from(db.OutboxRow)
        return session.exec(query.where(col(db.OutboxRow.status).in_(WAITING))).one()


def failed_ids(app: App) -> set[int]:
    """Ids of the rows the server refused for good so far (to tell new refusals apart)."""
    with db.transaction(app.engine) as session:
        query = select(db.OutboxRow.id).where(db.OutboxRow.status == "failed")
        return {row_id for row_id in session.exec(query) if row_id is not None}


def left_behind(app: App, failed_before: set[int]) -> list[db.OutboxRow]:
    """Rows refused since `failed_before` was taken, and rows tried and waiting for a retry."""
    with db.transaction(app.engine) as session:
        query = select(db.OutboxRow).where(
            sa.or_(
                col(db.OutboxRow.status) == "failed",
                sa.and_(col(db.OutboxRow.status) == "pending", col(db.OutboxRow.attempts) > 0),
            )
        )
        return [row for row in session.exec(query.order_by(col(db.OutboxRow.id)))
                if row.status == "pending" or row.id not in failed_before]  # fmt: skip


# -- sending and recording ---------------------------------------------------------------

# What the server did with rows whose record the database refused (it was away): by outbox
# row id, with the claimer's token. Recorded at the next flush before our claims are given
# back, so a mail the server took is never sent again for want of a row update.
_UNRECORDED: dict[int, tuple[str, db.OutboxRow, dict[int, str], Delivery, datetime]] = {}


def _record_or_keep(
    app: App, row: db.OutboxRow, keys: dict[int, str], delivery: Delivery, now: datetime
) -> str:
    try:
        with db.transaction(app.engine, durable=False) as session:
            return _record(session, app, row, keys, delivery, now)
    except sa.exc.SQLAlchemyError:
        _UNRECORDED[db.id_of(row)] = (app.liveness.token, row, keys, delivery, now)
        log.warning("mail.unrecorded", outbox_id=row.id, sent=delivery is None)
        raise


def _record_kept(app: App) -> None:
    """Record what the server did with rows an earlier flush of ours could not record."""
    for row_id, (token, row, keys, delivery, at) in list(_UNRECORDED.items()):
        if token == app.liveness.token:
            with db.transaction(app.engine, durable=False) as session:
                _record(session, app, row, keys, delivery, at)
            del _UNRECORDED[row_id]


def _deliver(app: App, row: db.OutboxRow) -> Delivery:
    """Hand the claimed row to the mail server, outside any transaction."""
    try:
        app.mailer.send(row.sender, row.recipients, row.raw)
    except PermanentSendError as exc:
        return "failed", str(exc)
    except (TransientError, OSError) as exc:
        return "retry", str(exc)
    except Exception as exc:
        # A row no server can take (e.g. a non-ASCII address without SMTPUTF8) must not
        # block every row behind it forever: it fails and staff are told (SPEC section 5).
        log.exception("mail.unsendable", outbox_id=row.id, message_id=row.message_id)
        app.mailer.close()  # the SMTP dialogue stopped half-way; start the next one afresh
        return "failed", f"{type(exc).__name__}: {exc}"
    return None


def _record(session: Session, app: App, claimed: db.OutboxRow, keys: dict[int, str],
            outcome: Delivery, now: datetime) -> str:  # fmt: skip
    """Write what became of the row, if this process still holds its claim."""
    if outcome is None:
        return _sent(session, app, claimed, keys.get(claimed.ticket_id or 0), now)
    # The ticket first, as intake locks it before the outbox rows: no lock-order deadlock.
    ticket = db.lock_ticket(session, claimed.ticket_id) if claimed.ticket_id else None
    query = select(db.OutboxRow).where(db.OutboxRow.id == claimed.id,
                                       db.OutboxRow.status == "sending",
                                       db.OutboxRow.claimed_by == app.liveness.token)  # fmt: skip
    row = session.exec(query.with_for_update()).first()
    if row is None:  # our lock was lost and the row released: whoever claimed it records it
        log.warning("mail.claim_lost", outbox_id=claimed.id, result=outcome[0])
        return outcome[0]
    row.claimed_by, row.claimed_at = None, None
    row.attempts += 1
    key = ticket.key if ticket else None
    if outcome[0] == "retry":
        return _retry(row, key, outcome[1], now)
    return _failed(session, app, row, ticket, outcome[1], now)


def _sent(
    session: Session, app: App, row: db.OutboxRow, ticket_key: str | None, now: datetime
) -> str:
    """One UPDATE, if this process still holds the claim; the ticket is not touched (or locked)."""
    sent = (
        sa.update(db.OutboxRow)
        .where(col(db.OutboxRow.id) == row.id, col(db.OutboxRow.status) == "sending",
               col(db.OutboxRow.claimed_by) == app.liveness.token)
        .values(status="sent", sent_at=now, claimed_by=None, claimed_at=None,
                attempts=col(db.OutboxRow.attempts) + 1)
    )  # fmt: skip
    if (
        session.exec(sent).rowcount != 1
    ):  # our lock was lost and the row released: its claimer records
        log.warning("mail.claim_lost", outbox_id=row.id, result="sent")
        return "sent"
    log.info("mail.sent", ticket=ticket_key, to=row.recipients, kind=row.kind,
             message_id=row.message_id, outbox_id=row.id)  # fmt: skip
    return "sent"


def _retry(row: db.OutboxRow, ticket_key: str | None, error: str, now: datetime) -> str:
    """Back to pending, due after the backoff: an outage of any length loses nothing."""
    row.status = "pending"
    row.last_error = error[:1000]
    row.next_attempt_at = now + backoff(row.attempts)
    log.warning("mail.retry", ticket=ticket_key, error=error, attempts=row.attempts,
                next_attempt_at=row.next_attempt_at.isoformat(), outbox_id=row.id)  # fmt: skip
    return "retry"


def _failed(
    session: Session,
    app: App,
    row: db.OutboxRow,
    ticket: db.Ticket | None,
    error: str,
    now: datetime,
) -> str:
    row.status = "failed"
    row.last_error = error[:1000]
    if ticket is not None:
        ticket.flagged = True
        ticket.flag_reason = f"mail to {', '.join(row.recipients)} failed: {error}"[:500]
    key = ticket.key if ticket else None
    log.error("mail.failed", ticket=key, to=row.recipients, error=error, outbox_id=row.id)
    _alert_staff(session, app, row, ticket, error, now)
    return "failed"


def _alert_staff(
    session: Session,
    app: App,
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
        alert="unsent",
        subject=f"{f'[{ticket.key}]' if ticket else '[mailintake]'} "
        f"Wiadomość niewysłana / mail not delivered: {row.kind}",
        title="Nie udało się wysłać wiadomości / a message could not be sent.",
        lines=[
            f"Do / to: {', '.join(row.recipients)}",
            f"Zgłoszenie / ticket: {ticket.key if ticket else '-'}",
            *_which_mail(session, row),
            f"Błąd / error: {error[:300]}",
            f"Wyślij ponownie / send again: mailintake outbox retry {row.id}",
        ],
    )


def _which_mail(session: Session, row: db.OutboxRow) -> list[str]:
    """The failed mail as staff can find it: its subject, Message-ID and when it was queued."""
    kept = session.get(db.MessageRow, row.message_row_id) if row.message_row_id else None
    return [
        f"Temat / subject: {kept.subject if kept else '-'}",
        f"Message-ID: <{row.message_id}>",
        f"Z dnia / queued: {timefmt.in_words(row.created_at)}",
    ]


# -- mail that waits too long -------------------------------------------------------------


def alert_overdue(app: App, now: datetime) -> bool:
    """Staff hear once per backlog that mail has waited over `OVERDUE_AFTER`; True if told now.

    Every overdue row is marked, so the alert goes out once while those rows wait; a
    backlog that builds up again after they left starts a new alert. The alert itself
    waits in the outbox too when the server is away, and is logged at critical level.
    """
    overdue = _overdue_query(now)
    with db.reading(app.engine) as session:
        if session.exec(overdue.limit(1)).first() is None:
            return False
    with db.transaction(app.engine) as session:
        rows = list(session.exec(overdue.with_for_update()))
        if not rows:
            return False
        told = select(db.OutboxRow.id).where(col(db.OutboxRow.status).in_(WAITING),
                                             col(db.OutboxRow.overdue_alerted_at).is_not(None))  # fmt: skip
        first_of_backlog = session.exec(told.limit(1)).first() is None
        for row in rows:
            row.overdue_alerted_at = now
        if first_of_backlog:
            _tell_overdue(session, app, rows, now)
    return first_of_backlog


def _overdue_query(now: datetime) -> SelectOfScalar[db.OutboxRow]:
    return (
        select(db.OutboxRow)
        .where(
            col(db.OutboxRow.status).in_(WAITING),
            col(db.OutboxRow.created_at) < now - OVERDUE_AFTER,
            col(db.OutboxRow.overdue_alerted_at).is_(None),
            col(db.OutboxRow.kind) != OVERDUE_KIND,
        )
        .order_by(col(db.OutboxRow.id))
    )


def _tell_overdue(session: Session, app: App, rows: list[db.OutboxRow], now: datetime) -> None:
    oldest = min(row.created_at for row in rows)
    last_error = next((row.last_error for row in reversed(rows) if row.last_error), "-")
    hours = OVERDUE_AFTER / timedelta(hours=1)
    log.critical("outbox.overdue", rows=len(rows), oldest=oldest.isoformat(), error=last_error)
    notices.notify_staff(
        session,
        app,
        now=now,
        kind=OVERDUE_KIND,
        subject=f"[mailintake] Poczta czeka ponad {hours:g} h / mail waiting over {hours:g} h",
        title="Wiadomości do klientów nie mogą zostać wysłane / mail cannot be sent.",
        lines=[
            f"Czeka / waiting: {len(rows)}, najstarsza / oldest: {with_offset(oldest)}",
            f"Ostatni błąd / last error: {last_error[:300]}",
            "Ponawiane co godzinę / retried hourly; see: mailintake outbox list --status pending",
        ],
    )
