"""Use case: the deadline sweep (SPEC section 4) and the daily digest (SPEC section 8).

Owns: `run_sweeps(app, now)` — reminders and the incomplete-close of the
completion window, the auto-close of resolved tickets, the reminder and the
suspension of an unanswered question — and `send_digest_if_due(app, now)`, the
daily digest's timing (its content is `services.digest`'s).

What is due is computed from stored ticket times on every run, never from
"the job ran" (STYLE: schedule / Celery beat), and every action changes the
times it was computed from, so a second run at the same instant sends nothing
and a daemon that was down catches up once. Each ticket is handled in its own
transaction, its row locked and its due actions computed again under the
lock, so two instances never act twice. Must not send mail (the outbox does).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import structlog
from sqlmodel import Session, col, select

from mailintake import testhooks
from mailintake.adapters import db, timefmt
from mailintake.app import App
from mailintake.domain import deadlines, fields
from mailintake.domain.businessdays import as_utc
from mailintake.domain.deadlines import CompletionAction
from mailintake.domain.status import CloseReason, Status
from mailintake.services import completion, digest, lifecycle, notices
from mailintake.services import tickets as t

log = structlog.get_logger()
WARSAW = ZoneInfo("Europe/Warsaw")

REMIND = "reminded"
CLOSE_INCOMPLETE = "closed_incomplete"
CLOSE_RESOLVED = "closed_resolved"
QUESTION_REMINDER = "question_reminded"
SUSPEND = "suspended"
ACTIONS = (REMIND, CLOSE_INCOMPLETE, CLOSE_RESOLVED, QUESTION_REMINDER, SUSPEND)
COMPLETION_ACTIONS = {
    CompletionAction.REMIND: REMIND,
    CompletionAction.CLOSE_INCOMPLETE: CLOSE_INCOMPLETE,
}


def run_sweeps(
    app: App, now: datetime, progress: Callable[[], None] | None = None
) -> dict[str, int]:
    """Every deadline due at `now`; returns how many of each action were taken (and `failed`).

    `progress` is called after every ticket (the daemon's watchdog: a long sweep is alive).
    """
    testhooks.pause("sweep.started")
    now = as_utc(now)
    counts = dict.fromkeys((*ACTIONS, "failed"), 0)
    for ticket_id, key in _tickets_with_something_due(app, now):
        if progress is not None:
            progress()
        try:
            with db.transaction(app.engine) as session:
                done = _sweep_ticket(session, app, _locked(session, ticket_id), now)
        except Exception:  # one broken ticket must not stop the others (STYLE: per-item try)
            log.exception("sweep.failed", ticket=key)
            counts["failed"] += 1
            continue
        for action in done:
            counts[action] += 1
            log.info(f"sweep.{action}", ticket=key, now=now.isoformat())
    return counts


def _tickets_with_something_due(app: App, now: datetime) -> list[tuple[int, str | None]]:
    """A read-only first look, so tickets with nothing due are never locked."""
    query = select(db.Ticket).where(
        sa.or_(
            col(db.Ticket.status) == Status.NOWY,
            sa.and_(
                col(db.Ticket.status) == Status.ROZWIAZANY, col(db.Ticket.auto_close_at) <= now
            ),
            sa.and_(col(db.Ticket.awaiting_client), sa.not_(col(db.Ticket.suspended))),
        )
    )
    with db.reading(app.engine) as session:
        found = session.exec(query.order_by(col(db.Ticket.id))).all()
        return [(db.id_of(ticket), ticket.key) for ticket in found if _maybe_due(app, ticket, now)]


def _maybe_due(app: App, ticket: db.Ticket, now: datetime) -> bool:
    """True when something is due, or when asking failed: its own transaction logs the fault."""
    try:
        return bool(due_actions(app, ticket, now))
    except Exception:
        return True


def _locked(session: Session, ticket_id: int) -> db.Ticket:
    """The ticket row, read afresh under its lock (`db.lock_ticket`): tickets are never deleted."""
    ticket = db.lock_ticket(session, ticket_id)
    assert ticket is not None, "tickets are never deleted"
    return ticket


def due_actions(app: App, ticket: db.Ticket, now: datetime) -> list[str]:
    """What the procedure's clocks ask of `ticket` at `now`, in the order to take it."""
    due = [action for action in (_completion_due(app, ticket, now), _auto_close_due(ticket, now))
           if action]  # fmt: skip
    if CLOSE_INCOMPLETE not in due and CLOSE_RESOLVED not in due:
        question = _question_due(app, ticket, now)
        due += [question] if question else []
    return due


def _completion_due(app: App, ticket: db.Ticket, now: datetime) -> str | None:
    """Reminder or incomplete-close while a NOWY ticket still misses data (SPEC section 4)."""
    if ticket.status != Status.NOWY or not fields.missing(ticket.fields or {}):
        return None
    action = deadlines.completion_action_due(
        clock_start=ticket.clock_start or ticket.created_at,
        reminders_sent=ticket.reminders_sent,
        attempts=ticket.attempts,
        last_attempt_at=ticket.last_attempt_at,
        now=now,
        cal=app.calendar,
    )
    return COMPLETION_ACTIONS.get(action) if action else None


def _auto_close_due(ticket: db.Ticket, now: datetime) -> str | None:
    """A ROZWIAZANY ticket closes itself at `auto_close_at` (72 h after resolution)."""
    closes = ticket.auto_close_at
    due = ticket.status == Status.ROZWIAZANY and closes is not None and closes <= now
    return CLOSE_RESOLVED if due else None


def _question_due(app: App, ticket: db.Ticket, now: datetime) -> str | None:
    """Reminder 3 BD after an unanswered question; suspension 72 h after that reminder."""
    if not ticket.awaiting_client or ticket.suspended or ticket.status == Status.ZAMKNIETY:
        return None
    if ticket.question_reminded_at is None:
        asked = ticket.awaiting_since or ticket.updated_at
        due = deadlines.question_reminder_at(asked, app.calendar)
        return QUESTION_REMINDER if now >= due else None
    return SUSPEND if now >= deadlines.suspend_at(ticket.question_reminded_at) else None


def _sweep_ticket(session: Session, app: App, ticket: db.Ticket, now: datetime) -> list[str]:
    """Take the actions due under the lock; returns those taken."""
    return [action for action in due_actions(app, ticket, now)
            if APPLY[action](session, app, ticket, now)]  # fmt: skip


# -- the actions (inside the ticket's transaction) -------------------------
# An action held back by the per-address cap (`completion.may_mail`) waits for a later sweep.


def _remind(session: Session, app: App, ticket: db.Ticket, now: datetime) -> bool:
    """Reminder for missing data: an attempt, so `close_after` moves (SPEC section 4)."""
    if not completion.may_mail(session, app, ticket.client_email, ticket, now):
        return False
    missing = fields.missing(ticket.fields or {})
    notices.queue_mail(session, app, ticket=ticket, to=[ticket.client_email],
                       template="request_missing", kind="reminder", now=now, lang=ticket.language,
                       auto_submitted="auto-generated",
                       **completion.request_context(ticket, missing, reminder=True))  # fmt: skip
    completion.record_attempt(ticket, now)
    ticket.reminders_sent += 1
    t.add_history(session, ticket, ticket.status, ticket.status, by="system",
                  reason=f"reminder {ticket.reminders_sent}: data missing", now=now)  # fmt: skip
    return True


def _close_incomplete(session: Session, app: App, ticket: db.Ticket, now: datetime) -> bool:
    lifecycle.close(session, app, ticket, CloseReason.INCOMPLETE, by="system", now=now,
                    text="incomplete: data still missing after the completion window")  # fmt: skip
    _tell_owner_closed(session, app, ticket, now, "brak danych w terminie / data still missing")
    return True


def _close_resolved(session: Session, app: App, ticket: db.Ticket, now: datetime) -> bool:
    lifecycle.close(session, app, ticket, CloseReason.RESOLVED, by="system", now=now,
                    text="resolved: 72 h after the solution without a complaint")  # fmt: skip
    _tell_owner_closed(session, app, ticket, now, "72 h po rozwiązaniu / 72 h after the solution")
    return True


def _tell_owner_closed(
    session: Session, app: App, ticket: db.Ticket, now: datetime, why: str
) -> None:
    """The ticket's owner (if it has one) learns that the clock closed it."""
    if ticket.owner:
        notices.tell_owner(session, app, ticket, now=now, to=[ticket.owner],
                           label="Zamknięte automatycznie / closed automatically",
                           title=f"Zgłoszenie zamknięto automatycznie: {why}.")  # fmt: skip


def _question_reminder(session: Session, app: App, ticket: db.Ticket, now: datetime) -> bool:
    """Remind the client of our question (SPEC section 4); suspension counts from now."""
    if not completion.may_mail(session, app, ticket.client_email, ticket, now):
        return False
    notices.queue_mail(session, app, ticket=ticket, to=[ticket.client_email],
                       template="question_reminder", kind="question_reminder", now=now,
                       lang=ticket.language, auto_submitted="auto-generated",
                       asked_at=ticket.awaiting_since,
                       question=_last_question(session, ticket))  # fmt: skip
    ticket.question_reminded_at = now
    t.add_history(session, ticket, ticket.status, ticket.status, by="system",
                  reason="reminder: question unanswered for 3 business days", now=now)  # fmt: skip
    return True


def _last_question(session: Session, ticket: db.Ticket) -> str:
    """The staff's words of our last question, to quote in the reminder (never our own lines)."""
    asked = [m for m in db.messages_of(session, db.id_of(ticket)) if m.kind == "question"]
    if not asked:
        return ""
    question = asked[-1]
    return question.own_text or question.body_text.split("\n--\n")[0].strip()


def _suspend(session: Session, app: App, ticket: db.Ticket, now: datetime) -> bool:
    """No answer 72 h after the reminder: the ticket is suspended and staff are told."""
    ticket.suspended = True
    ticket.updated_at = now
    t.add_history(session, ticket, ticket.status, ticket.status, by="system",
                  reason="suspended: no answer 72 h after the reminder", now=now)  # fmt: skip
    notices.notify_staff(
        session, app, ticket=ticket, now=now, kind="staff_notice",
        subject=notices.staff_subject(ticket, "Zawieszone, brak odpowiedzi / suspended",
                                      ticket.subject, app.settings.ticket_prefix),
        title="Klient nie odpowiedział na pytanie; zgłoszenie jest zawieszone.",
        lines=[
            f"Pytanie zadane / asked: {timefmt.in_words(ticket.awaiting_since)}",
            f"Przypomnienie / reminded: {timefmt.in_words(ticket.question_reminded_at)}",
            "The client did not answer the question; the ticket is suspended "
            "(close it with [ZAMKNIJ] or ask again).",
        ],
    )  # fmt: skip
    return True


APPLY: dict[str, Callable[[Session, App, db.Ticket, datetime], bool]] = {
    REMIND: _remind,
    CLOSE_INCOMPLETE: _close_incomplete,
    CLOSE_RESOLVED: _close_resolved,
    QUESTION_REMINDER: _question_reminder,
    SUSPEND: _suspend,
}


# -- the daily digest ------------------------------------------------------


def send_digest_if_due(app: App, now: datetime) -> bool:
    """Mail R-1..R-4 to staff once a business day, from `digest_time` (Warsaw) on.

    A digest missed at its time (the daemon was down) is caught up later that day, but
    only before business hours close: a digest queued in the evening would report a day
    nobody reads. A digest time set after closing has until midnight.
    """
    now = as_utc(now)
    local = now.astimezone(WARSAW)
    staff = sorted(app.settings.staff)
    if not staff or not app.calendar.is_business_day(local.date()):
        return False
    if not _in_digest_window(app, local.time()):
        return False
    since = _local_midnight(local)
    with db.reading(app.engine) as session:
        if _digest_sent_since(session, since):
            return False
    context = digest.digest_context(app, now)
    with db.transaction(app.engine) as session:
        db.serialize(session, "digest")  # instances take turns deciding
        if _digest_sent_since(session, since):  # another instance was quicker
            return False
        notices.queue_mail(session, app, ticket=None, to=staff, template="digest", kind="digest",
                           now=now, auto_submitted="auto-generated", automatic=False,
                           **context)  # fmt: skip
    log.info("digest.queued", to=staff, date=local.date().isoformat())
    return True


def _in_digest_window(app: App, local: time) -> bool:
    opens, closes = app.settings.digest_time, app.settings.business_closes
    return opens <= local < closes if opens < closes else opens <= local


def _local_midnight(local: datetime) -> datetime:
    return datetime.combine(local.date(), datetime.min.time(), WARSAW)


def _digest_sent_since(session: Session, since: datetime) -> bool:
    """The outbox remembers the digest: a `digest` row queued today means it is done."""
    query = select(db.OutboxRow.id).where(
        db.OutboxRow.kind == "digest", db.OutboxRow.created_at >= since
    )
    return session.exec(query.limit(1)).first() is not None
