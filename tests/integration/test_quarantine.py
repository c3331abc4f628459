"""Quarantine can be acted on (issue 13), and the sender check says when its assumption fails (issue 10).

Through real Dovecot and aiosmtpd: held entries say what each message is;
`quarantine retry` fetches a message back from the IMAP quarantine folder by
itself, also one too large to have been read; the human sender of an oversize
mail gets one polite notice, machines none; unstamped mail is counted, logged
once an hour and reported by `mailintake check`.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import sys

import pytest
import structlog
from prometheus_client import generate_latest
from sqlmodel import select

from mailintake import daemon
from mailintake.adapters import db
from mailintake.adapters.metrics import Metrics
from mailintake.services import quarantine
from tests.apps import make_app
from tests.mails import INCOMPLETE_BODY, client_mail

pytestmark = pytest.mark.dovecot

STAFF = "anna.nowak@log-systems.com"
CLIENT = "jan.kowalski@example.pl"
BIG = ("LOGSystem.zip", "application/zip", b"PK" + b"z" * 30_000)


class Desk:
    def __init__(self, tmp_path, dovecot, smtp, **env: str) -> None:
        self.dovecot, self.smtp, self.user = dovecot, smtp, dovecot.new_user()
        self.env = {"MAILINTAKE_STATE_DIR": str(tmp_path / "state"), "MAILINTAKE_STAFF": STAFF,
                    "MAILINTAKE_INBOX_URL": dovecot.url(self.user),
                    "MAILINTAKE_IMAP_PASSWORD": dovecot.password,
                    "MAILINTAKE_SMTP_URL": smtp.url, "MAILINTAKE_IMAP_IDLE": "false",
                    **{f"MAILINTAKE_{k.upper()}": v for k, v in env.items()}}  # fmt: skip
        self.app = make_app(tmp_path / "state", inbox_url=dovecot.url(self.user),
                            imap_password=dovecot.password, smtp_url=smtp.url,
                            imap_idle="false", **env)  # fmt: skip

    def run(self, *raws: bytes) -> daemon.PassResult:
        for raw in raws:
            self.dovecot.append(self.user, raw)
        return daemon.run_once(self.app)

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(m.data, policy=email.policy.default)
                for m in self.smtp.messages if address in m.rcpt_tos]  # fmt: skip

    def folder(self, name: str) -> int:
        return len(self.dovecot.list_uids(self.user, name))

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAILINTAKE_")}
        return subprocess.run(
            [sys.executable, "-m", "mailintake.cli", "--env-file", "/dev/null", *args],
            env={**env, **self.env}, capture_output=True, text=True,
        )  # fmt: skip


@pytest.fixture
def small(tmp_path, dovecot, smtp_server):
    d = Desk(tmp_path, dovecot, smtp_server, max_message_mb="0.01")
    yield d
    d.app.close()


def test_quarantine_list_and_the_alert_say_what_each_message_is(small):
    """id, from, subject, date, size, reason, at in `quarantine list --json` and in the alert."""
    raw = client_mail(body=INCOMPLETE_BODY, subject="Logi z awarii", attachments=[BIG])
    assert small.run(raw).outcomes == {"quarantined": 1}
    listed = small.cli("quarantine", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [entry] = json.loads(listed.stdout)
    assert {"id", "from", "subject", "date", "size", "reason", "at"} <= set(entry)
    assert (entry["from"], entry["subject"]) == (CLIENT, "Logi z awarii")
    assert entry["date"] is not None and entry["size"] > 10_000
    table = small.cli("quarantine", "list")
    assert CLIENT in table.stdout and "Logi z awarii" in table.stdout
    [alert] = small.to(STAFF)
    text = alert.get_body(("plain",)).get_content()
    assert CLIENT in text and "Logi z awarii" in text and "not read" in text


def test_retry_fetches_a_message_too_large_to_read_back_from_the_mailbox(small):
    """`quarantine retry ID` takes the unread message from the Quarantine folder and handles it."""
    small.run(client_mail(body=INCOMPLETE_BODY, attachments=[BIG]))
    assert (small.folder("INBOX"), small.folder("Quarantine")) == (0, 1)
    [entry] = quarantine.list_held(small.app)
    done = small.cli("quarantine", "retry", str(entry["id"]))
    assert done.returncode == 0, done.stderr
    assert "created LOG-000001" in done.stdout
    assert (small.folder("Quarantine"), small.folder("Processed")) == (0, 1)
    assert quarantine.list_held(small.app) == []


def test_retry_of_a_read_message_releases_it_from_the_quarantine_folder(
    tmp_path, dovecot, smtp_server, monkeypatch
):
    """A message held after a fault is handled again from its copy and leaves the folder."""
    from mailintake.services import intake

    desk = Desk(tmp_path, dovecot, smtp_server)
    try:
        real = intake.mailrules.classify
        monkeypatch.setattr(intake.mailrules, "classify", lambda *a, **k: 1 / 0)
        assert desk.run(client_mail(body=INCOMPLETE_BODY)).outcomes == {"quarantined": 1}
        monkeypatch.setattr(intake.mailrules, "classify", real)
        [entry] = quarantine.list_held(desk.app)
        assert quarantine.retry(desk.app, entry["id"]).outcome == "created"
        assert (desk.folder("Quarantine"), desk.folder("Processed")) == (0, 1)
    finally:
        desk.app.close()


def test_the_sender_of_an_oversize_mail_gets_one_polite_notice_with_the_limit(small):
    """A human sender is told the limit and how to send large logs; a robot is not."""
    robot = client_mail(sender="noreply@example.pl", body=INCOMPLETE_BODY, attachments=[BIG])
    small.run(client_mail(body=INCOMPLETE_BODY, attachments=[BIG], subject="Logi"), robot)
    [notice] = small.to(CLIENT)
    assert "Logi" in notice["Subject"]
    text = notice.get_body(("plain",)).get_content()
    assert "0.01 MB" in text and ".zip" in text
    assert notice["Auto-Submitted"] == "auto-replied"
    assert small.to("noreply@example.pl") == []


def test_size_notices_are_capped_like_every_automatic_answer(small):
    """Twelve oversize mails from one sender within an hour: ten notices (the per-sender cap)."""
    small.run(*[client_mail(body=INCOMPLETE_BODY, attachments=[BIG]) for _ in range(12)])
    assert len(small.to(CLIENT)) == 10


# --- the deployment assumption of the sender check ------------------------------------------


@pytest.fixture
def stamped(tmp_path, dovecot, smtp_server):
    d = Desk(tmp_path, dovecot, smtp_server, staff_auth="authres:mx.log-systems.com")
    yield d
    d.app.close()


STAMP = "Authentication-Results: mx.log-systems.com; spf=pass smtp.mailfrom=example.pl\r\n"


def test_unstamped_mail_is_counted_and_warned_of_once_an_hour(stamped):
    """Three mails without our Authentication-Results: counted three times, one warning."""
    metrics = Metrics(stamped.app.engine, poll_interval=30)
    raws = [client_mail(body=INCOMPLETE_BODY, sender=f"k{n}@example.pl") for n in range(3)]
    with structlog.testing.capture_logs() as logs:
        result = stamped.run(*raws, STAMP.encode() + client_mail(body=INCOMPLETE_BODY))
    assert result.unstamped == 3
    for _ in range(result.unstamped):
        metrics.noted("mail_unstamped")
    assert (
        'mailintake_errors_total{kind="mail_unstamped"} 3.0'
        in generate_latest(metrics.registry).decode()
    )
    assert [e["event"] for e in logs].count("security.mail_unstamped") == 1


def test_check_reports_unstamped_mail_in_the_mailbox(stamped):
    """`mailintake check` reads the newest mail: unstamped → FAIL naming the assumption."""
    stamped.run(STAMP.encode() + client_mail(body=INCOMPLETE_BODY))
    assert "OK   sender check" in stamped.cli("check").stdout
    stamped.run(client_mail(body=INCOMPLETE_BODY, sender="inny@example.pl"))
    done = stamped.cli("check")
    assert done.returncode == 1
    line = next(x for x in done.stdout.splitlines() if "sender check" in x)
    assert line.startswith("FAIL") and "mx.log-systems.com" in line and "not stamping" in line


def test_held_rows_remember_where_the_mailbox_keeps_them(small):
    """The daemon records each held message's place in the Quarantine folder (RFC 4315 COPYUID)."""
    small.run(client_mail(body=INCOMPLETE_BODY, attachments=[BIG]))
    with db.transaction(small.app.engine) as session:
        [row] = session.exec(select(db.QuarantineRow)).all()
    assert row.held_ref is not None and row.held_ref.startswith("imapheld:")
    assert row.message_id is not None
