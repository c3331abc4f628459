"""Each queue's size and SLA state over the last days, rebuilt from ticket history (issue 13).

Owns: `queue_trends(app, now, days)` — for each report's queue (R-1 … R-4, statuses as in
`services.reports.QUEUES`), at the end of each of the last `days` Warsaw days (today: at
`now`), how many tickets were in the queue within their deadline and how many past it.
Nothing new is stored: a ticket's status at an instant is the last status its history had
by then, and its SLA at that instant is `domain.sla`'s figures from what had happened by
then (a first response, a resolution or a pause after it does not count yet). "Past the
deadline" is, per queue: R-1 the completion deadline, R-2 and R-4 an SLA target overrun,
R-3 an SLA not met at resolution. Read-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from mailintake.adapters import db
from mailintake.app import App
from mailintake.domain import sla
from mailintake.domain.businessdays import as_utc
from mailintake.domain.deadlines import Pause
from mailintake.services.reports import QUEUES
from mailintake.services.tickets import WARSAW

DAYS = 30


@dataclass
class Trend:
    """One queue over the days: per day, tickets within and past their deadline."""

    days: list[date] = field(default_factory=list)
    within: list[int] = field(default_factory=list)
    past: list[int] = field(default_factory=list)


def queue_trends(app: App, now: datetime, days: int = DAYS) -> dict[str, Trend]:
    """`{"r1": Trend, …}` for the `days` Warsaw days up to and including today."""
    now = as_utc(now)
    today = now.astimezone(WARSAW).date()
    instants = [_day_end(today - timedelta(days=n), now) for n in range(days - 1, -1, -1)]
    trends = {which: _empty([i.astimezone(WARSAW).date() for i in instants]) for which in QUEUES}
    with db.reading(app.engine) as session:
        for ticket, history in _tickets_alive_since(session, instants[0]):
            for index, at in enumerate(instants):
                _count(app, trends, index, ticket, history, at)
    return trends


def _empty(days: list[date]) -> Trend:
    return Trend(days=days, within=[0] * len(days), past=[0] * len(days))


def _day_end(day: date, now: datetime) -> datetime:
    end = datetime.combine(day + timedelta(days=1), time(), WARSAW) - timedelta(microseconds=1)
    return min(as_utc(end), now)


def _tickets_alive_since(
    session: Session, since: datetime
) -> list[tuple[db.Ticket, list[db.HistoryRow]]]:
    """Tickets not closed before `since`, each with its history, oldest first."""
    query = select(db.Ticket).where(
        sa.or_(col(db.Ticket.closed_at).is_(None), col(db.Ticket.closed_at) >= since)
    )
    found = session.exec(query.order_by(col(db.Ticket.id))).all()
    return [(t, db.history_of(session, db.id_of(t))) for t in found]


def _count(
    app: App,
    trends: dict[str, Trend],
    index: int,
    ticket: db.Ticket,
    history: Sequence[db.HistoryRow],
    at: datetime,
) -> None:
    status = _status_at(history, at)
    for which, statuses in QUEUES.items():
        trend = trends[which]
        if status in statuses:
            if _past_deadline(app, which, ticket, history, at):
                trend.past[index] += 1
            else:
                trend.within[index] += 1


def _status_at(history: Sequence[db.HistoryRow], at: datetime) -> str | None:
    """The last status the ticket's history reached by `at`; None before it existed."""
    status = None
    for entry in history:
        if entry.at > at:
            break
        status = entry.to_status or status
    return status


def _past_deadline(
    app: App, which: str, ticket: db.Ticket, history: Sequence[db.HistoryRow], at: datetime
) -> bool:
    if which == "r1":
        return ticket.completion_due is not None and at > ticket.completion_due
    figures = _sla_at(app, ticket, history, at)
    if which == "r4":
        return figures.resolution_breached
    return figures.breached


def _sla_at(app: App, ticket: db.Ticket, history: Sequence[db.HistoryRow], at: datetime) -> sla.Sla:
    """The ticket's SLA as it stood at `at`: only what had happened by then counts."""
    known = [h for h in history if h.at <= at]
    start = sla.sla_start(ticket.created_at, known)
    first = (
        ticket.first_response_at
        if ticket.first_response_at and ticket.first_response_at <= at
        else None
    )
    resolved = ticket.resolved_at if ticket.resolved_at and ticket.resolved_at <= at else None
    return sla.figures(
        start=start,
        first_response_at=sla.first_response(first, known, start, app.settings.staff),
        resolved_at=resolved,
        targets=app.settings.clients.for_address(ticket.client_email).sla,
        cal=app.calendar,
        paused=_pauses_at(sla.pauses(ticket.sla_paused), at),
        now=at,
    )


def _pauses_at(paused: Sequence[Pause], at: datetime) -> list[Pause]:
    """Pauses begun by `at`; one that ended later was still open then."""
    return [(begin, end if end is not None and end <= at else None)
            for begin, end in paused if begin <= at]  # fmt: skip
