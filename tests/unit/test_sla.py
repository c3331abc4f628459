"""The SLA of a ticket from plain values: start, pauses, first response, figures (SPEC section 4)."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from mailintake.domain.businessdays import BusinessCalendar
from mailintake.domain.sla import figures, first_response, pauses, sla_start

WARSAW = ZoneInfo("Europe/Warsaw")
CAL = BusinessCalendar()
HOUR = timedelta(hours=1)
STAFF = frozenset({"anna.nowak@log-systems.com"})


@dataclass(frozen=True)
class Entry:
    at: datetime
    from_status: str | None
    to_status: str | None
    by: str = "system"


@dataclass(frozen=True)
class Plan:
    first_response_hours: float = 8.0
    resolution_hours: float = 40.0


def warsaw(*args: int) -> datetime:
    return datetime(*args, tzinfo=WARSAW)


CREATED = warsaw(2026, 11, 30, 9)  # a Monday


def test_the_clock_starts_at_the_first_entry_into_analiza():
    """A later return to ANALIZA and a same-status note do not move the start."""
    history = [
        Entry(CREATED, None, "NOWY"),
        Entry(warsaw(2026, 11, 30, 10), "ANALIZA", "ANALIZA"),
        Entry(warsaw(2026, 11, 30, 11), "NOWY", "ANALIZA"),
        Entry(warsaw(2026, 12, 2, 9), "ROZWIAZANY", "ANALIZA"),
    ]
    assert sla_start(CREATED, history) == warsaw(2026, 11, 30, 11)


def test_a_ticket_never_complete_counts_from_its_creation():
    """Without an entry into ANALIZA the start is the creation."""
    assert sla_start(CREATED, [Entry(CREATED, None, "NOWY")]) == CREATED


def test_stored_pauses_are_read_as_instants_and_the_open_one_stays_open():
    """`[start_iso, end_iso | null]` pairs become (start, end | None)."""
    stored = [
        [warsaw(2026, 11, 30, 10).isoformat(), warsaw(2026, 11, 30, 12).isoformat()],
        [warsaw(2026, 12, 1, 9).isoformat(), None],
    ]
    assert pauses(stored) == [
        (warsaw(2026, 11, 30, 10), warsaw(2026, 11, 30, 12)),
        (warsaw(2026, 12, 1, 9), None),
    ]
    assert pauses(None) == []


def test_the_first_response_is_the_earliest_staff_action_since_the_start():
    """Client entries and staff entries before the start do not count."""
    history = [
        Entry(warsaw(2026, 11, 30, 8), None, "NOWY", "anna.nowak@log-systems.com"),
        Entry(warsaw(2026, 11, 30, 12), "ANALIZA", "ANALIZA", "jan@klient.pl"),
        Entry(warsaw(2026, 11, 30, 14), "ANALIZA", "W_TRAKCIE", "anna.nowak@log-systems.com"),
    ]
    assert first_response(None, history, CREATED, STAFF) == warsaw(2026, 11, 30, 14)
    recorded = warsaw(2026, 11, 30, 13)
    assert first_response(recorded, history, CREATED, STAFF) == recorded
    assert first_response(None, history[:2], CREATED, STAFF) is None


def test_figures_count_business_hours_and_stop_each_clock_at_its_event():
    """8 h from Monday 9:00 falls on Tuesday 9:00; an answer at 11:00 leaves 6 h unused."""
    sla = figures(
        start=CREATED,
        first_response_at=warsaw(2026, 11, 30, 11),
        resolved_at=None,
        targets=Plan(),
        cal=CAL,
        paused=[],
        now=warsaw(2026, 12, 1, 12),
    )
    assert sla.first_response_due == warsaw(2026, 12, 1, 9)
    assert sla.first_response_left == 6 * HOUR
    assert not sla.first_response_breached
    assert sla.resolution_left == 40 * HOUR - 11 * HOUR
    assert sla.next_due == sla.resolution_due
    assert not sla.breached


def test_an_open_pause_hides_the_due_instant_and_stops_the_clock():
    """Awaiting the client since Monday 10:00: no due instant, one business hour used."""
    sla = figures(
        start=CREATED,
        first_response_at=None,
        resolved_at=None,
        targets=Plan(first_response_hours=0.5),
        cal=CAL,
        paused=[(warsaw(2026, 11, 30, 10), None)],
        now=warsaw(2026, 12, 3, 12),
    )
    assert sla.resolution_due is None
    assert sla.resolution_left == 39 * HOUR
    assert sla.first_response_breached
    assert sla.breached
    assert sla.next_due == sla.first_response_due == warsaw(2026, 11, 30, 9, 30)
