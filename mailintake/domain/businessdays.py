"""The business calendar: Warsaw time, Polish public holidays, business hours (SPEC section 4).

Owns: what a business day (BD) is, when business hours open and close, and the
arithmetic on them (add BDs, count and add business hours), correct across DST
changes. Instants go in time-zone aware and come out in UTC (SPEC section 4:
instants are stored in UTC); a naive datetime is refused with ValueError.

Must not: read the clock, read configuration or do I/O. Business hours and
company closure days are passed in by the caller; the Polish public holidays come
from the `holidays` package, which is data, not I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

ONE_DAY = timedelta(days=1)
SATURDAY = 5


def as_utc(at: datetime) -> datetime:
    """`at` as a UTC-aware datetime; ValueError for a naive one (its instant is unknown)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()} has no time zone; pass an aware one")
    return at.astimezone(UTC)


def as_timedelta(hours: float | timedelta) -> timedelta:
    """A duration given as hours or as a timedelta; ValueError when negative."""
    duration = hours if isinstance(hours, timedelta) else timedelta(hours=hours)
    if duration < timedelta(0):
        raise ValueError(f"a duration cannot be negative: {hours!r}")
    return duration


class BusinessCalendar:
    """Business days and hours in one time zone (default `Europe/Warsaw`).

    A business day is Monday to Friday, not a Polish public holiday and not a
    company closure day. Business hours are the half-open local interval
    [opens, closes) of each business day.
    """

    def __init__(
        self,
        opens: time = time(8),
        closes: time = time(16),
        closures: Iterable[date] = (),
        tz: str = "Europe/Warsaw",
    ) -> None:
        if opens.tzinfo is not None or closes.tzinfo is not None:
            raise ValueError("opens and closes are local wall-clock times; give them no tzinfo")
        if not opens < closes:
            raise ValueError(f"business hours must open before they close: {opens}–{closes}")
        self.opens = opens
        self.closes = closes
        self.closures = frozenset(closures)
        self.tz = ZoneInfo(tz)
        # Lazily expands to any year asked about; public holidays only (SPEC section 4).
        self._holidays = holidays.country_holidays("PL")
        # Memo of each day's business hours in UTC: long spans are walked day by day.
        self._hours: dict[date, tuple[datetime, datetime] | None] = {}

    def __repr__(self) -> str:
        return (
            f"BusinessCalendar(opens={self.opens}, closes={self.closes}, "
            f"closures={sorted(self.closures)}, tz={self.tz.key!r})"
        )

    def is_business_day(self, d: date) -> bool:
        """True for Monday–Friday that is neither a Polish public holiday nor a closure day."""
        if isinstance(d, datetime):
            # A datetime's date depends on its zone; make the caller say which day is meant.
            raise TypeError("pass a date; use is_business_time() for an instant")
        return d.weekday() < SATURDAY and d not in self._holidays and d not in self.closures

    def next_business_day(self, d: date) -> date:
        """The first business day strictly after `d`."""
        d += ONE_DAY
        while not self.is_business_day(d):
            d += ONE_DAY
        return d

    def is_business_time(self, at: datetime) -> bool:
        """True when `at` falls inside the business hours of a business day."""
        at = as_utc(at)
        hours = self._business_hours(self._local_date(at))
        return hours is not None and hours[0] <= at < hours[1]

    def clock_start(self, at: datetime) -> datetime:
        """`at` when inside business hours, else the next opening (SPEC section 4).

        Saturday, a holiday, 22:00 or 07:00 all start the clock at the next
        business day's opening (07:00 on a business day: that same day's opening).
        """
        at = as_utc(at)
        day = self._local_date(at)
        hours = self._business_hours(day)
        if hours is not None and at < hours[1]:
            return max(at, hours[0])
        return self._opening(self.next_business_day(day))

    def add_business_days(self, at: datetime, n: int) -> datetime:
        """The same local wall-clock time `n` business days after `clock_start(at)`.

        Counting from the business clock rather than from `at` itself is what
        keeps the result monotonic in `at` and always on a business day: an
        instant outside business hours (Saturday, 22:00) counts from the next
        opening, exactly as the completion clock does (SPEC section 4).
        """
        if n < 0:
            raise ValueError(f"n must not be negative: {n}")
        local = self.clock_start(at).astimezone(self.tz)
        day = local.date()
        for _ in range(n):
            day = self.next_business_day(day)
        # Business hours of a business day never straddle a DST change (those
        # happen on Sunday nights in Warsaw), so this wall-clock time exists once.
        return datetime.combine(day, local.time(), self.tz).astimezone(UTC)

    def business_hours_between(self, a: datetime, b: datetime) -> timedelta:
        """Time inside business hours between `a` and `b`; timedelta(0) when b <= a."""
        a, b = as_utc(a), as_utc(b)
        total = timedelta(0)
        for opens, closes in self._hours_from(a):
            if opens >= b:
                break
            total += max(timedelta(0), min(closes, b) - max(opens, a))
        return total

    def add_business_hours(self, at: datetime, hours: float | timedelta) -> datetime:
        """The earliest instant by which `hours` of business time have passed since `at`."""
        at, remaining = as_utc(at), as_timedelta(hours)
        if not remaining:
            return at
        for opens, closes in self._hours_from(at):
            start = max(opens, at)
            if remaining <= closes - start:
                return start + remaining
            remaining -= max(timedelta(0), closes - start)
        raise AssertionError("unreachable: business days never run out")

    def _hours_from(self, at: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Business hours (UTC) of every business day from `at`'s local day on, in order."""
        day = self._local_date(at)
        while True:
            hours = self._business_hours(day)
            if hours is not None:
                yield hours
            day += ONE_DAY

    def _business_hours(self, day: date) -> tuple[datetime, datetime] | None:
        """The UTC interval of `day`'s business hours, or None when it is no business day."""
        if day not in self._hours:
            self._hours[day] = (
                (self._opening(day), self._at_local(day, self.closes))
                if self.is_business_day(day)
                else None
            )
        return self._hours[day]

    def _opening(self, day: date) -> datetime:
        return self._at_local(day, self.opens)

    def _at_local(self, day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, self.tz).astimezone(UTC)

    def _local_date(self, at: datetime) -> date:
        return at.astimezone(self.tz).date()
