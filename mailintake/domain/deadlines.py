"""Ticket deadlines: completion window, reminders, closings and SLA (SPEC sections 4 and 8).

Owns: every instant a ticket's rules depend on, as pure functions of the stored
ticket times, a `BusinessCalendar` and, where a verdict is asked for, `now`; and
the "what is due now" decision for the completion window.

Must not: read the clock, touch storage or send anything. Sweeps compute what is
due from these stored-time functions on every run, never from "the job ran", so
a daemon that was down catches up once and not twice (STYLE: schedule / Celery beat).
All results are UTC-aware datetimes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from mailintake.domain.businessdays import BusinessCalendar, as_timedelta, as_utc

COMPLETION_BD = 3  # completion window, SPEC section 4
REMINDER_BD = (1, 2)  # reminders while data is missing, SPEC section 4
CLOSE_GRACE = timedelta(hours=72)  # after the last request for data
AUTO_CLOSE = timedelta(hours=72)  # ROZWIAZANY → ZAMKNIETY, wall clock
QUESTION_REMINDER_BD = 3  # no answer to [PYTANIE], SPEC section 4
SUSPEND_AFTER = timedelta(hours=72)  # after the question reminder

Pause = tuple[datetime, datetime | None]


class CompletionAction(StrEnum):
    """What the completion window asks of the sweep right now."""

    REMIND = "remind"
    CLOSE_INCOMPLETE = "close_incomplete"


def completion_due(clock_start: datetime, cal: BusinessCalendar) -> datetime:
    """`COMPLETION_BD` business days after the clock started, at the same clock time."""
    return cal.add_business_days(clock_start, COMPLETION_BD)


def reminder_times(clock_start: datetime, cal: BusinessCalendar) -> list[datetime]:
    """When the reminders for missing data are due: 1 BD and 2 BD after the clock started."""
    return [cal.add_business_days(clock_start, n) for n in REMINDER_BD]


def close_after(completion_due: datetime, last_attempt_at: datetime | None) -> datetime:
    """When an incomplete ticket may be closed: max(completion_due, last attempt + 72 h)."""
    due = as_utc(completion_due)
    if last_attempt_at is None:
        return due
    return max(due, as_utc(last_attempt_at) + CLOSE_GRACE)


def auto_close_at(resolved_at: datetime) -> datetime:
    """A ROZWIAZANY ticket closes 72 real hours after it was resolved."""
    return as_utc(resolved_at) + AUTO_CLOSE


def question_reminder_at(asked_at: datetime, cal: BusinessCalendar) -> datetime:
    """An unanswered question is reminded 3 business days after it was asked."""
    return cal.add_business_days(asked_at, QUESTION_REMINDER_BD)


def suspend_at(reminded_at: datetime) -> datetime:
    """A ticket awaiting the client is suspended 72 real hours after the question reminder."""
    return as_utc(reminded_at) + SUSPEND_AFTER


def completion_action_due(
    *,
    clock_start: datetime,
    reminders_sent: int,
    attempts: int,
    last_attempt_at: datetime | None,
    now: datetime,
    cal: BusinessCalendar,
) -> CompletionAction | None:
    """The completion-window action due at `now` for a NOWY ticket still missing data, or None.

    Closing wins over reminding. The ticket is closed only after at least one
    request for data went out, since SPEC section 4 counts 72 h from the last
    one. A reminder is due when a reminder time has passed and no request went
    out since the latest such time; so after a downtime that skipped both
    reminder times only one reminder is sent, and once it is recorded (as an
    attempt) the answer is None until the next reminder time.
    """
    if (attempts > 0) != (last_attempt_at is not None):
        raise ValueError("attempts and last_attempt_at disagree about whether a request went out")
    now = as_utc(now)
    due = completion_due(clock_start, cal)
    if last_attempt_at is not None and now >= close_after(due, last_attempt_at):
        return CompletionAction.CLOSE_INCOMPLETE
    passed = [t for t in reminder_times(clock_start, cal) if t <= now]
    if not passed or reminders_sent >= len(REMINDER_BD):
        return None
    if last_attempt_at is None or as_utc(last_attempt_at) < passed[-1]:
        return CompletionAction.REMIND
    return None


def sla_due(
    start: datetime,
    target_hours: float | timedelta,
    cal: BusinessCalendar,
    paused: Sequence[Pause] = (),
) -> datetime | None:
    """When `target_hours` business hours outside the paused intervals have passed since `start`.

    None while the clock is stopped (an open pause: awaiting the client, SPEC
    section 4) before the target was reached: the due instant is not known yet.
    """
    remaining = as_timedelta(target_hours)
    for begin, end in _running_spans(as_utc(start), paused):
        available = None if end is None else cal.business_hours_between(begin, end)
        if available is None or remaining <= available:
            return cal.add_business_hours(begin, remaining)
        remaining -= available
    return None


def sla_business_hours_left(
    start: datetime,
    target_hours: float | timedelta,
    cal: BusinessCalendar,
    *,
    now: datetime,
    paused: Sequence[Pause] = (),
) -> timedelta:
    """Business hours of the target left at `now`; negative once the target is overrun."""
    return as_timedelta(target_hours) - _sla_elapsed(as_utc(start), cal, as_utc(now), paused)


def is_breached(
    start: datetime,
    target_hours: float | timedelta,
    cal: BusinessCalendar,
    *,
    now: datetime,
    paused: Sequence[Pause] = (),
) -> bool:
    """True once more business time than the target has run on the SLA clock by `now`.

    Only business time counts: a target used up at 16:00 is breached from the
    next opening on, not during the night (SPEC section 4: targets in business hours).
    """
    left = sla_business_hours_left(start, target_hours, cal, now=now, paused=paused)
    return left < timedelta(0)


def _sla_elapsed(
    start: datetime, cal: BusinessCalendar, now: datetime, paused: Sequence[Pause]
) -> timedelta:
    total = timedelta(0)
    for begin, end in _running_spans(start, paused):
        if begin >= now:
            break
        total += cal.business_hours_between(begin, now if end is None else min(end, now))
    return total


def _running_spans(start: datetime, paused: Sequence[Pause]) -> Iterator[Pause]:
    """The spans from `start` on when the SLA clock runs; the last may be open (None)."""
    cursor = start
    for pause_start, pause_end in sorted(_clip(start, paused), key=lambda p: p[0]):
        if pause_start > cursor:
            yield cursor, pause_start
        if pause_end is None:
            return
        cursor = max(cursor, pause_end)
    yield cursor, None


def _clip(start: datetime, paused: Sequence[Pause]) -> Iterator[Pause]:
    """Pauses in UTC, cut to begin no earlier than `start`; empty ones dropped."""
    for pause_start, pause_end in paused:
        begin = max(as_utc(pause_start), start)
        end = None if pause_end is None else as_utc(pause_end)
        if end is None or end > begin:
            yield begin, end
