"""Benchmark 1 (issue 7): backlog throughput against the floor of fetching and parsing alone.

Owns: one throw-away Dovecot holding two identical mailboxes per corpus; the
floor reads one (batched `UID FETCH … BODY.PEEK[]` + `mailparser.parse_from_bytes`,
nothing stored), the project runs `daemon.run_once(app)` on the other with the
real database, blob store and an aiosmtpd server for the replies. Prints
msgs/s, MB/s and the ratio. Must not change product code or settings beyond
pointing them at the throw-away servers.

    .venv/bin/python bench/throughput.py [--count 2000] [--corpus small mixed]
        [--db sqlite|postgres] [--synchronous full|normal] [--profile bench/profile.txt]

The "CPU s" column is this process's CPU time (aiosmtpd runs in it too): on a shared
machine wall time drifts with the other load, CPU time much less.
`--synchronous normal` runs SQLite without a disk sync per commit (what mailintake
did before issue 11): the A/B of durable commits.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import mailparser
from common import (
    MB,
    append_all,
    bench_app,
    corpus,
    database,
    dovecot_server,
    machine,
    quiet_logs,
    smtp_server,
    state_dir,
    table,
)
from sqlmodel import select

from mailintake import daemon
from mailintake.adapters import database as connection
from mailintake.adapters import db
from mailintake.services import outbox


@dataclass
class Run:
    label: str
    count: int
    size: int
    seconds: float
    cpu: float  # CPU seconds of this process (the machine is shared: wall time drifts)
    note: str = ""

    @property
    def per_second(self) -> float:
        return self.count / self.seconds

    @property
    def mb_per_second(self) -> float:
        return self.size / MB / self.seconds


def floor(dovecot, user: str, batch: int = 100) -> tuple[int, int, float, float]:
    """Fetch every message in batches and parse it, storing nothing:
    (count, bytes, seconds, CPU seconds)."""
    started, cpu = time.perf_counter(), time.process_time()
    client = dovecot.client(user)  # sets client._imap.debug = 0 (issue 7: 5-7x on bulk FETCH)
    client.select_folder("INBOX", readonly=True)
    uids = sorted(client.search("ALL"))
    count = size = 0
    for start in range(0, len(uids), batch):
        data = client.fetch(uids[start : start + batch], ["BODY.PEEK[]"])
        for item in data.values():
            raw = item[b"BODY[]"]
            mailparser.parse_from_bytes(raw)
            count, size = count + 1, size + len(raw)
    client.logout()
    return count, size, time.perf_counter() - started, time.process_time() - cpu


def project(
    dovecot, user: str, smtp, db_kind: str, profile: Path | None
) -> tuple[float, float, float, dict]:
    """`run_once` on `user`'s INBOX: (run_once seconds, + outbox drain seconds, run_once CPU
    seconds, outcomes)."""
    with state_dir("mi-bench-tp") as state, database(db_kind, state) as url:
        app = bench_app(state, database_url=url, dovecot=dovecot, user=user, smtp=smtp)
        profiler = _profiler(profile)
        try:
            started, cpu = time.perf_counter(), time.process_time()
            result = daemon.run_once(app)
            once, cpu = time.perf_counter() - started, time.process_time() - cpu
            # run_once flushes at most outbox.flush's limit; the rest waits for the next pass.
            while outbox.flush(app)["sent"]:
                pass
            drained = time.perf_counter() - started
            held = _quarantine_reasons(app)
        finally:
            if profiler is not None:
                profiler.stop()
                profile.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
                print(f"profile written to {profile}")
            app.close()
    return once, drained, cpu, {**result.outcomes, **held}


def _quarantine_reasons(app) -> dict[str, int]:
    """Why messages were quarantined: a benchmark that quarantines measures the wrong path."""
    with db.reading(app.engine) as session:
        reasons = session.exec(select(db.QuarantineRow.reason)).all()
    return {f"quarantine reason: {k[:120]}": v for k, v in Counter(reasons).items()}


def _profiler(path: Path | None):
    if path is None:
        return None
    from pyinstrument import Profiler  # bench-only tool: .venv/bin/pip install pyinstrument

    profiler = Profiler(interval=0.001)
    profiler.start()
    return profiler


def _sqlite_without_sync_per_commit() -> None:
    """Every SQLite commit of this run with synchronous=NORMAL (no disk sync per commit)."""
    connection.DURABLE_SYNC = "NORMAL"  # bench-only: the product has no such switch


def bench_corpus(kind: str, count: int, db_kind: str, profile: Path | None) -> list[Run]:
    with dovecot_server() as dovecot, smtp_server() as smtp:
        floor_user, project_user = dovecot.new_user(), dovecot.new_user()
        started = time.perf_counter()
        n, size = append_all(dovecot, [floor_user, project_user], corpus(kind, count))
        print(f"{kind}: appended {n} mails ({size / MB:.1f} MB) to 2 mailboxes "
              f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
        f_count, f_size, f_seconds, f_cpu = floor(dovecot, floor_user)
        once, drained, cpu, outcomes = project(dovecot, project_user, smtp, db_kind, profile)
        replies = len(smtp.messages)
    note = f"{outcomes}; {replies} replies at SMTP"
    return [
        Run(f"{kind}: floor (fetch+parse)", f_count, f_size, f_seconds, f_cpu),
        Run(f"{kind}: run_once ({db_kind})", n, size, once, cpu, note),
        Run(f"{kind}: run_once + outbox drained", n, size, drained, cpu),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="mails per mailbox")
    parser.add_argument("--corpus", nargs="+", default=["small", "mixed"],
                        choices=["small", "mixed"])  # fmt: skip
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--profile", type=Path, help="pyinstrument text profile of run_once")
    parser.add_argument("--synchronous", default="full", choices=["full", "normal"],
                        help="SQLite's synchronous (normal: no sync per commit, for the A/B)")  # fmt: skip
    args = parser.parse_args()
    quiet_logs()
    if args.synchronous == "normal":
        _sqlite_without_sync_per_commit()
    runs: list[Run] = []
    for kind in args.corpus:
        runs += bench_corpus(kind, args.count, args.db, args.profile)
    print(f"\nmachine: {machine()}\n")
    rows = []
    for run in runs:
        base = next(r for r in runs if r.label.split(":")[0] == run.label.split(":")[0])
        rows.append((run.label, run.count, f"{run.size / MB:.1f}", run.seconds, run.per_second,
                     run.mb_per_second, f"{run.per_second / base.per_second:.2f}", run.cpu,
                     f"{base.cpu / run.cpu:.2f}"))  # fmt: skip
    print(table(["run", "msgs", "MB", "s", "msgs/s", "MB/s", "× floor", "CPU s",
                 "× floor CPU"], rows))  # fmt: skip
    for run in runs:
        if run.note:
            print(f"{run.label}: {run.note}")


if __name__ == "__main__":
    main()
