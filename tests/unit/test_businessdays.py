"""Business calendar: Warsaw time, Polish holidays, business hours (SPEC section 4)."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailintake.domain.businessdays import BusinessCalendar

WARSAW = ZoneInfo("Europe/Warsaw")
CAL = BusinessCalendar()
POLISH_HOLIDAYS = holidays.Poland(years=range(2024, 2032))


def warsaw(*args: int) -> datetime:
    return datetime(*args, tzinfo=WARSAW)


# Instants from 2024 to 2030, drawn both in Warsaw and in UTC; compared in UTC
# because aware datetimes sharing a tzinfo compare by wall clock, not by instant.
instants = st.datetimes(
    min_value=datetime(2024, 1, 1),
    max_value=datetime(2030, 12, 31),
    timezones=st.sampled_from([WARSAW, UTC]),
).map(lambda at: at.astimezone(UTC))
business_days = st.integers(min_value=0, max_value=30)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=400))


def test_weekend_and_public_holidays_are_not_business_days():
    """Saturday, Sunday, 11 November and 24 December 2026 are not business days."""
    assert CAL.is_business_day(date(2026, 11, 10))
    for day in (date(2026, 11, 14), date(2026, 11, 15), date(2026, 11, 11), date(2026, 12, 24)):
        assert not CAL.is_business_day(day)


def test_closure_days_from_configuration_are_not_business_days():
    """A company closure day passed in is skipped like a holiday."""
    cal = BusinessCalendar(closures=[date(2026, 11, 12)])
    assert not cal.is_business_day(date(2026, 11, 12))
    assert cal.add_business_days(warsaw(2026, 11, 10, 10), 1) == warsaw(2026, 11, 13, 10)


def test_is_business_day_refuses_a_datetime():
    """A datetime's day depends on its zone, so only a date is accepted."""
    with pytest.raises(TypeError):
        CAL.is_business_day(warsaw(2026, 11, 10, 10))


def test_next_business_day_skips_weekend_and_christmas():
    """After Wednesday 23 December 2026 comes Monday 28 December."""
    assert CAL.next_business_day(date(2026, 12, 23)) == date(2026, 12, 28)


@pytest.mark.parametrize(
    ("at", "inside"),
    [
        (warsaw(2026, 11, 10, 8), True),
        (warsaw(2026, 11, 10, 15, 59), True),
        (warsaw(2026, 11, 10, 16), False),
        (warsaw(2026, 11, 10, 7, 59), False),
        (warsaw(2026, 11, 14, 10), False),
        (warsaw(2026, 11, 11, 10), False),
    ],
)
def test_business_time_is_opening_to_closing_of_a_business_day(at, inside):
    """Business hours are 08:00 inclusive to 16:00 exclusive on business days."""
    assert CAL.is_business_time(at) is inside


def test_business_hours_are_configurable():
    """With hours 09:00–17:00, 16:30 is business time and 08:30 is not."""
    cal = BusinessCalendar(opens=time(9), closes=time(17))
    assert cal.is_business_time(warsaw(2026, 11, 10, 16, 30))
    assert not cal.is_business_time(warsaw(2026, 11, 10, 8, 30))


@pytest.mark.parametrize(
    ("at", "start"),
    [
        (warsaw(2026, 11, 10, 10), warsaw(2026, 11, 10, 10)),
        (warsaw(2026, 11, 14, 12), warsaw(2026, 11, 16, 8)),  # Saturday
        (warsaw(2026, 11, 10, 22), warsaw(2026, 11, 12, 8)),  # 22:00, then 11 Nov holiday
        (warsaw(2026, 11, 10, 7), warsaw(2026, 11, 10, 8)),  # before opening
        (warsaw(2026, 11, 10, 16), warsaw(2026, 11, 12, 8)),  # closing time is outside
    ],
)
def test_clock_starts_at_next_opening_outside_business_hours(at, start):
    """A mail on Saturday or at 22:00 counts from the next business hours (SPEC section 4)."""
    assert CAL.clock_start(at) == start


@pytest.mark.parametrize(
    ("at", "n", "due"),
    [
        (warsaw(2026, 11, 26, 14), 3, warsaw(2026, 12, 1, 14)),  # over a weekend
        (warsaw(2026, 11, 9, 10), 3, warsaw(2026, 11, 13, 10)),  # 11 November
        (warsaw(2026, 12, 23, 12), 3, warsaw(2026, 12, 30, 12)),  # 24 and 25 December
        (warsaw(2026, 10, 23, 15), 3, warsaw(2026, 10, 28, 15)),  # CEST → CET
        (warsaw(2026, 3, 27, 9), 1, warsaw(2026, 3, 30, 9)),  # CET → CEST
        (warsaw(2026, 11, 14, 12), 1, warsaw(2026, 11, 17, 8)),  # Saturday counts from Monday
    ],
)
def test_add_business_days_keeps_the_clock_time(at, n, due):
    """N business days later is the same local clock time, across holidays and DST."""
    result = CAL.add_business_days(at, n)
    assert result == due
    assert result.tzinfo is UTC


def test_add_business_days_across_dst_keeps_warsaw_wall_clock():
    """Friday 15:00 CEST plus 3 BD is 15:00 CET, which is 14:00 UTC, not 13:00 UTC."""
    assert CAL.add_business_days(warsaw(2026, 10, 23, 15), 3) == datetime(
        2026, 10, 28, 14, tzinfo=UTC
    )


def test_business_hours_between_counts_only_open_time():
    """Friday 15:00 to Monday 09:00 is two business hours."""
    hours = CAL.business_hours_between(warsaw(2026, 11, 13, 15), warsaw(2026, 11, 16, 9))
    assert hours == timedelta(hours=2)


def test_business_hours_between_is_zero_backwards():
    """When the end is not after the start no business time has passed."""
    assert CAL.business_hours_between(warsaw(2026, 11, 16, 9), warsaw(2026, 11, 13, 15)) == (
        timedelta(0)
    )


def test_add_business_hours_skips_nights_weekends_and_holidays():
    """Tuesday 15:00 plus 2 business hours is Thursday 09:00 (11 November is a holiday)."""
    assert CAL.add_business_hours(warsaw(2026, 11, 10, 15), 2) == warsaw(2026, 11, 12, 9)


def test_add_business_hours_ending_at_closing_returns_closing():
    """Using exactly the rest of the day ends at 16:00, not at the next opening."""
    assert CAL.add_business_hours(warsaw(2026, 11, 10, 14), timedelta(hours=2)) == warsaw(
        2026, 11, 10, 16
    )


def test_naive_datetimes_are_refused():
    """A naive datetime names no instant, so every operation refuses it."""
    naive = datetime(2026, 11, 10, 10)
    for call in (
        lambda: CAL.clock_start(naive),
        lambda: CAL.is_business_time(naive),
        lambda: CAL.add_business_days(naive, 1),
        lambda: CAL.add_business_hours(naive, 1),
        lambda: CAL.business_hours_between(naive, warsaw(2026, 11, 10, 12)),
    ):
        with pytest.raises(ValueError, match="naive"):
            call()


def test_hours_that_do_not_open_before_closing_are_refused():
    """Business hours closing before they open are a configuration mistake."""
    with pytest.raises(ValueError):
        BusinessCalendar(opens=time(16), closes=time(8))


@given(instants, business_days)
def test_adding_business_days_lands_on_a_business_day(at, n):
    """The result of adding business days is never a weekend, holiday or closed hour."""
    result = CAL.add_business_days(at, n)
    day = result.astimezone(WARSAW).date()
    assert day.weekday() < 5
    assert day not in POLISH_HOLIDAYS
    assert CAL.is_business_time(result)


@given(instants, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=4)), business_days)
def test_adding_business_days_is_monotonic(a, gap, n):
    """A later instant never gets an earlier result (gaps of days find the weekend cases)."""
    assert CAL.add_business_days(a, n) <= CAL.add_business_days(a + gap, n)


@given(instants, instants, instants)
def test_business_hours_between_is_additive(a, b, c):
    """Hours from a to b plus hours from b to c equal hours from a to c."""
    a, b, c = sorted((a, b, c))
    total = CAL.business_hours_between(a, b) + CAL.business_hours_between(b, c)
    assert total == CAL.business_hours_between(a, c)


@given(instants, durations)
def test_add_business_hours_round_trips(at, duration):
    """Adding business hours and measuring them back gives the same duration."""
    assert CAL.business_hours_between(at, CAL.add_business_hours(at, duration)) == duration


@given(instants, durations)
def test_add_business_hours_gives_the_earliest_instant(at, duration):
    """A moment earlier, less than the duration has passed (so the result is not late)."""
    end = CAL.add_business_hours(at, duration)
    if duration:
        earlier = end - timedelta(microseconds=1)
        assert CAL.business_hours_between(at, earlier) < duration
