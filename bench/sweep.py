"""Benchmark 4 (issue 7): the deadline sweep over 100,000 tickets, against a bare query.

Owns: filling a fresh database (SQLite by default, PostgreSQL with `--db
postgres`) with tickets by bulk INSERT into the `Ticket` table of
`mailintake/adapters/db.py`, then timing `sweeps.run_sweeps(app, now)` when
nothing is due and when 1 % of the tickets (NOWY, data missing, past the first
reminder time) is due. The floor is one Core SELECT of the candidate rows
(the sweep's own first-look condition) with no ORM objects and no rules.
Must not change product code; the mix of statuses is an assumption stated below.

    .venv/bin/python bench/sweep.py [--count 100000] [--db sqlite|postgres]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from common import bench_app, database, machine, quiet_logs, state_dir, table

from mailintake.adapters import db
from mailintake.domain import deadlines
from mailintake.domain.businessdays import BusinessCalendar
from mailintake.domain.status import Status
from mailintake.services import sweeps

# Thursday 11:00 in Warsaw: inside business hours, two business days after DUE_START.
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
DUE_START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # both reminder times have passed
COMPLETE = {"scenario": "Raport R-12", "version": "6.1.111.111", "logs": True,
            "frequency": "always"}  # fmt: skip
# Shares of a support desk a few years in: mostly closed, some open work, few new tickets.
MIX = ((Status.ZAMKNIETY, 0.86), (Status.ANALIZA, 0.04), (Status.W_TRAKCIE, 0.04),
       (Status.CZEKA_NA_POPRAWKE, 0.02), (Status.ROZWIAZANY, 0.02))  # fmt: skip
NEW_SHARE = 0.01  # fresh NOWY tickets missing data: nothing due yet; these become "1 % due"


def ticket_rows(count: int, cal: BusinessCalendar, seed: int = 5) -> tuple[list[dict], list[int]]:
    """Rows for a bulk INSERT and the positions of the NOWY ones that are made due later."""
    rng = random.Random(seed)
    template = db.Ticket(status=Status.ZAMKNIETY, client_email="x@example.pl",
                         created_at=NOW, updated_at=NOW).model_dump(exclude={"id"})  # fmt: skip
    statuses = [s for s, share in MIX for _ in range(round(share * count))]
    new = round(NEW_SHARE * count)
    statuses = (statuses + [Status.ZAMKNIETY] * count)[: count - new] + [Status.NOWY] * new
    rng.shuffle(statuses)
    rows, fresh = [], []
    for index, status in enumerate(statuses):
        created = NOW - timedelta(days=rng.uniform(0.1, 900))
        row = {**template, "key": f"LOG-{index + 1:06d}", "status": status,
               "client_email": f"klient{index}@firma{index % 700}.pl", "subject": "Błąd raportu",
               "created_at": created, "updated_at": created, "clock_start": created,
               "fields": COMPLETE}  # fmt: skip
        if status == Status.NOWY:
            fresh.append(index)
            start = NOW - timedelta(hours=1)
            row.update(created_at=start, clock_start=start, fields={"scenario": "Raport R-12"},
                       completion_due=deadlines.completion_due(start, cal))  # fmt: skip
        elif status == Status.ROZWIAZANY:
            row.update(resolved_at=NOW - timedelta(hours=10),
                       auto_close_at=NOW + timedelta(hours=62))  # fmt: skip
        elif status == Status.ZAMKNIETY:
            row.update(closed_at=created + timedelta(days=3), close_reason="resolved")
        rows.append(row)
    return rows, fresh


def fill(engine: sa.Engine, rows: list[dict], chunk: int = 5000) -> float:
    started = time.perf_counter()
    with engine.begin() as conn:
        for start in range(0, len(rows), chunk):
            conn.execute(sa.insert(db.Ticket.__table__), rows[start : start + chunk])
    return time.perf_counter() - started


def make_due(engine: sa.Engine, keys: list[str], cal: BusinessCalendar) -> None:
    """The fresh NOWY tickets started two business days ago: the reminder is due."""
    table_ = db.Ticket.__table__
    due = deadlines.completion_due(DUE_START, cal)
    with engine.begin() as conn:
        conn.execute(table_.update().where(table_.c.key.in_(keys))
                     .values(clock_start=DUE_START, created_at=DUE_START,
                             completion_due=due))  # fmt: skip


def floor_query(engine: sa.Engine) -> int:
    """The sweep's candidate rows by one Core SELECT: no ORM objects, no deadline rules."""
    t = db.Ticket.__table__.c
    query = sa.select(t.id, t.status, t.fields, t.clock_start, t.reminders_sent, t.attempts,
                      t.last_attempt_at, t.auto_close_at, t.awaiting_client).where(
        sa.or_(t.status == Status.NOWY,
               sa.and_(t.status == Status.ROZWIAZANY, t.auto_close_at <= NOW),
               sa.and_(t.awaiting_client, sa.not_(t.suspended))))  # fmt: skip
    with engine.connect() as conn:
        return len(conn.execute(query).all())


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--repeat", type=int, default=3, help="runs of the nothing-due case")
    args = parser.parse_args()
    quiet_logs()
    with state_dir("mi-bench-sweep") as state, database(args.db, state) as url:
        app = bench_app(state, database_url=url)
        rows, fresh = ticket_rows(args.count, app.calendar)
        print(f"inserted {len(rows)} tickets in {fill(app.engine, rows):.1f} s ({args.db})")
        results = []
        seconds, n = timed(lambda: floor_query(app.engine), args.repeat)
        results.append(("floor: candidate SELECT", seconds, f"{n} rows"))
        seconds, counts = timed(lambda: sweeps.run_sweeps(app, NOW), args.repeat)
        results.append(("run_sweeps, nothing due", seconds, _taken(counts)))
        make_due(app.engine, [rows[i]["key"] for i in fresh], app.calendar)
        seconds, n = timed(lambda: floor_query(app.engine), 1)
        results.append((f"floor: candidate SELECT ({len(fresh)} due)", seconds, f"{n} rows"))
        seconds, counts = timed(lambda: sweeps.run_sweeps(app, NOW), 1)
        results.append((f"run_sweeps, {len(fresh)} due (1 %)", seconds, _taken(counts)))
        seconds, counts = timed(lambda: sweeps.run_sweeps(app, NOW), 1)
        results.append(("run_sweeps again, same instant", seconds, _taken(counts)))
        app.close()
    print(f"\nmachine: {machine()}\n{args.count} tickets, db {args.db}\n")
    floor = results[0][1]
    print(table(["run", "s", "× floor", "actions"],
                [(label, s, f"{s / floor:.1f}", note) for label, s, note in results]))  # fmt: skip


def _taken(counts: object) -> str:
    if not isinstance(counts, dict):
        return str(counts)
    return ", ".join(f"{k} {v}" for k, v in counts.items() if v) or "none"


if __name__ == "__main__":
    main()
