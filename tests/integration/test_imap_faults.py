"""The mailbox refusing a command never stops the daemon (issue 11): real Dovecot, real refusals.

A `NO` on MOVE (the Processed folder cannot take mail), a folder deleted under
the running daemon, the inbox folder itself gone: each is a transient fault.
The message stays where it is, the loop backs off and retries, and it says what
is wrong in its log, its error counter and `/healthz`; once the cause is gone
the mail is handled, once.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
import structlog

from mailintake import daemon
from mailintake.adapters import db
from mailintake.adapters.metrics import Metrics
from mailintake.adapters.sdnotify import Notifier
from tests.e2e.test_service import notify_socket, pending_lines
from tests.integration.test_resilience import CLIENT, Desk, _wait_until
from tests.mails import INCOMPLETE_BODY, client_mail

pytestmark = pytest.mark.dovecot


class Watched:
    """`daemon.run` in a thread with the monitors `mailintake run` wires: metrics, sd_notify."""

    def __init__(self, desk: Desk, notify_address: str | None = None) -> None:
        self.desk, self.stop = desk, threading.Event()
        self.metrics = Metrics(desk.app.engine, poll_interval=desk.app.settings.poll_seconds)
        self.notifier = Notifier(notify_address)
        monitor = daemon.Monitors(self.metrics, self.notifier)
        self.thread = threading.Thread(
            target=daemon.run, args=(desk.app, self.stop),
            kwargs={"monitor": monitor}, daemon=True,
        )  # fmt: skip

    def __enter__(self) -> Watched:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=60)
        self.notifier.close()
        assert not self.thread.is_alive()

    def errors(self) -> float:
        return sum(
            sample.value
            for metric in self.metrics.errors.collect()
            for sample in metric.samples
            if sample.name.endswith("_total")
        )


def maildir_folder(desk: Desk, folder: str) -> Path:
    return desk.dovecot.base / "home" / desk.user / "Maildir" / f".{folder}"


def set_writable(path: Path, writable: bool) -> None:
    for directory in (path, path / "cur", path / "new", path / "tmp"):
        os.chmod(directory, 0o755 if writable else 0o555)


@pytest.fixture
def desk(tmp_path, dovecot, smtp_server):
    d = Desk(tmp_path, dovecot, smtp_server)
    yield d
    d.app.close()


def test_a_refused_move_keeps_the_mail_in_the_inbox_and_the_daemon_up(desk):
    """MOVE answered NO: the mail waits in INBOX, the fault is logged, counted and in /healthz."""
    with desk.dovecot.session(desk.user) as client:
        client.create_folder("Processed")
    set_writable(maildir_folder(desk, "Processed"), False)
    desk.deliver(client_mail(body=INCOMPLETE_BODY))
    try:
        with (
            notify_socket() as (address, sock),
            structlog.testing.capture_logs() as logs,
            Watched(desk, address) as running,
        ):
            assert _wait_until(lambda: sum(e["event"] == "daemon.retry" for e in logs) >= 2)
            assert running.thread.is_alive()
            assert desk.folder("INBOX") == 1
            assert running.errors() >= 2
            assert _wait_until(lambda: running.metrics.health_problem() is not None)
            assert "SERVERBUG" in running.metrics.health_problem()
            status = [line for line in pending_lines(sock) if line.startswith("STATUS=")]
            assert "SERVERBUG" in status[-1]  # what `systemctl status` shows
            set_writable(maildir_folder(desk, "Processed"), True)
            assert _wait_until(lambda: desk.folder("Processed") == 1 and desk.folder("INBOX") == 0)
            assert _wait_until(lambda: running.metrics.health_problem() is None)
    finally:
        set_writable(maildir_folder(desk, "Processed"), True)
    retries = [e for e in logs if e["event"] == "daemon.retry"]
    assert all("move" in e["error"].lower() for e in retries)
    assert len(desk.rows(db.Ticket)) == 1
    assert len(desk.to(CLIENT)) == 1


def test_a_folder_deleted_under_the_daemon_is_made_again(desk):
    """Processed deleted while the daemon runs: the next MOVE fails, the one after recreates it."""
    desk.deliver(client_mail(body=INCOMPLETE_BODY))
    with Watched(desk) as running:
        assert _wait_until(lambda: desk.folder("Processed") == 1)
        with desk.dovecot.session(desk.user) as client:
            client.delete_folder("Processed")
        desk.deliver(client_mail(body=INCOMPLETE_BODY, sender="second@example.pl"))
        assert _wait_until(lambda: desk.folder("INBOX") == 0 and desk.folder("Processed") == 1)
        assert running.thread.is_alive()
    assert len(desk.rows(db.Ticket)) == 2


def test_the_inbox_folder_deleted_under_the_daemon_is_waited_for(tmp_path, dovecot, smtp_server):
    """The configured folder vanishes: the daemon says so and reads it again once it is back."""
    desk = Desk(tmp_path, dovecot, smtp_server)
    user = desk.user
    desk.app.settings = desk.app.settings.__class__(
        **{**desk.app.settings.__dict__, "inbox_url": dovecot.url(user, "Support")}
    )
    dovecot.append(user, client_mail(body=INCOMPLETE_BODY), folder="Support")
    try:
        with structlog.testing.capture_logs() as logs, Watched(desk) as running:
            assert _wait_until(lambda: desk.folder("Processed") == 1)
            with dovecot.session(user) as client:
                client.delete_folder("Support")
            assert _wait_until(lambda: any("Support" in e.get("error", "") for e in logs))
            assert running.thread.is_alive()
            dovecot.append(
                user, client_mail(body=INCOMPLETE_BODY, sender="b@example.pl"), folder="Support"
            )
            assert _wait_until(lambda: desk.folder("Processed") == 2)
    finally:
        desk.app.close()
    assert len(desk.rows(db.Ticket)) == 2
