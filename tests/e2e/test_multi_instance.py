"""Two `mailintake run` processes on one PostgreSQL database and one mailbox (issue 6).

Only the holder of the mailbox lock reads mail; both flush the outbox. Nothing
is processed twice, nothing is sent twice, and when the reader is killed the
other instance takes over.
"""

from __future__ import annotations

import collections
import time
from email import message_from_bytes
from pathlib import Path

import pytest

from tests.e2e.daemon_process import Daemon, daemon_env
from tests.e2e.test_cli import cli
from tests.mails import INCOMPLETE_BODY, client_mail

pytestmark = [pytest.mark.postgres, pytest.mark.dovecot, pytest.mark.slow]

FIRST_BATCH = 100


def mails(start: int, count: int) -> list[tuple[str, bytes]]:
    """Distinct clients (the hourly auto-reply cap is per address) with their Message-IDs."""
    found = []
    for i in range(start, start + count):
        message_id = f"multi-{i}@example.pl"
        raw = client_mail(
            sender=f"client{i}@example.pl",
            subject=f"Problem number {i}",
            body=INCOMPLETE_BODY,
            message_id=message_id,
        )
        found.append((message_id, raw))
    return found


def append_all(dovecot, user: str, batch: list[tuple[str, bytes]]) -> None:
    with dovecot.session(user) as client:
        for _, raw in batch:
            client.append("INBOX", raw)


def replies_by_original(smtp_server) -> collections.Counter[str]:
    """How many replies each original message got, keyed by the Message-ID they answer."""
    counts: collections.Counter[str] = collections.Counter()
    for message in smtp_server.messages:
        in_reply_to = message_from_bytes(message.data).get("In-Reply-To", "")
        counts[in_reply_to.strip().strip("<>")] += 1
    return counts


def processed_ids(*daemons: Daemon) -> collections.Counter[str]:
    """Message-IDs the daemons' logs report as taken in (duplicates excluded)."""
    return collections.Counter(
        event["message_id"]
        for daemon in daemons
        for event in daemon.events()
        if event.get("event") == "message.processed" and event.get("outcome") != "duplicate"
    )


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_two_instances_process_and_send_everything_exactly_once_and_fail_over(
    tmp_path: Path, dovecot, smtp_server, fresh_pg_url
):
    """100 mails through two daemons: one reply each; after SIGKILL of the reader the other reads."""
    user = dovecot.new_user()
    settings = {
        "DATABASE_URL": fresh_pg_url,
        "INBOX_URL": dovecot.url(user),
        "IMAP_PASSWORD": dovecot.password,
        "SMTP_URL": smtp_server.url,
        "POLL_SECONDS": "1",
    }
    cli(tmp_path / "a", "db", "upgrade", env=daemon_env(tmp_path / "a", **settings))
    daemons = [
        Daemon(tmp_path / f"{name}.log", daemon_env(tmp_path / name, **settings))
        for name in ("a", "b")
    ]
    try:
        for daemon in daemons:
            daemon.wait_for_event("daemon.ready")
        first = mails(0, FIRST_BATCH)
        append_all(dovecot, user, first)
        smtp_server.wait_for(FIRST_BATCH, timeout=180)
        wait_until(lambda: dovecot.list_uids(user) == [], 60, "an empty INBOX")

        [holder] = [d for d in daemons if any(e["event"] == "leader.acquired" for e in d.events())]
        [other] = [d for d in daemons if d is not holder]
        standby_read = [e for e in other.events() if e["event"] == "inbox.listed"]
        holder.kill()
        later = mails(FIRST_BATCH, 5)
        append_all(dovecot, user, later)
        smtp_server.wait_for(FIRST_BATCH + len(later), timeout=60)
        other.wait_for_event("leader.acquired")
    finally:
        codes = [daemon.stop() for daemon in daemons]

    expected = {message_id for message_id, _ in first + later}
    replies = replies_by_original(smtp_server)
    assert set(replies) == expected
    assert set(replies.values()) == {1}
    processed = processed_ids(*daemons)
    assert set(processed) == expected
    assert set(processed.values()) == {1}
    assert sum(processed[m] for m, _ in later) == len(later)
    assert standby_read == []  # only the lock holder read the mailbox
    assert codes[daemons.index(other)] == 0
