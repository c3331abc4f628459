"""Ticket deadlines: completion window, reminders, closings and SLA (SPEC sections 4 and 8)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailintake.domain.businessdays import BusinessCalendar
from mailintake.domain.deadlines import (
    CompletionAction,
    auto_close_at,
    close_after,
    completion_action_due,
    completion_due,
    is_breached,
    question_reminder_at,
    reminder_times,
    sla_business_hours_left,
    sla_due,
    suspend_at,
)

WARSAW = ZoneInfo("Europe/Warsaw")
CAL = BusinessCalendar()
HOUR = timedelta(hours=1)


def warsaw(*args: int) -> datetime:
    return datetime(*args, tzinfo=WARSAW)


@pytest.mark.parametrize(
    ("created", "due"),
    [
        (warsaw(2026, 11, 26, 14), warsaw(2026, 12, 1, 14)),
        (warsaw(2026, 11, 9, 10), warsaw(2026, 11, 13, 10)),
        (warsaw(2026, 12, 23, 12), warsaw(2026, 12, 30, 12)),
        (warsaw(2026, 10, 23, 15), warsaw(2026, 10, 28, 15)),
    ],
)
def test_completion_is_due_three_business_days_later(created, due):
    """A ticket created in business hours is due complete 3 BD later at the same clock time."""
    assert completion_due(CAL.clock_start(created), CAL) == due


def test_completion_of_a_saturday_mail_counts_from_monday_opening():
    """A mail arriving on Saturday is due complete on Thursday 08:00 (clock starts Monday)."""
    start = CAL.clock_start(warsaw(2026, 11, 14, 12))
    assert completion_due(start, CAL) == warsaw(2026, 11, 19, 8)


def test_completion_skips_configured_closure_days():
    """A company closure day inside the window moves the due date one business day."""
    cal = BusinessCalendar(closures=[datetime(2026, 11, 27).date()])
    assert completion_due(warsaw(2026, 11, 26, 14), cal) == warsaw(2026, 12, 2, 14)


def test_reminders_go_out_one_and_two_business_days_after_the_clock_started():
    """Reminders fall on Friday and Monday for a Thursday ticket."""
    assert reminder_times(warsaw(2026, 11, 26, 14), CAL) == [
        warsaw(2026, 11, 27, 14),
        warsaw(2026, 11, 30, 14),
    ]


def test_close_after_is_completion_due_when_the_last_attempt_is_old():
    """A last request long before the due time leaves the close at completion_due."""
    due = warsaw(2026, 12, 1, 14)
    assert close_after(due, warsaw(2026, 11, 26, 14)) == due


def test_close_after_waits_72_hours_after_a_late_attempt():
    """A request sent on the due day pushes the close to 72 h after it."""
    due = warsaw(2026, 12, 1, 14)
    assert close_after(due, warsaw(2026, 12, 1, 9)) == warsaw(2026, 12, 4, 9)


def test_auto_close_is_72_real_hours_across_dst():
    """72 h after Saturday 2026-10-24 12:00 CEST is Tuesday 2026-10-27 11:00 CET."""
    closes = auto_close_at(warsaw(2026, 10, 24, 12))
    assert closes == warsaw(2026, 10, 27, 11)
    assert closes.tzinfo is UTC


def test_question_reminder_after_three_business_days_then_suspension_after_72_hours():
    """A question asked Monday is reminded Thursday; the ticket is suspended 72 h later."""
    reminded = question_reminder_at(warsaw(2026, 11, 16, 10), CAL)
    assert reminded == warsaw(2026, 11, 19, 10)
    assert suspend_at(reminded) == warsaw(2026, 11, 22, 10)


def test_naive_times_are_refused():
    """Deadlines from a naive datetime are refused, since its instant is unknown."""
    with pytest.raises(ValueError, match="naive"):
        auto_close_at(datetime(2026, 10, 24, 12))


# Completion window: ticket created Monday 2026-11-16 10:00, first request sent at once.
START = warsaw(2026, 11, 16, 10)
FIRST_REQUEST = warsaw(2026, 11, 16, 10, 1)


def action(now, reminders_sent=0, attempts=1, last_attempt_at=FIRST_REQUEST):
    return completion_action_due(
        clock_start=START,
        reminders_sent=reminders_sent,
        attempts=attempts,
        last_attempt_at=last_attempt_at,
        now=now,
        cal=CAL,
    )


def test_nothing_is_due_before_the_first_reminder_time():
    """Between the first request and 1 BD later nothing is due."""
    assert action(warsaw(2026, 11, 17, 9, 59)) is None


def test_a_reminder_is_due_one_business_day_later():
    """At 1 BD after the clock started a reminder is due."""
    assert action(warsaw(2026, 11, 17, 10)) == CompletionAction.REMIND


def test_a_recorded_reminder_is_not_due_again():
    """Once the reminder went out, nothing is due until the second reminder time."""
    sent = warsaw(2026, 11, 17, 10, 5)
    assert action(warsaw(2026, 11, 17, 12), 1, 2, sent) is None
    assert action(warsaw(2026, 11, 18, 10), 1, 2, sent) == CompletionAction.REMIND


def test_after_a_downtime_only_one_reminder_is_sent():
    """Both reminder times passed while down: one reminder, then nothing more."""
    assert action(warsaw(2026, 11, 18, 15)) == CompletionAction.REMIND
    assert action(warsaw(2026, 11, 18, 15, 1), 1, 2, warsaw(2026, 11, 18, 15)) is None


def test_no_third_reminder():
    """After two reminders nothing more is due until the ticket may be closed."""
    assert action(warsaw(2026, 11, 19, 12), 2, 3, warsaw(2026, 11, 18, 10)) is None


def test_the_ticket_is_closed_72_hours_after_the_last_request():
    """The close comes at max(completion_due, last attempt + 72 h)."""
    last = warsaw(2026, 11, 18, 10)
    assert action(warsaw(2026, 11, 21, 9, 59), 2, 3, last) is None
    assert action(warsaw(2026, 11, 21, 10), 2, 3, last) == CompletionAction.CLOSE_INCOMPLETE


def test_closing_wins_over_a_pending_reminder():
    """Down for a week: the ticket is closed, not reminded first."""
    assert action(warsaw(2026, 11, 25, 10)) == CompletionAction.CLOSE_INCOMPLETE


def test_no_close_without_any_request_sent():
    """A ticket whose client was never asked gets a reminder, never a close."""
    assert action(warsaw(2026, 11, 25, 10), 0, 0, None) == CompletionAction.REMIND


def test_inconsistent_attempts_are_refused():
    """Attempts without a last attempt time (or the reverse) is a caller bug."""
    with pytest.raises(ValueError):
        action(warsaw(2026, 11, 17, 10), 0, 1, None)


@given(st.integers(min_value=0, max_value=10 * 24 * 60))
def test_recording_the_due_action_makes_it_not_due(minutes):
    """Whenever a reminder is due, recording it at that moment leaves nothing due."""
    now = START + timedelta(minutes=minutes)
    if action(now) == CompletionAction.REMIND:
        assert action(now, 1, 2, now) is None


# SLA: 16 business hours from Monday 2026-11-16 10:00.
SLA_START = warsaw(2026, 11, 16, 10)


def test_sla_due_counts_business_hours():
    """16 business hours from Monday 10:00 end Wednesday 10:00."""
    assert sla_due(SLA_START, 16, CAL) == warsaw(2026, 11, 18, 10)


def test_sla_due_excludes_time_awaiting_the_client():
    """A closed pause of 4 business hours moves the due time 4 business hours later."""
    paused = [(warsaw(2026, 11, 17, 8), warsaw(2026, 11, 17, 12))]
    assert sla_due(SLA_START, 16, CAL, paused) == warsaw(2026, 11, 18, 14)


def test_overlapping_pauses_count_once():
    """Two overlapping pauses stop the clock for their union only."""
    paused = [
        (warsaw(2026, 11, 17, 8), warsaw(2026, 11, 17, 11)),
        (warsaw(2026, 11, 17, 10), warsaw(2026, 11, 17, 12)),
    ]
    assert sla_due(SLA_START, 16, CAL, paused) == warsaw(2026, 11, 18, 14)


def test_sla_due_is_unknown_while_awaiting_the_client():
    """An open pause before the target was reached leaves the due time unknown."""
    assert sla_due(SLA_START, 16, CAL, [(warsaw(2026, 11, 17, 8), None)]) is None


def test_open_pause_after_the_target_keeps_the_due_time():
    """A question asked after the target was already reached does not hide the due time."""
    paused = [(warsaw(2026, 11, 19, 8), None)]
    assert sla_due(SLA_START, 16, CAL, paused) == warsaw(2026, 11, 18, 10)


def test_business_hours_left_excludes_pauses():
    """By Tuesday 16:00 with a 2-hour pause, 12 business hours have run and 4 are left."""
    paused = [(warsaw(2026, 11, 17, 9), warsaw(2026, 11, 17, 11))]
    left = sla_business_hours_left(SLA_START, 16, CAL, now=warsaw(2026, 11, 17, 16), paused=paused)
    assert left == timedelta(hours=4)


def test_business_hours_left_stops_during_an_open_pause():
    """While awaiting the client the hours left do not shrink."""
    paused = [(warsaw(2026, 11, 17, 8), None)]
    left = sla_business_hours_left(SLA_START, 16, CAL, now=warsaw(2026, 11, 20, 12), paused=paused)
    assert left == timedelta(hours=10)


def test_business_hours_left_goes_negative_when_overrun():
    """Two business hours past the due time leaves minus two hours."""
    left = sla_business_hours_left(SLA_START, 16, CAL, now=warsaw(2026, 11, 18, 12))
    assert left == -2 * HOUR


@pytest.mark.parametrize(
    ("now", "breached"),
    [
        (warsaw(2026, 11, 18, 10), False),
        (warsaw(2026, 11, 18, 10, 1), True),
    ],
)
def test_breached_once_more_business_time_than_the_target_ran(now, breached):
    """The SLA is breached only after the target's business hours are used up."""
    assert is_breached(SLA_START, 16, CAL, now=now) is breached


def test_not_breached_overnight_when_the_target_ended_at_closing():
    """A target used up at 16:00 is not breached during the night, only from the opening on."""
    start = warsaw(2026, 11, 16, 8)
    assert not is_breached(start, 8, CAL, now=warsaw(2026, 11, 16, 23))
    assert is_breached(start, 8, CAL, now=warsaw(2026, 11, 17, 8, 1))


@given(
    st.integers(min_value=0, max_value=60 * 24 * 14),
    st.integers(min_value=0, max_value=40),
    st.integers(min_value=0, max_value=60 * 24 * 5),
    st.integers(min_value=0, max_value=60 * 24 * 3),
)
def test_sla_due_agrees_with_hours_left(start_min, target, pause_min, pause_len):
    """At the due instant exactly the target has run: zero hours left, not yet breached."""
    start = SLA_START + timedelta(minutes=start_min)
    pause_start = start + timedelta(minutes=pause_min)
    paused = [(pause_start, pause_start + timedelta(minutes=pause_len))]
    due = sla_due(start, target, CAL, paused)
    assert sla_business_hours_left(start, target, CAL, now=due, paused=paused) == timedelta(0)
    assert not is_breached(start, target, CAL, now=due, paused=paused)
