"""Benchmark 2 (issue 7): pickup latency of the running daemon (IMAP IDLE) against the floor.

Owns: a throw-away Dovecot with two mailboxes that get the same mail at the
same moments (random gaps of 50-500 ms). The floor is a bare imapclient that
IDLEs on one mailbox and, on each notice, fetches and parses the new mail. The
project is `daemon.run(app, stop)` in a thread on the other mailbox, SQLite
and an aiosmtpd server. Measured: APPEND done → floor parsed; APPEND done →
intake row committed (SQLAlchemy `after_commit`, observed without touching the
product); APPEND done → reply received by the SMTP server. Prints p50, p95, max.

    .venv/bin/python bench/latency.py [--count 200] [--db sqlite|postgres]
"""

from __future__ import annotations

import argparse
import random
import threading
import time
from email.parser import BytesHeaderParser

import mailparser
from aiosmtpd.smtp import SMTP, Envelope, Session
from common import (
    CollectingHandler,
    SmtpServer,
    bench_app,
    corpus,
    database,
    dovecot_server,
    free_port,
    machine,
    percentile,
    quiet_logs,
    state_dir,
    table,
)
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession

from mailintake import daemon
from mailintake.adapters import db


def _mid(value: str | None) -> str:
    return (value or "").strip().strip("<>")


class CommitClock:
    """Wall time at which each intake row's transaction committed, by Message-ID."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        event.listen(OrmSession, "after_flush", self._after_flush)
        event.listen(OrmSession, "after_commit", self._after_commit)

    def _after_flush(self, session: OrmSession, _context: object) -> None:
        ids = [row.message_id for row in session.new if isinstance(row, db.IntakeRow)]
        session.info.setdefault("bench_mids", []).extend(ids)

    def _after_commit(self, session: OrmSession) -> None:
        now = time.time()
        for mid in session.info.pop("bench_mids", []):
            self.at.setdefault(_mid(mid), now)


class TimedHandler(CollectingHandler):
    """Keeps the arrival time of each reply, by the client Message-ID it answers."""

    def __init__(self) -> None:
        super().__init__()
        self.replied_at: dict[str, float] = {}

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        now = time.time()
        headers = BytesHeaderParser().parsebytes(envelope.content)
        self.replied_at.setdefault(_mid(headers.get("In-Reply-To")), now)
        return await super().handle_DATA(server, session, envelope)


def floor_watcher(dovecot, user: str, stop: threading.Event, parsed_at: dict[str, float],
                  ready: threading.Event) -> None:  # fmt: skip
    """IDLE on `user`'s INBOX; on every notice fetch the new mail and parse it."""
    client = dovecot.client(user)
    client.select_folder("INBOX")
    last_uid = 0
    ready.set()
    while not stop.is_set():
        client.idle()
        while not stop.is_set():
            if any(len(r) > 1 and r[1] == b"EXISTS" for r in client.idle_check(timeout=0.2)):
                break
        client.idle_done()
        # `n:*` always names the newest message, even below n (RFC 3501 §6.4.8): filter.
        new = [uid for uid in client.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid]
        for uid, item in (client.fetch(new, ["BODY.PEEK[]"]) if new else {}).items():
            mail = mailparser.parse_from_bytes(item[b"BODY[]"])
            parsed_at.setdefault(_mid(mail.message_id), time.time())
            last_uid = max(last_uid, uid)
    client.logout()


def append_slowly(dovecot, users: list[str], mails: list[bytes], seed: int) -> dict[str, dict]:
    """APPEND each mail to every mailbox after a random 50-500 ms gap; (user -> mid -> time)."""
    rng = random.Random(seed)
    clients = {user: dovecot.client(user) for user in users}
    appended: dict[str, dict[str, float]] = {user: {} for user in users}
    for index, raw in enumerate(mails):
        time.sleep(rng.uniform(0.05, 0.5))
        mid = _mid(BytesHeaderParser().parsebytes(raw)["Message-ID"])
        order = users if index % 2 else list(reversed(users))  # neither mailbox always first
        for user in order:
            clients[user].append("INBOX", raw)
            appended[user][mid] = time.time()  # the mail is in the mailbox once APPEND is done
    for client in clients.values():
        client.logout()
    return appended


def delays(start: dict[str, float], end: dict[str, float]) -> list[float]:
    return sorted(end[mid] - t for mid, t in start.items() if mid in end)


def wait_until(done, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    quiet_logs()
    mails = list(corpus("small", args.count, seed=args.seed))
    commits = CommitClock()
    handler = TimedHandler()
    smtp = SmtpServer(port=free_port(), handler=handler)
    smtp.start()
    with dovecot_server() as dovecot, state_dir("mi-bench-lat") as state, \
            database(args.db, state) as url:  # fmt: skip
        floor_user, project_user = dovecot.new_user(), dovecot.new_user()
        app = bench_app(state, database_url=url, dovecot=dovecot, user=project_user, smtp=smtp)
        stop = threading.Event()
        floor_ready, daemon_ready = threading.Event(), threading.Event()
        parsed_at: dict[str, float] = {}
        threads = [
            threading.Thread(target=floor_watcher,
                             args=(dovecot, floor_user, stop, parsed_at, floor_ready)),
            threading.Thread(target=daemon.run, args=(app, stop, daemon_ready.set)),
        ]  # fmt: skip
        for thread in threads:
            thread.start()
        floor_ready.wait(30)
        daemon_ready.wait(30)
        time.sleep(1.0)  # both are IDLE now
        appended = append_slowly(dovecot, [floor_user, project_user], mails, args.seed)
        wait_until(lambda: len(handler.replied_at) >= args.count, timeout=120)
        wait_until(lambda: len(parsed_at) >= args.count, timeout=30)
        stop.set()
        for thread in threads:
            thread.join(60)
        app.close()
    smtp.stop()
    floor = delays(appended[floor_user], parsed_at)
    committed = delays(appended[project_user], commits.at)
    replied = delays(appended[project_user], handler.replied_at)
    print(f"\nmachine: {machine()}\n{args.count} mails, gaps 50-500 ms, db {args.db}\n")
    rows = []
    for label, values in (("floor: APPEND → IDLE notice, fetched, parsed", floor),
                          ("project: APPEND → ticket committed", committed),
                          ("project: APPEND → reply at SMTP server", replied)):  # fmt: skip
        rows.append((label, len(values), percentile(values, 50), percentile(values, 95),
                     max(values, default=float("nan"))))  # fmt: skip
    print(table(["path", "n", "p50 s", "p95 s", "max s"], rows))
    p95_floor = rows[0][3]
    print(f"\np95 ratio to floor: committed {rows[1][3] / p95_floor:.2f}×, "
          f"reply {rows[2][3] / p95_floor:.2f}×")  # fmt: skip


if __name__ == "__main__":
    main()
