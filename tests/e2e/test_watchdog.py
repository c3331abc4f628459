"""Long work keeps the service alive and healthy (issue 11): the watchdog and `/healthz`.

A backlog flushed through a slow SMTP server takes far longer than a poll
interval; systemd must keep hearing WATCHDOG=1 all along (`WatchdogSec=120`
would otherwise kill the daemon mid-send) and `/healthz` must stay 200 while
the pass makes progress. The unit's `TimeoutStopSec` leaves room for the
longest network timeout we set and the outbox flush on the way out.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from dataclasses import dataclass

import pytest

from mailintake import daemon as daemon_module
from mailintake.adapters import mailer
from mailintake.adapters.inbox import imap
from mailintake.services import intake, outboxops
from tests.apps import make_app
from tests.e2e.daemon_process import Daemon, daemon_env
from tests.e2e.test_cli import cli
from tests.e2e.test_service import http_get, notify_socket
from tests.integration.test_systemd_unit import UNIT
from tests.mails import INCOMPLETE_BODY, client_mail
from tests.servers import CollectingHandler, SmtpServer, free_port

pytestmark = [pytest.mark.slow, pytest.mark.dovecot]

BACKLOG = 12
SEND_SECONDS = 0.4


@dataclass
class SlowHandler(CollectingHandler):
    """Takes SEND_SECONDS over every message: a mail server under load."""

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        await asyncio.sleep(SEND_SECONDS)
        return await super().handle_DATA(server, session, envelope)


def app_ingest(app, sender: str) -> None:
    """A client's first mail taken in; its reply queued, not sent."""
    assert intake.handle_message(app, client_mail(body=INCOMPLETE_BODY, sender=sender)).ticket


def wait_until(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def watchdog_times(sock: socket.socket, stop: threading.Event, into: list[float]) -> None:
    sock.settimeout(0.1)
    while not stop.is_set():
        try:
            lines = sock.recv(4096).decode().splitlines()
        except TimeoutError:
            continue
        if "WATCHDOG=1" in lines:
            into.append(time.monotonic())


def test_a_long_outbox_flush_pings_the_watchdog_and_stays_healthy(tmp_path, dovecot):
    """12 replies at 0.4 s each (5 s, poll 0.2 s): WATCHDOG=1 every second, /healthz 200 throughout."""
    state, port = tmp_path / "state", free_port()
    user = dovecot.new_user()
    slow = SmtpServer(port=free_port(), handler=SlowHandler())
    env = daemon_env(state, INBOX_URL=dovecot.url(user), IMAP_PASSWORD=dovecot.password,
                     SMTP_URL=slow.url, POLL_SECONDS="0.2", METRICS_ADDRESS=f"127.0.0.1:{port}")  # fmt: skip
    for n in range(BACKLOG):  # queued while the server is away: the daemon's first flush sends all
        cli(state, "ingest", "--no-send", "-", env=env,
            stdin=client_mail(body=INCOMPLETE_BODY, sender=f"k{n}@example.pl"))  # fmt: skip
    slow.start()
    pings: list[float] = []
    statuses: list[int] = []
    with notify_socket() as (address, sock):
        listening = threading.Event()
        listener = threading.Thread(target=watchdog_times, args=(sock, listening, pings))
        listener.start()
        daemon = Daemon(tmp_path / "daemon.log", env | {"NOTIFY_SOCKET": address})
        try:
            daemon.wait_for_event("daemon.ready")
            first = time.monotonic()
            while len(slow.messages) < BACKLOG and time.monotonic() - first < 60:
                statuses.append(http_get(f"http://127.0.0.1:{port}/healthz")[0])
                time.sleep(0.1)
            flushed = time.monotonic()
        finally:
            code = daemon.stop()
            listening.set()
            listener.join()
            slow.stop()
    assert code == 0 and len(slow.messages) == BACKLOG
    during = [t for t in pings if first <= t <= flushed]
    gaps = [b - a for a, b in zip([first, *during], [*during, flushed], strict=True)]
    assert flushed - first > 3  # the flush really was long: many poll intervals
    assert max(gaps) < 1.5, gaps
    assert set(statuses) == {200}, statuses


def test_timeout_stop_sec_outlasts_the_longest_network_wait_and_the_last_flush():
    """systemd waits on SIGTERM longer than an IMAP or SMTP exchange plus the final flush."""
    match = re.search(r"^TimeoutStopSec=(\d+)$", UNIT.read_text(), re.MULTILINE)
    assert match, "TimeoutStopSec missing from the unit"
    longest_wait = max(imap.IMAP_TIMEOUT, mailer.SMTP_TIMEOUT)
    assert int(match.group(1)) > daemon_module.STOP_FLUSH_SECONDS + 2 * longest_wait


def test_a_stop_during_a_long_flush_ends_within_the_budget_and_loses_nothing(
    tmp_path, dovecot, monkeypatch
):
    """SIGTERM's stop mid-backlog: the flush ends within STOP_FLUSH_SECONDS; the rest waits, pending."""
    monkeypatch.setattr(daemon_module, "STOP_FLUSH_SECONDS", 1)
    slow = SmtpServer(port=free_port(), handler=SlowHandler())
    state = tmp_path / "state"
    env = {"SMTP_URL": slow.url, "INBOX_URL": dovecot.url(dovecot.new_user()),
           "IMAP_PASSWORD": dovecot.password, "POLL_SECONDS": "0.2", "IMAP_IDLE": "false"}  # fmt: skip
    app = make_app(state, **env)
    for n in range(BACKLOG):
        app_ingest(app, f"k{n}@example.pl")
    slow.start()
    stop = threading.Event()
    runner = threading.Thread(target=daemon_module.run, args=(app, stop))
    try:
        runner.start()
        assert wait_until(lambda: len(slow.messages) >= 2)
        stop.set()
        stopped = time.monotonic()
        runner.join(timeout=30)
        took = time.monotonic() - stopped
    finally:
        stop.set()
        slow.stop()
    statuses = sorted(row["status"] for row in outboxops.list_rows(app))
    app.close()
    assert not runner.is_alive()
    assert took < 1 + 3 * SEND_SECONDS  # the budget, the send in hand and its record
    assert "sending" not in statuses and statuses.count("pending") > 0
    assert statuses.count("sent") == len(slow.messages)
