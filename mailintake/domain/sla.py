"""The SLA of a ticket (SPEC section 4): when its clock starts, when it stands, the figures.

Owns: the SLA start, the stored pauses read as instants, the first response,
and the due / left / breached figures of both targets at one instant — pure
functions of the ticket's times, its history entries, the plan's targets, the
business calendar and `now`.

Decisions:
- The clock starts when the ticket became complete (its first entry into
  ANALIZA), else at creation; time awaiting the client (the pauses) does not
  count. Targets are business hours from the client's plan.
- The first response is the earliest of `first_response_at` and the first
  history entry by a staff address since the SLA start.
- A resolved ticket's resolution clock stops at `resolved_at`, the first
  response clock at the first response.

Must not: read the clock, touch storage or import sqlmodel. Callers pass plain
values: history entries and plans are anything with the attributes of
`Entry` and `Targets`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from mailintake.domain import deadlines
from mailintake.domain.businessdays import BusinessCalendar
from mailintake.domain.deadlines import Pause
from mailintake.domain.status import Status

WARSAW = ZoneInfo("Europe/Warsaw")


class Entry(Protocol):
    """One history entry of a ticket, as far as the SLA reads it."""

    @property
    def at(self) -> datetime: ...

    @property
    def from_status(self) -> str | None: ...

    @property
    def to_status(self) -> str | None: ...

    @property
    def by(self) -> str: ...


class Targets(Protocol):
    """A plan's SLA targets in business hours."""

    @property
    def first_response_hours(self) -> float: ...

    @property
    def resolution_hours(self) -> float: ...


@dataclass(frozen=True)
class Sla:
    """A ticket's SLA figures at one instant (SPEC section 4)."""

    start: datetime
    first_response_at: datetime | None
    first_response_due: datetime | None
    first_response_left: timedelta
    first_response_breached: bool
    resolution_due: datetime | None
    resolution_left: timedelta
    resolution_breached: bool

    @property
    def breached(self) -> bool:
        return self.first_response_breached or self.resolution_breached

    @property
    def next_due(self) -> datetime | None:
        """The due instant of the next open target: first response, then resolution."""
        return self.first_response_due if self.first_response_at is None else self.resolution_due

    @property
    def next_left(self) -> timedelta:
        return self.first_response_left if self.first_response_at is None else self.resolution_left


def past_due(day: date, due: datetime | None) -> bool:
    """Whether `day` (an ETA) is later than the Warsaw day `due` falls on (SPEC section 4)."""
    return due is not None and day > due.astimezone(WARSAW).date()


def sla_start(created_at: datetime, history: Iterable[Entry]) -> datetime:
    """When the ticket first became complete (entered ANALIZA); its creation otherwise."""
    entered = [h.at for h in history
               if h.to_status == Status.ANALIZA and h.from_status != h.to_status]  # fmt: skip
    return min(entered) if entered else created_at


def pauses(stored: Iterable[Sequence[Any]] | None) -> list[Pause]:
    """The stored `[start_iso, end_iso | null]` pauses (`Ticket.sla_paused`) as instants."""
    return [
        (datetime.fromisoformat(begin), None if end is None else datetime.fromisoformat(end))
        for begin, end in stored or []
    ]


def first_response(
    first_response_at: datetime | None,
    history: Iterable[Entry],
    start: datetime,
    staff: Collection[str],
) -> datetime | None:
    """The earliest of `first_response_at` and the first staff action since the SLA start."""
    by_staff = [h.at for h in history if h.by in staff and h.at >= start]
    found = [*by_staff, *([first_response_at] if first_response_at else [])]
    return min(found) if found else None


def figures(
    *,
    start: datetime,
    first_response_at: datetime | None,
    resolved_at: datetime | None,
    targets: Targets,
    cal: BusinessCalendar,
    paused: Sequence[Pause],
    now: datetime,
) -> Sla:
    """The SLA as of `now`; each clock stops at its target's event (response, resolution)."""
    response = _target(start, targets.first_response_hours, cal, paused, first_response_at or now)
    resolution = _target(start, targets.resolution_hours, cal, paused, resolved_at or now)
    return Sla(start, first_response_at, *response, *resolution)


def _target(
    start: datetime, hours: float, cal: BusinessCalendar, paused: Sequence[Pause], by: datetime
) -> tuple[datetime | None, timedelta, bool]:
    """(due, business hours left at `by`, breached at `by`) of one target."""
    return (
        deadlines.sla_due(start, hours, cal, paused),
        deadlines.sla_business_hours_left(start, hours, cal, now=by, paused=paused),
        deadlines.is_breached(start, hours, cal, now=by, paused=paused),
    )
