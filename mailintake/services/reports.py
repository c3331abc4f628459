"""The internal reports R-1, R-2 and R-3 (SPEC section 8) and the SLA of a ticket (SPEC section 4).

Owns: which tickets each report lists, its exact columns, reading a ticket's
SLA figures (due, business hours left, breached, met; the rules are
`domain.sla`'s) from storage, and the three output formats:
`table` (aligned, Warsaw local times, for a terminal and the digest), `csv`
and `json` (ISO-8601 instants with offset, the same strings `tickets show
--json` prints). Read-only: must not change a ticket or send anything.

Column values in csv/json: `age` is real hours since the ticket was created
(one decimal); `business_hours_left` is business hours of the SLA target left
(two decimals, negative once overrun); `missing` lists field codes (SPEC §3).

Decisions:
- The SLA rules (start, pauses, first response, figures) are `domain.sla`'s;
  targets come from the client's plan in `config/clients.toml`.
- R-2 lists ANALIZA and W TRAKCIE only, as the procedure names the report
  ("Kolejka zgłoszeń w statusie ANALIZA lub W TRAKCIE"); tickets waiting for
  a fix or a release run on the ETA the client was asked to accept (SPEC §4).
  Its `sla_due`/`business_hours_left` are those of the next open target: the
  first response while there has been none, else the resolution; `breached`
  is true when either target was overrun. `sla_due` is null while the clock
  is stopped (awaiting the client) before its target was reached.
- R-3 `sla_met`: both targets were met, measured at `resolved_at`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from mailintake.adapters import db
from mailintake.app import App
from mailintake.domain import fields, sla
from mailintake.domain.businessdays import as_utc
from mailintake.domain.status import Status
from mailintake.services.tickets import local_time
from mailintake.services.views import iso

TITLES = {
    "r1": "R-1 Kolejka zgłoszeń w statusie NOWY",
    "r2": "R-2 Kolejka zgłoszeń w statusie ANALIZA lub W TRAKCIE z uwzględnieniem SLA",
    "r3": "R-3 Kolejka zgłoszeń w statusie ROZWIĄZANY z uwzględnieniem SLA",
}
COLUMNS = {
    "r1": ("key", "client", "subject", "created", "age", "missing", "attempts",
           "completion_due", "close_after"),
    "r2": ("key", "client", "status", "sla_due", "business_hours_left", "breached",
           "awaiting_client", "suspended"),
    "r3": ("key", "client", "resolved_at", "resolution", "sla_met", "auto_close_at"),
}  # fmt: skip
R2_STATUSES = (Status.ANALIZA, Status.W_TRAKCIE)
FORMATS = ("table", "csv", "json")
HOUR = timedelta(hours=1)


# -- SLA -------------------------------------------------------------------


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


# -- the reports -----------------------------------------------------------


def r1(app: App, now: datetime) -> list[dict[str, Any]]:
    """R-1: NOWY tickets, oldest first, with what is missing and the completion deadlines."""
    now = as_utc(now)
    with db.reading(app.engine) as session:
        return [
            {
                "key": t.key,
                "client": t.client_email,
                "subject": t.subject,
                "created": iso(t.created_at),
                "age": round((now - t.created_at) / HOUR, 1),
                "missing": fields.missing(t.fields or {}),
                "attempts": t.attempts,
                "completion_due": iso(t.completion_due),
                "close_after": iso(t.close_after),
            }
            for t in db.tickets(session, Status.NOWY)
        ]


def r2(app: App, now: datetime) -> list[dict[str, Any]]:
    """R-2: ANALIZA and W TRAKCIE with SLA, most urgent (fewest business hours left) first."""
    now = as_utc(now)
    rows = []
    with db.reading(app.engine) as session:
        for status in R2_STATUSES:
            for t in db.tickets(session, status):
                figures = sla_of(session, app, t, now)
                rows.append({
                    "key": t.key,
                    "client": t.client_email,
                    "status": t.status,
                    "sla_due": iso(figures.next_due),
                    "business_hours_left": round(figures.next_left / HOUR, 2),
                    "breached": figures.breached,
                    "awaiting_client": t.awaiting_client,
                    "suspended": t.suspended,
                })  # fmt: skip
    return sorted(rows, key=lambda r: (r["business_hours_left"], r["key"]))


def r3(app: App, now: datetime) -> list[dict[str, Any]]:
    """R-3: ROZWIAZANY tickets, the next to close itself first, with whether the SLA was met."""
    now = as_utc(now)
    rows = []
    with db.reading(app.engine) as session:
        for t in db.tickets(session, Status.ROZWIAZANY):
            figures = sla_of(session, app, t, now)
            rows.append({
                "key": t.key,
                "client": t.client_email,
                "resolved_at": iso(t.resolved_at),
                "resolution": t.resolution,
                "sla_met": not figures.breached,
                "auto_close_at": iso(t.auto_close_at),
            })  # fmt: skip
    return sorted(rows, key=lambda r: (r["auto_close_at"] or "", r["key"]))


REPORTS: dict[str, Callable[[App, datetime], list[dict[str, Any]]]] = {
    "r1": r1,
    "r2": r2,
    "r3": r3,
}


# -- formats ---------------------------------------------------------------


def render(app: App, which: str, fmt: str, now: datetime) -> str:
    """Report `which` (r1, r2, r3) as `fmt` (table, csv, json); ValueError for unknown names."""
    which, fmt = which.lower().replace("-", ""), fmt.lower()
    if which not in REPORTS:
        raise ValueError(f"unknown report {which!r}; expected r1, r2 or r3")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected table, csv or json")
    rows = REPORTS[which](app, now)
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        return as_csv(COLUMNS[which], rows)
    return f"{TITLES[which]} ({local_time(as_utc(now))})\n\n" + as_table(COLUMNS[which], rows)


def as_csv(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_cell(row[c]) for c in columns])
    return out.getvalue()


def _csv_cell(value: Any) -> Any:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def table_cells(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> list[list[str]]:
    """Rows as the strings a person reads: Warsaw local times, yes/no, '-' for nothing."""
    return [[_cell(column, row[column]) for column in columns] for row in rows]


def as_table(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    if not rows:
        return "(brak zgłoszeń / no tickets)\n"
    cells = table_cells(columns, rows)
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = [columns, ["-" * w for w in widths], *cells]
    return "".join(
        "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() + "\n"
        for line in lines
    )


def _cell(column: str, value: Any) -> str:
    if value is None or value == []:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if column == "status":
        return Status(value).display
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, str) and column in ISO_COLUMNS:
        return local_time(datetime.fromisoformat(value))
    return str(value)


ISO_COLUMNS = frozenset(
    {"created", "completion_due", "close_after", "sla_due", "resolved_at", "auto_close_at"}
)


def digest_context(app: App, now: datetime) -> dict[str, Any]:
    """The three reports for the daily digest mail: titles, headers and readable cells."""
    reports = []
    for which, build in REPORTS.items():
        rows = build(app, now)
        reports.append({
            "code": which.upper().replace("R", "R-"),
            "title": TITLES[which],
            "columns": list(COLUMNS[which]),
            "rows": table_cells(COLUMNS[which], rows),
            "table": as_table(COLUMNS[which], rows),
            "count": len(rows),
        })  # fmt: skip
    return {"reports": reports, "date": local_time(as_utc(now))[:10]}
