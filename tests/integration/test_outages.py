"""An outage of the machine or the database holds mail back; it never quarantines it (issue 11).

A full disk (the blob directory, SQLite's file, PostgreSQL's disk or connection
slots) or a database that refuses even the note that a pass ended is the
system's fault, not the message's: the message stays in the mailbox, is not
counted as a failed pass, and becomes a ticket once the outage is over — on
SQLite and PostgreSQL alike, through the real Dovecot and SMTP servers.
"""

from __future__ import annotations

import errno
import hashlib
import os
import sqlite3
from datetime import timedelta

import psycopg
import pytest
import sqlalchemy as sa
from sqlmodel import select

from mailintake import daemon
from mailintake.adapters import blobs, db
from mailintake.adapters.dbvalues import is_outage, is_transient
from mailintake.domain.mailrules import Kind
from mailintake.services import intake, outbox, views
from tests.apps import make_app
from tests.mails import INCOMPLETE_BODY, client_mail


@pytest.fixture
def desk(tmp_path, dovecot, smtp_server, database_url):
    user = dovecot.new_user()
    env = {"inbox_url": dovecot.url(user), "imap_password": dovecot.password,
           "smtp_url": smtp_server.url, "imap_idle": "false"}  # fmt: skip
    app = make_app(tmp_path / "state", database_url=database_url, **env)
    app.test_user = user
    yield app
    app.close()


def _held(app) -> list[db.QuarantineRow]:
    with db.reading(app.engine) as session:
        return list(session.exec(select(db.QuarantineRow)))


@pytest.mark.dovecot
@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EACCES])
def test_a_full_disk_leaves_the_mail_in_the_inbox_until_there_is_room(
    desk, dovecot, monkeypatch, code
):
    """The blob directory is full (or its permissions wrong after a restore) for four passes,
    more than the three a poison message gets: every message waits in the inbox; once
    that is mended each becomes a ticket."""
    dovecot.append(desk.test_user, client_mail(body=INCOMPLETE_BODY))

    def refused(*_args, **_kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(blobs, "write_atomically", refused)
    for _ in range(4):
        result = daemon.run_once(desk)
        assert os.strerror(code) in (result.transient_error or "")
        assert len(dovecot.list_uids(desk.test_user, "INBOX")) == 1
    assert _held(desk) == []
    monkeypatch.undo()
    assert daemon.run_once(desk).outcomes == {"created": 1}
    assert _held(desk) == []
    assert dovecot.list_uids(desk.test_user, "INBOX") == []


def _refusing_next_transaction(engine: sa.Engine):
    """A route that fails as a lost connection does, and makes the next transaction (the
    guard's note that the pass ended) fail too: the database is away for both."""
    real = intake.ROUTES[Kind.CLIENT]

    def refuse_once(*_args):
        sa.event.remove(engine, "begin", refuse_once)
        raise sa.exc.OperationalError("BEGIN", {}, psycopg.OperationalError("server closed"))

    failed: list[bool] = []

    def route(session, app, msg):
        if not failed:
            failed.append(True)
            sa.event.listen(engine, "begin", refuse_once)
            raise sa.exc.OperationalError("INSERT", {}, psycopg.OperationalError("server closed"))
        return real(session, app, msg)

    return route


@pytest.mark.dovecot
def test_a_pass_whose_end_could_not_be_recorded_is_not_taken_for_a_crash(
    desk, dovecot, monkeypatch
):
    """The database went away mid-message and also refused the note that the pass ended: the
    same live process takes the message again next pass and makes its ticket."""
    dovecot.append(desk.test_user, client_mail(body=INCOMPLETE_BODY))
    monkeypatch.setitem(intake.ROUTES, Kind.CLIENT, _refusing_next_transaction(desk.engine))
    assert daemon.run_once(desk).transient_error is not None
    assert len(dovecot.list_uids(desk.test_user, "INBOX")) == 1
    assert daemon.run_once(desk).outcomes == {"created": 1}
    assert _held(desk) == []


def _error(orig) -> sa.exc.DBAPIError:
    return sa.exc.OperationalError("INSERT …", {}, orig)


@pytest.mark.parametrize(
    "error",
    [
        _error(sqlite3.OperationalError("database or disk is full")),
        _error(psycopg.errors.DiskFull()),
        _error(psycopg.errors.OutOfMemory()),
        _error(psycopg.errors.TooManyConnections()),
        _error(psycopg.errors.AdminShutdown()),
        _error(psycopg.OperationalError("connection refused")),
    ],
)
def test_a_full_disk_memory_or_connection_table_is_an_outage(error):
    """SQLite's SQLITE_FULL and PostgreSQL's class 53 (insufficient resources) retry later
    and, like a lost connection, are no fault of the message in hand."""
    assert is_transient(error)
    assert is_outage(error)


def test_lock_faults_are_transient_but_count_against_the_message():
    """A deadlock or a lock timeout may be the message's own doing: counted (poison after 3)."""
    deadlock = _error(psycopg.errors.DeadlockDetected())
    assert is_transient(deadlock)
    assert not is_outage(deadlock)


def _asks_to_authenticate(smtp_server) -> None:
    """The server wants a login first (RFC 4954 section 6: 530 5.7.0), as a relay does once
    its password changed or its policy was tightened: no message is at fault."""

    async def handle_MAIL(server, session, envelope, address, options):  # noqa: N802
        return "530 5.7.0 Authentication required"

    smtp_server.handler.handle_MAIL = handle_MAIL


def _outbox(app) -> list[db.OutboxRow]:
    with db.reading(app.engine) as session:
        return list(session.exec(select(db.OutboxRow)))


def test_a_relay_that_demands_a_login_holds_the_mail_back(tmp_path, smtp_server, database_url):
    """530 at MAIL FROM is about our account, not the mail: every row waits and is retried
    (no row failed, no ticket flagged, no staff alert per row) and goes out once the relay
    takes it again."""
    staff = "anna.nowak@log-systems.com"
    app = make_app(tmp_path / "state", database_url=database_url, smtp_url=smtp_server.url,
                   staff=staff)  # fmt: skip
    try:
        _asks_to_authenticate(smtp_server)
        created = intake.handle_message(app, client_mail(body=INCOMPLETE_BODY))
        counts = outbox.flush(app)
        assert counts["failed"] == 0 and counts["retry"] == 1
        assert {row.status for row in _outbox(app)} == {"pending"}
        assert "530" in (_outbox(app)[0].last_error or "")
        assert not views.show_ticket(app, created.ticket)["flagged"]
        del smtp_server.handler.handle_MAIL
        later = app.clock() + timedelta(hours=2)
        assert outbox.flush(app, now=later)["sent"] == len(_outbox(app))
        assert {row.status for row in _outbox(app)} == {"sent"}
    finally:
        app.close()


def test_a_send_the_database_could_not_record_is_recorded_later_not_sent_again(
    tmp_path, smtp_server, database_url
):
    """The server took the mail, then the database went away before the row said so: the
    next flush of the same process records it as sent instead of sending it a second time."""
    app = make_app(tmp_path / "state", database_url=database_url, smtp_url=smtp_server.url)
    try:
        intake.handle_message(app, client_mail(body=INCOMPLETE_BODY))
        real_send = app.mailer.send

        def refuse_once(*_args):
            sa.event.remove(app.engine, "begin", refuse_once)
            raise sa.exc.OperationalError("BEGIN", {}, psycopg.OperationalError("server closed"))

        def send_then_lose_the_database(*args):
            real_send(*args)
            sa.event.listen(app.engine, "begin", refuse_once)

        app.mailer.send = send_then_lose_the_database
        with pytest.raises(sa.exc.OperationalError):
            outbox.flush(app)
        app.mailer.send = real_send
        outbox.flush(app)
        assert len(smtp_server.messages) == 1
        assert [row.status for row in _outbox(app)] == ["sent"]
    finally:
        app.close()


@pytest.mark.dovecot
def test_a_message_another_live_process_holds_is_skipped_and_the_rest_goes_on(
    desk, dovecot, tmp_path
):
    """One message is in hand in another live process (on PostgreSQL: or was, in one whose
    session ended within the grace): the pass leaves it in the inbox and takes the next."""
    dovecot.append(desk.test_user, client_mail(body=INCOMPLETE_BODY, sender="a@example.pl"))
    dovecot.append(desk.test_user, client_mail(body=INCOMPLETE_BODY, sender="b@example.pl"))
    [first, _] = dovecot.fetch_all(desk.test_user)
    other = make_app(tmp_path / "other", database_url=desk.settings.database_url)
    try:
        other.liveness.hold()
        with db.transaction(desk.engine) as session:
            session.add(db.InHandRow(raw_sha256=hashlib.sha256(first).hexdigest(), passes=1,
                                     in_hand=True, held_by=other.liveness.token,
                                     started_at=desk.clock()))  # fmt: skip
        result = daemon.run_once(desk)
        assert (result.transient_error, result.outcomes) == (None, {"created": 1})
        assert len(dovecot.list_uids(desk.test_user, "INBOX")) == 1
        assert _held(desk) == []
    finally:
        other.close()
