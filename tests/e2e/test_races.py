"""Two real processes racing on one ticket (issue 11), on SQLite and PostgreSQL alike.

A test-only pause point (`mailintake.testhooks`, `MAILINTAKE_TEST_PAUSE`) stops
one process at a named place while the other runs, so the interleaving that
broke tickets is forced every time instead of hoped for.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path

import psycopg
import pytest

from mailintake.adapters.liveness import SESSION_GRACE
from tests.apps import REPO
from tests.mails import COMPLETE_BODY, INCOMPLETE_BODY, client_mail, logs_attachment

pytestmark = pytest.mark.slow

FIRST_ID = "first-report@example.pl"


def environment(state: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILINTAKE_")}
    env.update(
        {
            "MAILINTAKE_STATE_DIR": str(state),
            "MAILINTAKE_DATABASE_URL": database_url,
            "MAILINTAKE_CLIENTS_FILE": str(REPO / "config" / "clients.toml"),
            "MAILINTAKE_STAFF": "anna.nowak@log-systems.com",
            "MAILINTAKE_LOG_FORMAT": "json",
        }
    )
    env.update({f"MAILINTAKE_{k.upper()}": v for k, v in extra.items()})
    return env


def start(env: dict[str, str], *args: str, stdin: bytes | None = None) -> subprocess.Popen:
    """`mailintake ARGS` in the background, `stdin` piped in (as an MTA does)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailintake.cli", "--env-file", "/dev/null", *args],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None
    proc.stdin.write(stdin or b"")
    proc.stdin.close()
    proc.stdin = None  # communicate() must not flush the closed pipe
    return proc


def finish(proc: subprocess.Popen, timeout: float = 60) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out.decode(), err.decode()


def run(env: dict[str, str], *args: str, stdin: bytes | None = None) -> str:
    code, out, err = finish(start(env, *args, stdin=stdin))
    assert code == 0, err
    return out


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def paused_at(point: str, directory: Path) -> dict[str, str]:
    """The environment that stops a process at `point` until `directory/release` exists."""
    directory.mkdir()
    return {"MAILINTAKE_TEST_PAUSE": f"{point}={directory}"}


def wait_for(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def waiting_on_a_lock(database_url: str) -> bool:
    """PostgreSQL: some session of this database waits for a row lock."""
    if not database_url.startswith("postgresql"):
        return False
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "select count(*) from pg_stat_activity"
            " where datname = current_database() and wait_event_type = 'Lock'"
        ).fetchone()
    return bool(row and row[0])


def started(env: dict[str, str], point: str, directory: Path, *args: str, stdin: bytes = b""):
    """`mailintake ARGS` started, stopped at `point` and let go: past its start-up, so what
    it does next takes milliseconds (an interleaving that does not hang on a slow machine)."""
    proc = start(env | paused_at(point, directory), *args, stdin=stdin)
    assert wait_for(lambda: (directory / "reached").exists())
    (directory / "release").touch()
    return proc


def blocked_or_done(proc: subprocess.Popen, database_url: str, settle: float = 3.0) -> None:
    """Until `proc` has ended or waits for a lock (on SQLite the busy wait shows no sign: `settle` s)."""
    started = time.monotonic()
    wait_for(
        lambda: (
            proc.poll() is not None
            or waiting_on_a_lock(database_url)
            or time.monotonic() - started > settle
        )
    )


@pytest.fixture
def upgraded(tmp_path, database_url):
    """An environment on a migrated database (both kinds), with no mail in it yet."""
    env = environment(tmp_path / "state", database_url)
    run(env, "db", "upgrade")
    return env


def test_a_completing_reply_and_the_incomplete_close_never_both_happen(tmp_path, upgraded):
    """Intake holds the ticket while a sweep wants to close it: the reply wins, nothing is closed."""
    env = upgraded
    run(env, "ingest", "-", stdin=client_mail(body=INCOMPLETE_BODY, message_id=FIRST_ID))
    reply = client_mail(
        subject="Re: Błąd przy generowaniu raportu",
        body=COMPLETE_BODY,
        attachments=logs_attachment(),
        in_reply_to=FIRST_ID,
    )
    hold = tmp_path / "hold"
    intake = start(
        env | paused_at("intake.ticket_found", hold), "ingest", "--json", "-", stdin=reply
    )
    assert wait_for(lambda: (hold / "reached").exists())
    later = (datetime.now(UTC) + timedelta(days=10)).isoformat()
    sweep = started(env, "sweep.started", tmp_path / "go", "sweep", "--now", later, "--no-send")
    blocked_or_done(sweep, env["MAILINTAKE_DATABASE_URL"])
    (hold / "release").touch()
    code, out, err = finish(intake)
    assert code == 0, err
    assert json.loads(out)["outcome"] == "updated"
    assert finish(sweep)[0] == 0
    ticket = json.loads(run(env, "tickets", "show", "LOG-000001", "--json"))
    assert (ticket["status"], ticket["close_reason"]) == ("ANALIZA", None)
    assert [(h["from"], h["to"]) for h in ticket["history"]] == [
        (None, "NOWY"),
        ("NOWY", "ANALIZA"),
    ]
    to_client = [
        m for m in ticket["messages"] if m["direction"] == "out" and "@example.pl" in m["to"]
    ]
    assert [m["kind"] for m in to_client] == ["request_missing", "confirmation"]


def deliveries(smtp_server) -> dict[str, int]:
    """How many times the SMTP server received each Message-ID."""
    counts: dict[str, int] = {}
    for message in smtp_server.messages:
        mid = message_from_bytes(message.data)["Message-ID"]
        counts[mid] = counts.get(mid, 0) + 1
    return counts


def outbox_statuses(env: dict[str, str]) -> list[str]:
    return [row["status"] for row in json.loads(run(env, "outbox", "list", "--json"))]


def test_two_processes_flushing_the_outbox_send_each_row_once(tmp_path, upgraded, smtp_server):
    """A flush holding a claimed row while another process flushes: every mail goes out once."""
    env = upgraded | {"MAILINTAKE_SMTP_URL": smtp_server.url}
    run(env, "ingest", "--no-send", "-", stdin=client_mail(body=INCOMPLETE_BODY))
    hold = tmp_path / "hold"
    first = start(env | paused_at("outbox.sending", hold), "sweep", "--now", now_iso())
    assert wait_for(lambda: (hold / "reached").exists())
    second = start(
        env, "ingest", "-", stdin=client_mail(body=INCOMPLETE_BODY, sender="b@example.pl")
    )
    assert finish(second)[0] == 0
    (hold / "release").touch()
    assert finish(first)[0] == 0
    assert sorted(deliveries(smtp_server).values()) == [1, 1]
    assert outbox_statuses(env) == ["sent", "sent"]


def test_a_row_claimed_by_a_process_that_died_is_sent_by_the_next_flush(
    tmp_path, upgraded, smtp_server
):
    """SIGKILL between claiming a row and sending it: the next flush sends it, once (on
    PostgreSQL once the claim is older than the liveness grace: a server restart also ends
    the sessions of live claimers)."""
    env = upgraded | {"MAILINTAKE_SMTP_URL": smtp_server.url}
    run(env, "ingest", "--no-send", "-", stdin=client_mail(body=INCOMPLETE_BODY))
    hold = tmp_path / "hold"
    doomed = start(env | paused_at("outbox.sending", hold), "sweep", "--now", now_iso())
    assert wait_for(lambda: (hold / "reached").exists())
    doomed.kill()
    finish(doomed)
    after_grace = datetime.now(UTC) + SESSION_GRACE + timedelta(minutes=1)
    run(env, "sweep", "--now", after_grace.isoformat())
    assert list(deliveries(smtp_server).values()) == [1]
    assert outbox_statuses(env) == ["sent"]


def test_two_copies_of_one_message_taken_in_at_once_make_one_ticket(tmp_path, upgraded):
    """The same mail by two ways at once (IMAP and an MTA pipe): one ticket, one duplicate."""
    env = upgraded
    copy = client_mail(body=INCOMPLETE_BODY, message_id="twice@example.pl")
    relayed = b"Received: from mx2.example.pl by mx.log-systems.com; Mon, 30 Nov 2026\r\n" + copy
    hold = tmp_path / "hold"
    first = start(env | paused_at("intake.duplicate_checked", hold), "ingest", "--json", "-",
                  stdin=copy)  # fmt: skip
    assert wait_for(lambda: (hold / "reached").exists())
    second = started(
        env, "intake.received", tmp_path / "go", "ingest", "--json", "-", stdin=relayed
    )
    blocked_or_done(second, env["MAILINTAKE_DATABASE_URL"])
    (hold / "release").touch()
    outcomes = sorted(json.loads(finish(proc)[1])["outcome"] for proc in (first, second))
    assert outcomes == ["created", "duplicate"]
    assert [t["key"] for t in json.loads(run(env, "tickets", "list", "--json"))] == ["LOG-000001"]
