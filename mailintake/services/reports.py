"""The internal reports R-1 to R-4 (SPEC section 8) and the SLA of a ticket (SPEC section 4).

Owns: which tickets each report lists, its exact columns (units in their names: `age_hours`,
`business_hours_left`), each ticket's client organisation (`organisation`), reading a
ticket's SLA figures (due, business hours left, breached, met; the rules are `domain.sla`'s)
from storage, and `render`, a report in one of its formats (`services.reportfmt` writes
them). Read-only: must not change a ticket or send anything.

Column values (json; csv writes the same): instants ISO-8601 with offset, the strings
`tickets show --json` prints; `age_hours` is real hours since the ticket was created (one
decimal); `business_hours_left` is business hours of the SLA target left (two decimals,
negative once overrun); `missing` lists field codes (SPEC §3); `client_organisation` is the
organisation's name from `clients.toml`, else the client's mail domain; `owner` is the
staff address that owns the ticket, or null (issue 12).

Decisions:
- The SLA rules (start, pauses, first response, figures) are `domain.sla`'s;
  targets come from the client's plan in `config/clients.toml`.
- R-2 lists ANALIZA and W TRAKCIE only, as the procedure names the report; tickets
  waiting for developers are R-4's. R-2's `sla_due`/`business_hours_left` are those of
  the next open target: the first response while there has been none, else the
  resolution; `breached` is true when either target was overrun. `sla_due` is null while
  the clock is stopped (awaiting the client) before its target was reached.
- R-3 `sla_met`: both targets were met, measured at `resolved_at`.
- R-4 `eta` is the fix's ETA, or the release date once the fix waits for its release;
  `sla_due` is the resolution target; `eta_past_sla` is null without an ETA.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from mailintake.adapters import db
from mailintake.app import App
from mailintake.domain import deadlines, fields, sla
from mailintake.domain.businessdays import as_utc
from mailintake.domain.status import Status
from mailintake.services import reportfmt
from mailintake.services.views import iso

TITLES = {
    "r1": "R-1 Kolejka zgłoszeń w statusie NOWY",
    "r2": "R-2 Kolejka zgłoszeń w statusie ANALIZA lub W TRAKCIE z uwzględnieniem SLA",
    "r3": "R-3 Kolejka zgłoszeń w statusie ROZWIĄZANY z uwzględnieniem SLA",
    "r4": "R-4 Kolejka zgłoszeń w statusie CZEKA NA POPRAWKĘ lub CZEKA NA PUBLIKACJĘ "
    "z uwzględnieniem SLA",
}
COLUMNS = {
    "r1": ("key", "client", "client_organisation", "subject", "created", "age_hours", "missing",
           "attempts", "completion_due", "close_after"),
    "r2": ("key", "client", "client_organisation", "status", "sla_due", "business_hours_left",
           "breached", "awaiting_client", "suspended", "owner"),
    "r3": ("key", "client", "client_organisation", "resolved_at", "resolution", "sla_met",
           "auto_close_at", "owner"),
    "r4": ("key", "client_organisation", "status", "eta", "sla_due", "eta_past_sla",
           "client_accepted"),
}  # fmt: skip
# The statuses of each report's queue (also the queues the digest charts).
QUEUES = {
    "r1": (Status.NOWY,),
    "r2": (Status.ANALIZA, Status.W_TRAKCIE),
    "r3": (Status.ROZWIAZANY,),
    "r4": (Status.CZEKA_NA_POPRAWKE, Status.CZEKA_NA_PUBLIKACJE),
}
FORMATS = reportfmt.FORMATS
HOUR = timedelta(hours=1)


# -- SLA and the organisation -----------------------------------------------


def sla_of(session: Session, app: App, ticket: db.Ticket, now: datetime) -> sla.Sla:
    """The SLA of `ticket` as of `now` (`domain.sla`), from its stored times and history."""
    history = db.history_of(session, db.id_of(ticket))
    start = sla.sla_start(ticket.created_at, history)
    return sla.figures(
        start=start,
        first_response_at=sla.first_response(
            ticket.first_response_at, history, start, app.settings.staff
        ),
        resolved_at=ticket.resolved_at,
        targets=app.settings.clients.for_address(ticket.client_email).sla,
        cal=app.calendar,
        paused=sla.pauses(ticket.sla_paused),
        now=now,
    )


def resolution_due(session: Session, app: App, ticket: db.Ticket) -> datetime | None:
    """When the client's SLA resolution target falls (SPEC section 4); None while paused."""
    plan = app.settings.clients.for_address(ticket.client_email).sla
    start = sla.sla_start(ticket.created_at, db.history_of(session, db.id_of(ticket)))
    return deadlines.sla_due(start, plan.resolution_hours, app.calendar,
                             sla.pauses(ticket.sla_paused))  # fmt: skip


def organisation(app: App, ticket: db.Ticket) -> str:
    """The client organisation: its name in `clients.toml`, else the client's mail domain."""
    configured = app.settings.clients.for_address(ticket.client_email).name
    return configured or ticket.client_org or ticket.client_email.rpartition("@")[2].lower()


def _client(app: App, ticket: db.Ticket) -> dict[str, Any]:
    return {"client": ticket.client_email, "client_organisation": organisation(app, ticket)}


def _queue(session: Session, which: str) -> list[db.Ticket]:
    return [ticket for status in QUEUES[which] for ticket in db.tickets(session, status)]


# -- the reports -----------------------------------------------------------


def r1(app: App, now: datetime) -> list[dict[str, Any]]:
    """R-1: NOWY tickets, oldest first, with what is missing and the completion deadlines."""
    now = as_utc(now)
    with db.reading(app.engine) as session:
        return [
            {
                "key": t.key,
                **_client(app, t),
                "subject": t.subject,
                "created": iso(t.created_at),
                "age_hours": round((now - t.created_at) / HOUR, 1),
                "missing": fields.missing(t.fields or {}),
                "attempts": t.attempts,
                "completion_due": iso(t.completion_due),
                "close_after": iso(t.close_after),
            }
            for t in _queue(session, "r1")
        ]


def r2(app: App, now: datetime) -> list[dict[str, Any]]:
    """R-2: ANALIZA and W TRAKCIE with SLA, most urgent (fewest business hours left) first."""
    now = as_utc(now)
    rows = []
    with db.reading(app.engine) as session:
        for t in _queue(session, "r2"):
            figures = sla_of(session, app, t, now)
            rows.append({
                "key": t.key,
                **_client(app, t),
                "status": t.status,
                "sla_due": iso(figures.next_due),
                "business_hours_left": round(figures.next_left / HOUR, 2),
                "breached": figures.breached,
                "awaiting_client": t.awaiting_client,
                "suspended": t.suspended,
                "owner": t.owner,
            })  # fmt: skip
    return sorted(rows, key=lambda r: (r["business_hours_left"], r["key"]))


def r3(app: App, now: datetime) -> list[dict[str, Any]]:
    """R-3: ROZWIAZANY tickets, the next to close itself first, with whether the SLA was met."""
    now = as_utc(now)
    rows = []
    with db.reading(app.engine) as session:
        for t in _queue(session, "r3"):
            figures = sla_of(session, app, t, now)
            rows.append({
                "key": t.key,
                **_client(app, t),
                "resolved_at": iso(t.resolved_at),
                "resolution": t.resolution,
                "sla_met": not figures.breached,
                "auto_close_at": iso(t.auto_close_at),
                "owner": t.owner,
            })  # fmt: skip
    return sorted(rows, key=lambda r: (r["auto_close_at"] or "", r["key"]))


def r4(app: App, now: datetime) -> list[dict[str, Any]]:
    """R-4: waiting for a fix or its release, with the ETA against the SLA; soonest due first."""
    rows = []
    with db.reading(app.engine) as session:
        for t in _queue(session, "r4"):
            eta = t.release_date if t.status == Status.CZEKA_NA_PUBLIKACJE else None
            eta = eta or t.eta
            due = resolution_due(session, app, t)
            rows.append({
                "key": t.key,
                "client_organisation": organisation(app, t),
                "status": t.status,
                "eta": iso(eta),
                "sla_due": iso(due),
                "eta_past_sla": None if eta is None else sla.past_due(eta, due),
                "client_accepted": t.eta_accepted,
            })  # fmt: skip
    return sorted(rows, key=lambda r: (r["sla_due"] or "9999", r["key"]))


REPORTS: dict[str, Callable[[App, datetime], list[dict[str, Any]]]] = {
    "r1": r1,
    "r2": r2,
    "r3": r3,
    "r4": r4,
}


def render(
    app: App, which: str, fmt: str, now: datetime, *, width: int = 200, tty: bool = False
) -> str:
    """Report `which` (r1 … r4) as `fmt` (table, csv, json, excel); ValueError if unknown.

    `width` is the table's width in columns (a terminal's).
    """
    which, fmt = which.lower().replace("-", ""), fmt.lower()
    if which not in REPORTS:
        raise ValueError(f"unknown report {which!r}; expected r1, r2, r3 or r4")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    rows = REPORTS[which](app, now)
    if fmt == "json":
        return reportfmt.as_json(rows)
    if fmt == "csv":
        return reportfmt.as_csv(COLUMNS[which], rows, for_terminal=tty)
    if fmt == "excel":
        return reportfmt.as_excel(COLUMNS[which], rows, for_terminal=tty)
    title = f"{TITLES[which]} ({reportfmt.when(as_utc(now))})\n\n"
    return title + reportfmt.as_table(COLUMNS[which], rows, width=width)
