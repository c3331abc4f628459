"""What ops read in the log and from `run --once` (issue 13): quiet when idle, text not bytes."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from mailintake import daemon
from mailintake.errors import TransientError
from tests.apps import make_app
from tests.mails import COMPLETE_BODY, client_mail, logs_attachment

NOISY = ("info", "warning", "error", "critical")


@pytest.fixture
def imap_app(tmp_path, dovecot, smtp_server, sqlite_url):
    user = dovecot.new_user()
    dovecot.append(user, client_mail(body=COMPLETE_BODY, attachments=logs_attachment()))
    app = make_app(tmp_path / "state", database_url=sqlite_url, inbox_url=dovecot.url(user),
                   imap_password=dovecot.password, smtp_url=smtp_server.url, imap_idle="false")  # fmt: skip
    daemon.run_once(app)  # the mailbox is empty from now on
    yield app, dovecot, user
    app.close()


def test_a_pass_over_an_empty_mailbox_logs_nothing_above_debug(imap_app):
    """An empty wake-up (nothing listed, nothing fetched) is debug, not an info line per pass."""
    app, _, _ = imap_app
    inbox = app.open_inbox()
    try:
        with capture_logs() as logs:
            daemon.take_in(app, inbox)
    finally:
        inbox.close()
    assert [e for e in logs if e["log_level"] in NOISY] == []
    assert {e["event"] for e in logs} >= {"inbox.listed", "inbox.fetched"}


def test_a_routine_staff_notice_is_info_and_an_alert_a_warning(imap_app):
    """A client's reply told to staff logs at info; a forged staff command stays a warning."""
    app, dovecot, user = imap_app
    dovecot.append(user, client_mail(subject="Re: [LOG-000001] Błąd", body="Dodatkowe informacje."))
    with capture_logs() as logs:
        daemon.run_once(app)
    [notice] = [e for e in logs if e["event"] == "staff.notified"]
    assert notice["log_level"] == "info"


def test_an_imap_login_failure_reads_as_text(tmp_path, dovecot, sqlite_url):
    """A refused IMAP login is reported as the server's words, not a Python bytes repr."""
    app = make_app(tmp_path / "state", database_url=sqlite_url,
                   inbox_url=dovecot.url(dovecot.new_user()), imap_password="wrong")  # fmt: skip
    try:
        with pytest.raises(TransientError) as raised:
            app.open_inbox().check()
    finally:
        app.close()
    message = str(raised.value)
    assert "b'" not in message and 'b"' not in message
    assert "Authentication failed" in message
