"""No single message stops intake, on every way in (issue 10 section 3), and SQLite = PostgreSQL.

Poison messages (in hand when the process died, or failing three passes) are
quarantined instead of retried forever; only real transients are transient;
values a database cannot hold are fitted before storage so both databases
accept exactly the same mail; `ingest` shares the daemon's guard.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from datetime import timedelta

import psycopg
import pytest
import sqlalchemy as sa
from sqlmodel import select

from mailintake import daemon
from mailintake.adapters import db
from mailintake.adapters.dbvalues import is_transient
from mailintake.adapters.liveness import SESSION_GRACE
from mailintake.domain.mailrules import Kind
from mailintake.services import intake, views
from tests.apps import REPO, make_app
from tests.mails import INCOMPLETE_BODY, client_mail

STAFF = "anna.nowak@log-systems.com"


def _held(app) -> list[db.QuarantineRow]:
    with db.transaction(app.engine) as session:
        return list(session.exec(select(db.QuarantineRow).order_by(db.QuarantineRow.id)))


@pytest.fixture
def desk(tmp_path, dovecot, smtp_server):
    user = dovecot.new_user()
    env = {"inbox_url": dovecot.url(user), "imap_password": dovecot.password,
           "smtp_url": smtp_server.url, "imap_idle": "false"}  # fmt: skip
    app = make_app(tmp_path / "state", database_url=f"sqlite:///{tmp_path / 'm.db'}", **env)
    app.test_user, app.test_env = user, env
    yield app
    app.close()


DIE_IN_HAND = """
import os, sys
sys.path.insert(0, {repo!r})
from pathlib import Path
from mailintake import daemon
from mailintake.services import intake
from tests.apps import make_app
app = make_app(Path({state!r}), database_url={url!r}, **{env!r})
intake.parse = lambda raw: os._exit(9)  # the process dies with the message in hand
daemon.run_once(app)
"""


@pytest.mark.dovecot
def test_a_message_in_hand_when_the_process_died_is_quarantined_on_the_next_pass(
    desk, dovecot, tmp_path
):
    """Killed mid-message (OOM, watchdog): the next pass quarantines it instead of retrying."""
    dovecot.append(desk.test_user, client_mail(body=INCOMPLETE_BODY))
    script = DIE_IN_HAND.format(repo=str(REPO), state=str(tmp_path / "state"),
                                url=f"sqlite:///{tmp_path / 'm.db'}", env=desk.test_env)  # fmt: skip
    died = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True)
    assert died.returncode == 9
    assert dovecot.list_uids(desk.test_user, "INBOX") != []
    assert daemon.run_once(desk).outcomes == {"quarantined": 1}
    [held] = _held(desk)
    assert "in hand when the process stopped" in held.reason
    assert desk.blobs.has("raw", held.raw_sha256)
    assert dovecot.list_uids(desk.test_user, "INBOX") == []
    assert len(dovecot.list_uids(desk.test_user, "Quarantine")) == 1


DIE_ON_POISON = """
import os, sys
sys.path.insert(0, {repo!r})
from pathlib import Path
from mailintake import daemon
from mailintake.services import intake
from tests.apps import make_app
app = make_app(Path({state!r}), database_url={url!r}, **{env!r})
real = intake.parse
intake.parse = lambda raw: os._exit(9) if b"POISON" in raw else real(raw)
daemon.run_once(app)
"""


def _past_the_grace(database_url: str) -> None:
    """The liveness grace passes (PostgreSQL: a holder whose session ended within it may
    live on, so its messages are left to it; issue 11): its in-hand rows age past it."""
    if not database_url.startswith("postgresql"):
        return
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            aged = SESSION_GRACE + timedelta(minutes=1)
            conn.execute(
                sa.text("UPDATE inhand SET started_at = started_at - :aged"), {"aged": aged}
            )
    finally:
        engine.dispose()


@pytest.mark.dovecot
def test_a_batch_the_process_died_in_is_taken_again_one_by_one_and_only_the_culprit_held(
    dovecot, smtp_server, tmp_path, database_url
):
    """Five mails in one batch, the third kills the process each time it is parsed: after the
    restarts the four others are tickets and only the third is quarantined (issue 15)."""
    user = dovecot.new_user()
    env = {"inbox_url": dovecot.url(user), "imap_password": dovecot.password,
           "smtp_url": smtp_server.url, "imap_idle": "false"}  # fmt: skip
    for n in range(5):
        subject = "POISON" if n == 2 else f"Awaria {n}"
        dovecot.append(user, client_mail(body=INCOMPLETE_BODY, sender=f"k{n}@example.pl",
                                         subject=subject))  # fmt: skip
    script = DIE_ON_POISON.format(repo=str(REPO), state=str(tmp_path / "state"),
                                  url=database_url, env=env)  # fmt: skip
    codes = []
    while not codes or (codes[-1] != 0 and len(codes) < 5):
        done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True)
        codes.append(done.returncode)
        _past_the_grace(database_url)
    assert codes[-1] == 0 and len(codes) <= 3, codes  # batch dies; culprit dies alone; held
    app = make_app(tmp_path / "state", database_url=database_url, **env)
    try:
        [held] = _held(app)
        assert "in hand when the process stopped" in held.reason
        assert held.subject == "POISON"
        clients = sorted(t["client_email"] for t in views.list_tickets(app))
        assert clients == [f"k{n}@example.pl" for n in (0, 1, 3, 4)]
    finally:
        app.close()
    assert dovecot.list_uids(user, "INBOX") == []
    assert len(dovecot.list_uids(user, "Quarantine")) == 1


def _locked(*_args, **_kw):
    raise sa.exc.OperationalError("INSERT …", {}, sqlite3.OperationalError("database is locked"))


@pytest.mark.dovecot
def test_a_message_failing_three_passes_is_quarantined_on_the_next(desk, dovecot, monkeypatch):
    """Three passes end in a transient fault on one message: the fourth quarantines it."""
    dovecot.append(desk.test_user, client_mail(body=INCOMPLETE_BODY))
    monkeypatch.setitem(intake.ROUTES, Kind.CLIENT, _locked)
    for _ in range(3):
        assert daemon.run_once(desk).transient_error is not None
        assert len(dovecot.list_uids(desk.test_user, "INBOX")) == 1
    assert daemon.run_once(desk).outcomes == {"quarantined": 1}
    assert "failed 3 passes" in _held(desk)[0].reason


@pytest.mark.dovecot
def test_a_transient_fault_in_a_batch_counts_against_the_message_that_met_it_only(
    desk, dovecot, monkeypatch
):
    """Two mails in one batch, one always meets a lock timeout: the batch waits three passes,
    then only that one is quarantined and the other becomes a ticket (issue 15)."""
    real = intake.ROUTES[Kind.CLIENT]

    def lock_on_boom(session, app, msg):
        return _locked() if "boom" in msg.mail.subject else real(session, app, msg)

    monkeypatch.setitem(intake.ROUTES, Kind.CLIENT, lock_on_boom)
    dovecot.append(desk.test_user, client_mail(body=INCOMPLETE_BODY, sender="inny@example.pl"))
    dovecot.append(desk.test_user, client_mail(body=INCOMPLETE_BODY, subject="boom"))
    for _ in range(3):
        assert daemon.run_once(desk).transient_error is not None
        assert len(dovecot.list_uids(desk.test_user, "INBOX")) == 2  # none of the batch moved
    assert daemon.run_once(desk).outcomes == {"quarantined": 1, "created": 1}
    [held] = _held(desk)
    assert held.subject == "boom" and "failed 3 passes" in held.reason


@pytest.mark.dovecot
def test_a_database_error_that_is_not_transient_quarantines_one_message(desk, dovecot, monkeypatch):
    """An error about the data (not the connection) holds that message; the next goes on."""
    real = intake.ROUTES[Kind.CLIENT]

    def refuse_boom(session, app, msg):
        if "boom" in msg.mail.subject:
            orig = sqlite3.OperationalError("no such column: boom")
            raise sa.exc.OperationalError("SELECT boom", {}, orig)
        return real(session, app, msg)

    monkeypatch.setitem(intake.ROUTES, Kind.CLIENT, refuse_boom)
    dovecot.append(desk.test_user, client_mail(body=INCOMPLETE_BODY, subject="boom"))
    dovecot.append(desk.test_user, client_mail(body=INCOMPLETE_BODY, sender="inny@example.pl"))
    result = daemon.run_once(desk)
    assert result.transient_error is None
    assert result.outcomes == {"quarantined": 1, "created": 1}
    assert "database refused it" in _held(desk)[0].reason


def test_values_a_database_cannot_hold_are_fitted_alike_on_both(tmp_path, database_url):
    """NUL characters, a 950-character non-ASCII Message-ID, a 500-character name: stored."""
    app = make_app(tmp_path / "state", database_url=database_url)
    try:
        mid = "ą" * 950 + "@example.pl"
        raw = client_mail(body="Opis\x00błędu\n" + INCOMPLETE_BODY, message_id="long@example.pl",
                          name="N" * 500, subject="Awaria\x00raportu")  # fmt: skip
        raw = raw.replace(b"long@example.pl", mid.encode())
        first = intake.handle_message(app, raw)
        assert first.outcome == "created"
        reply = client_mail(
            body="Wersja 6.1.111.111\n", in_reply_to="long@example.pl", subject="Re: Awaria"
        ).replace(b"long@example.pl", mid.encode())
        assert intake.handle_message(app, reply).outcome == "updated"
        ticket = views.show_ticket(app, first.ticket)
        assert "\x00" not in ticket["subject"] and len(ticket["client_name"]) <= 320
        assert intake.handle_message(app, raw).outcome == "duplicate"
    finally:
        app.close()


def _dbapi_error(cls, orig) -> BaseException:
    return cls("SELECT 1", {}, orig)


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (_dbapi_error(sa.exc.OperationalError, psycopg.errors.DeadlockDetected()), True),
        (_dbapi_error(sa.exc.OperationalError, psycopg.errors.SerializationFailure()), True),
        (_dbapi_error(sa.exc.OperationalError, psycopg.errors.LockNotAvailable()), True),
        (_dbapi_error(sa.exc.OperationalError, psycopg.errors.AdminShutdown()), True),
        (
            _dbapi_error(sa.exc.OperationalError, psycopg.OperationalError("connection refused")),
            True,
        ),
        (
            _dbapi_error(sa.exc.OperationalError, sqlite3.OperationalError("database is locked")),
            True,
        ),
        (_dbapi_error(sa.exc.OperationalError, psycopg.errors.ProgramLimitExceeded()), False),
        (_dbapi_error(sa.exc.DataError, psycopg.errors.StringDataRightTruncation()), False),
        (
            _dbapi_error(sa.exc.OperationalError, sqlite3.OperationalError("no such table: x")),
            False,
        ),
        (_dbapi_error(sa.exc.IntegrityError, sqlite3.IntegrityError("UNIQUE failed")), False),
    ],
)
def test_only_connection_deadlock_serialisation_and_lock_faults_are_transient(error, transient):
    """SQLSTATE 08/40001/40P01/55P03/57P0x and SQLite "locked" retry; bad data does not."""
    assert is_transient(error) is transient


def _nested(levels: int) -> bytes:
    body = "".join(
        f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n' for i in range(levels)
    )
    body += "Content-Type: text/plain\r\n\r\nPomocy\r\n" + "".join(
        f"--b{i}--\r\n" for i in reversed(range(levels))
    )
    return (f"From: {'jan@example.pl'}\r\nSubject: deep\r\nMIME-Version: 1.0\r\n" + body).encode()


def test_ingest_json_takes_every_file_and_exits_zero(tmp_path):
    """`ingest --json` on 1,000 nested parts, an empty file and a good mail: a line each, exit 0."""
    files = {
        "deep.eml": _nested(1000),
        "empty.eml": b"\r\n",
        "good.eml": client_mail(body=INCOMPLETE_BODY),
    }
    for name, raw in files.items():
        (tmp_path / name).write_bytes(raw)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILINTAKE_")}
    env.update({"MAILINTAKE_STATE_DIR": str(tmp_path / "state"), "MAILINTAKE_STAFF": STAFF})
    done = subprocess.run(
        [sys.executable, "-m", "mailintake.cli", "--env-file", "/dev/null", "ingest", "--json",
         *(str(tmp_path / n) for n in files)],
        env=env, capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    outcomes = {Path_name(line["file"]): line["outcome"] for line in lines}
    assert outcomes["empty.eml"] == "quarantined"
    assert outcomes["good.eml"] == "created"
    assert outcomes["deep.eml"] in ("created", "quarantined")


def Path_name(path: str) -> str:  # noqa: N802 - reads like the pathlib attribute it stands for
    return path.rsplit("/", 1)[-1]
