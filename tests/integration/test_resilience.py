"""Hostile mail, auto-responders, bounces and outages against real Dovecot, SMTP and SQLite (issue 5).

Each test drives the product as deployed (`daemon.run_once` or `daemon.run` in a
thread, IMAP on Dovecot, SMTP to aiosmtpd, a SQLite file) and checks SPEC
section 5: no mail is lost, no machine is answered, no loop starts, and staff
learn what could not be handled.
"""

from __future__ import annotations

import email
import email.policy
import sqlite3
import threading
import time
from datetime import timedelta
from email.message import EmailMessage
from hashlib import sha256

import pytest
import sqlalchemy as sa
import structlog
from sqlmodel import select

from mailintake import daemon
from mailintake.adapters import db
from mailintake.services import outbox
from tests import tnef
from tests.apps import make_app
from tests.corpus import CORPUS
from tests.mails import COMPLETE_BODY, INCOMPLETE_BODY, client_mail, delivery_status_for

pytestmark = pytest.mark.dovecot

CLIENT = "jan.kowalski@example.pl"
STAFF = "anna.nowak@log-systems.com"


class Desk:
    """One support mailbox on Dovecot, one SMTP server, one SQLite app."""

    def __init__(self, tmp_path, dovecot, smtp, **env: str) -> None:
        self.dovecot, self.smtp, self.user = dovecot, smtp, dovecot.new_user()
        self.db_path = tmp_path / "mailintake.db"
        self.app = make_app(
            tmp_path / "state",
            database_url=f"sqlite:///{self.db_path}",
            inbox_url=dovecot.url(self.user),
            imap_password=dovecot.password,
            smtp_url=smtp.url,
            imap_idle="false",
            poll_seconds="0.2",
            **env,
        )

    def deliver(self, raw: bytes) -> None:
        self.dovecot.append(self.user, raw)

    def run_once(self) -> daemon.PassResult:
        return daemon.run_once(self.app)

    def to(self, address: str) -> list[EmailMessage]:
        """Every message the SMTP server accepted for *address*, parsed."""
        return [
            email.message_from_bytes(m.data, policy=email.policy.default)
            for m in list(self.smtp.messages)
            if address in m.rcpt_tos
        ]

    def rows(self, table):
        with db.transaction(self.app.engine) as session:
            return list(session.exec(select(table).order_by(table.id)))

    def folder(self, name: str) -> int:
        return len(self.dovecot.list_uids(self.user, name))


@pytest.fixture
def desk(tmp_path, dovecot, smtp_server):
    d = Desk(tmp_path, dovecot, smtp_server)
    yield d
    d.app.close()


def _plain(msg: EmailMessage) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()


# --- loops ----------------------------------------------------------------------------------


def _responder_answer(ours: EmailMessage, *, polite: bool) -> bytes:
    """The client's auto-responder answering our mail; `polite` sets RFC 3834 headers."""
    headers = {"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"} if polite else {}
    subject = f"{'Automatic reply' if polite else 'RE'}: {ours['Subject']}"
    return client_mail(
        subject=subject,
        body="Dziękuję za wiadomość. Odpowiem najszybciej jak to możliwe.\n",
        in_reply_to=ours["Message-ID"].strip("<>"),
        headers=headers,
    )


def _play_responder(desk: Desk, rounds: int, *, polite: bool) -> int:
    """Run the daemon pass and the client's auto-responder in turn; returns mails sent to it."""
    answered = 0
    for _ in range(rounds):
        desk.run_once()
        mine = desk.to(CLIENT)
        for ours in mine[answered:]:
            desk.deliver(_responder_answer(ours, polite=polite))
        answered = len(mine)
    return answered


def test_a_polite_auto_responder_gets_nothing_back(desk):
    """An auto-responder with Auto-Submitted headers becomes a note; we send only the first answer."""
    desk.deliver(client_mail(body=INCOMPLETE_BODY))
    assert _play_responder(desk, 6, polite=True) == 1
    notes = [r for r in desk.rows(db.MessageRow) if r.direction == "in" and r.kind != "client"]
    assert len(notes) == 1 and notes[0].ticket_id is not None
    assert len(desk.rows(db.Ticket)) == 1


def test_a_dumb_auto_responder_is_stopped_by_the_per_sender_cap(tmp_path, dovecot, smtp_server):
    """A responder without any header, keeping `RE: [LOG-000001]`: the hourly cap bounds the mails."""
    desk = Desk(tmp_path, dovecot, smtp_server, autoreply_per_hour="4")
    try:
        desk.deliver(client_mail(body=INCOMPLETE_BODY))
        sent = _play_responder(desk, 12, polite=False)
        print(f"dumb responder: {sent} automatic mails in 12 rounds (cap 4 per hour)")
        assert sent == 4
        assert len(desk.rows(db.Ticket)) == 1
        assert desk.run_once().outcomes.get("created") is None
    finally:
        desk.app.close()


# --- bounces ----------------------------------------------------------------------------------


def test_a_dsn_for_our_reply_fails_the_outbox_row_and_flags_the_ticket(desk):
    """A bounce of our reply: outbox row failed, ticket flagged, staff told, no ticket, no answer."""
    desk.deliver(client_mail(body=INCOMPLETE_BODY))
    desk.run_once()
    [ours] = desk.to(CLIENT)
    desk.deliver(delivery_status_for(ours, CLIENT))
    assert desk.run_once().outcomes == {"bounce": 1}
    [ticket] = desk.rows(db.Ticket)
    assert ticket.flagged and CLIENT in ticket.flag_reason
    row = next(r for r in desk.rows(db.OutboxRow) if r.message_id == ours["Message-ID"][1:-1])
    assert row.status == "failed"
    assert any("bounce" in m["Subject"] for m in desk.to(STAFF))
    recipients = {r.lower() for m in desk.smtp.messages for r in m.rcpt_tos}
    assert recipients == {CLIENT, STAFF}


# --- hostile content --------------------------------------------------------------------------


def _stored_attachments(desk: Desk) -> list[db.AttachmentRow]:
    return desk.rows(db.AttachmentRow)


def test_winmail_dat_is_unpacked_into_its_real_attachments(desk):
    """Outlook's TNEF `winmail.dat` arrives as the files inside it, and its logs count (SPEC 3, 5)."""
    logs, shot = b"PK\x03\x04" + b"log line\r\n" * 300, b"\x89PNG\r\n\x1a\n" + b"\1" * 40_000
    winmail = tnef.stream([("LOGSystem_logi.zip", logs), ("zrzut_ekranu.png", shot)])
    desk.deliver(
        client_mail(
            body=COMPLETE_BODY, attachments=[("winmail.dat", "application/ms-tnef", winmail)]
        )
    )
    assert desk.run_once().outcomes == {"created": 1}
    stored = {a.filename: a.sha256 for a in _stored_attachments(desk)}
    assert stored == {
        "LOGSystem_logi.zip": sha256(logs).hexdigest(),
        "zrzut_ekranu.png": sha256(shot).hexdigest(),
    }
    [ticket] = desk.rows(db.Ticket)
    assert ticket.status == "ANALIZA"
    assert ticket.fields["logs"] == ["LOGSystem_logi.zip"]


@pytest.mark.corpus
def test_corpus_winmail_dat_is_unpacked_into_its_real_attachments(desk):
    """Outlook's TNEF `winmail.dat` from the corpus arrives as the files inside it (SPEC section 5)."""
    winmail = (CORPUS / "tnefparse" / "tests" / "examples" / "two-files.tnef").read_bytes()
    desk.deliver(
        client_mail(
            body=INCOMPLETE_BODY, attachments=[("winmail.dat", "application/ms-tnef", winmail)]
        )
    )
    assert desk.run_once().outcomes == {"created": 1}
    names = [a.filename for a in _stored_attachments(desk)]
    assert names == ["AUTHORS", "README"]


def test_attached_mail_inline_image_and_signature_logo_are_kept_but_only_screenshots_count(desk):
    """An attached .eml and inline images are stored; a 1 KB logo is not a screenshot, 40 KB is."""
    logo, shot = b"\x89PNG\r\n\x1a\n" + b"\0" * 1000, b"\x89PNG\r\n\x1a\n" + b"\1" * 40_000
    msg = email.message_from_bytes(client_mail(body=COMPLETE_BODY), policy=email.policy.SMTP)
    msg.add_related(logo, maintype="image", subtype="png", cid="<logo@x>", filename="image001.png")
    msg.add_attachment(shot, maintype="image", subtype="png", filename="ekran.png")
    forwarded = client_mail(subject="Poprzednia wiadomość", body="stara treść\n")
    msg.add_attachment(forwarded, maintype="message", subtype="rfc822", filename="stara.eml")
    desk.deliver(msg.as_bytes())
    desk.run_once()
    stored = {a.filename: a for a in _stored_attachments(desk)}
    assert {"image001.png", "ekran.png"} <= set(stored)
    assert any(a.content_type == "message/rfc822" for a in stored.values())
    [ticket] = desk.rows(db.Ticket)
    assert ticket.fields.get("screenshots") == ["ekran.png"]


@pytest.mark.parametrize(
    "hostile",
    [
        "../../etc/passwd",
        "..\\..\\boot.ini",
        "a\x00b.txt",
        "esc\x1b[31mred\tbell\x07.log",
        "x" * 1000 + ".pdf",
    ],
)
def test_hostile_attachment_names_are_stored_safely(desk, hostile):
    """Path parts, NUL, control characters and 1,000-character names become safe, bounded names."""
    desk.deliver(
        client_mail(body=INCOMPLETE_BODY, attachments=[(hostile, "application/pdf", b"%PDF-1.4")])
    )
    assert desk.run_once().outcomes == {"created": 1}
    [row] = _stored_attachments(desk)
    assert row.filename and len(row.filename) <= 255
    assert "/" not in row.filename and "\\" not in row.filename
    assert row.filename.isprintable()
    assert desk.app.blobs.get("attachments", row.sha256) == b"%PDF-1.4"


def test_encoded_crlf_in_the_subject_cannot_add_a_header_to_our_reply(desk):
    """`=?utf-8?q?a=0D=0ABcc:_x@evil?=` stays inside our Subject: no Bcc, no extra recipient."""
    raw = client_mail(body=INCOMPLETE_BODY, subject="placeholder")
    raw = raw.replace(b"Subject: placeholder", b"Subject: =?utf-8?q?a=0D=0ABcc:_x@evil?=")
    desk.deliver(raw)
    desk.run_once()
    [received] = list(desk.smtp.messages)
    assert received.rcpt_tos == [CLIENT]
    reply = email.message_from_bytes(received.data, policy=email.policy.default)
    assert reply["Bcc"] is None
    assert [k for k in reply if k.lower() == "subject"] == ["Subject"]
    assert "\n" not in reply["Subject"] and "x@evil" in reply["Subject"]


# --- quarantine -------------------------------------------------------------------------------


def test_oversize_mail_is_quarantined_unread_and_staff_alerted(tmp_path, dovecot, smtp_server):
    """Over MAILINTAKE_MAX_MESSAGE_MB: never fetched (RFC822.SIZE first), moved, staff alerted."""
    desk = Desk(tmp_path, dovecot, smtp_server, max_message_mb="0.01")
    try:
        big = ("LOGSystem.zip", "application/zip", b"PK" + b"z" * 30_000)
        desk.deliver(client_mail(body=INCOMPLETE_BODY, attachments=[big]))
        desk.deliver(client_mail(body=INCOMPLETE_BODY, sender="maly@example.pl"))
        inbox = desk.app.open_inbox()
        try:
            items = list(inbox.fetch(desk.app.settings.max_message_bytes))
        finally:
            inbox.close()
        assert [item.raw is None for item in items] == [True, False]
        assert desk.run_once().outcomes == {"quarantined": 1, "created": 1}
        assert (desk.folder("INBOX"), desk.folder("Quarantine"), desk.folder("Processed")) == (
            0,
            1,
            1,
        )
        [held] = desk.rows(db.QuarantineRow)
        assert held.size > 10_000 and "not read" in held.reason
        assert any("quarantined" in m["Subject"] for m in desk.to(STAFF))
    finally:
        desk.app.close()


def test_unparseable_and_crashing_messages_are_quarantined_and_the_batch_goes_on(desk, monkeypatch):
    """A parser failure and a persistent fault each go to Quarantine with the raw kept."""
    from mailintake.services import intake

    real_classify = intake.mailrules.classify

    def classify(mail, **kw):
        if "boom" in mail.subject:
            raise RuntimeError("a bug in the rules")
        return real_classify(mail, **kw)

    monkeypatch.setattr(intake.mailrules, "classify", classify)
    desk.deliver(b"\r\n")
    desk.deliver(client_mail(body=INCOMPLETE_BODY, subject="boom"))
    desk.deliver(client_mail(body=INCOMPLETE_BODY))
    assert desk.run_once().outcomes == {"quarantined": 2, "created": 1}
    assert (desk.folder("INBOX"), desk.folder("Quarantine"), desk.folder("Processed")) == (0, 2, 1)
    held = desk.rows(db.QuarantineRow)
    assert all(desk.app.blobs.has("raw", h.raw_sha256) for h in held)
    assert any("RuntimeError" in h.reason for h in held)
    assert len([m for m in desk.to(STAFF) if "quarantined" in m["Subject"]]) == 2


# --- outages ----------------------------------------------------------------------------------


class DaemonThread:
    """`daemon.run` in a thread, as `mailintake run` runs it, with its log events captured."""

    def __init__(self, app) -> None:
        self.app, self.stop = app, threading.Event()
        self.thread = threading.Thread(target=daemon.run, args=(app, self.stop), daemon=True)

    def __enter__(self) -> DaemonThread:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=60)
        assert not self.thread.is_alive()


def _wait_until(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_dovecot_stopping_mid_batch_loses_and_repeats_nothing(desk, monkeypatch):
    """Dovecot goes away after a batch of 10 of 30 messages and comes back: 30 tickets, 30 replies,
    once each."""
    from mailintake.services import intake

    real = intake.handle_batch
    calls = []

    def handle(app, arrivals, **kw):
        outcomes = real(app, arrivals, **kw)
        calls.extend(outcome.outcome for outcome in outcomes)
        if len(calls) >= 10 and not stopped:
            stopped.append(True)
            desk.dovecot.stop()
            threading.Timer(1.5, desk.dovecot.start).start()
        return outcomes

    stopped: list[bool] = []
    monkeypatch.setattr(intake, "BATCH", 10)  # Dovecot goes after the first batch's commit
    monkeypatch.setattr(intake, "handle_batch", handle)
    for n in range(30):
        desk.deliver(client_mail(body=INCOMPLETE_BODY, sender=f"k{n}@example.pl"))
    with structlog.testing.capture_logs() as logs, DaemonThread(desk.app) as running:
        assert _wait_until(lambda: len(desk.smtp.messages) >= 30 and desk.folder("INBOX") == 0)
        assert running.thread.is_alive()
    assert len(desk.rows(db.Ticket)) == 30
    assert sorted(r for m in desk.smtp.messages for r in m.rcpt_tos) == sorted(
        f"k{n}@example.pl" for n in range(30)
    )
    assert any(e["event"] == "daemon.retry" for e in logs)


def test_smtp_down_keeps_replies_in_the_outbox_until_it_is_back(desk):
    """With the SMTP server away the replies wait; once it is back each is sent exactly once."""
    desk.smtp.stop()
    for n in range(3):
        desk.deliver(client_mail(body=INCOMPLETE_BODY, sender=f"k{n}@example.pl"))
    assert desk.run_once().outcomes == {"created": 3}
    assert outbox.waiting_count(desk.app) == 3
    desk.smtp.start()
    later = desk.app.clock() + timedelta(minutes=5)
    assert outbox.flush(desk.app, now=later) == {"sent": 3, "retry": 0, "failed": 0}
    assert outbox.flush(desk.app, now=later + timedelta(hours=1))["sent"] == 0
    assert sorted(r for m in desk.smtp.messages for r in m.rcpt_tos) == [
        "k0@example.pl",
        "k1@example.pl",
        "k2@example.pl",
    ]


def test_an_unsendable_reply_does_not_block_the_outbox(desk):
    """A reply to a non-ASCII address the server cannot take fails alone; the next one goes out."""
    raw = client_mail(body=INCOMPLETE_BODY, sender="jdoe@machine.example")
    desk.deliver(raw.replace(b"jdoe@machine.example", "jdöe@mächine.example".encode()))
    desk.deliver(client_mail(body=INCOMPLETE_BODY))
    assert desk.run_once().outcomes == {"created": 2}
    assert len(desk.to(CLIENT)) == 1
    assert [r.status for r in desk.rows(db.OutboxRow)][:2] == ["failed", "sent"]
    assert any("not delivered" in m["Subject"] for m in desk.to(STAFF))


def test_the_outbox_never_gives_up_and_tells_staff_once_when_mail_waits_over_4_hours(desk):
    """SMTP away for three days: the reply waits (retried at least hourly), staff hear once, then it goes."""
    desk.smtp.stop()
    desk.deliver(client_mail(body=INCOMPLETE_BODY))
    desk.run_once()
    start = desk.app.clock()
    for hours in (1, 3, 5, 6, 30, 72):
        assert outbox.flush(desk.app, now=start + timedelta(hours=hours))["failed"] == 0
    rows = desk.rows(db.OutboxRow)
    [reply] = [r for r in rows if r.kind == "request_missing"]
    assert (reply.status, reply.attempts) == ("pending", 7)
    assert reply.next_attempt_at <= start + timedelta(hours=72) + outbox.MAX_RETRY * 1.2
    assert [r.kind for r in rows if r.kind == "outbox_overdue"] == ["outbox_overdue"]
    assert not desk.rows(db.Ticket)[0].flagged
    desk.smtp.start()
    assert outbox.flush(desk.app, now=start + timedelta(hours=74))["sent"] == 2
    assert len(desk.to(CLIENT)) == 1
    assert [m["Subject"] for m in desk.to(STAFF) if "over 4 h" in m["Subject"]]


def test_locked_sqlite_keeps_the_message_in_the_inbox_until_released(desk):
    """Another connection holding `BEGIN EXCLUSIVE`: retries, mail stays; after release: handled."""
    engine = desk.app.engine
    sa.event.listen(engine, "connect", lambda conn, _: conn.execute("PRAGMA busy_timeout=200"))
    engine.dispose()  # new connections wait 0.2 s instead of 30 s for the lock
    holder = sqlite3.connect(desk.db_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    desk.deliver(client_mail(body=INCOMPLETE_BODY))
    try:
        with structlog.testing.capture_logs() as logs, DaemonThread(desk.app):
            assert _wait_until(lambda: any(e["event"] == "daemon.retry" for e in logs))
            assert desk.folder("INBOX") == 1
            holder.execute("ROLLBACK")
            assert _wait_until(lambda: desk.folder("INBOX") == 0 and len(desk.smtp.messages) == 1)
    finally:
        holder.close()
    retries = [e for e in logs if e["event"] == "daemon.retry"]
    assert all("locked" in e["error"] for e in retries)
    assert len(desk.rows(db.Ticket)) == 1


# --- `mailintake quarantine list|retry` as ops use it ----------------------------------------


def test_quarantine_list_and_retry_after_raising_the_limit(tmp_path):
    """An over-limit mail is listed in quarantine; after the limit is raised, retry opens its ticket."""
    import json

    from tests.e2e.test_cli import cli

    state = tmp_path / "state"
    small = {"MAILINTAKE_MAX_MESSAGE_MB": "0.01"}
    big = client_mail(
        body=INCOMPLETE_BODY, attachments=[("a.zip", "application/zip", b"z" * 30_000)]
    )
    out = cli(state, "ingest", "--json", "-", stdin=big, env=small, check=False)
    assert json.loads(out.stdout)["outcome"] == "quarantined"
    [held] = json.loads(cli(state, "quarantine", "list", "--json").stdout)
    assert held["status"] == "held" and "over" in held["reason"]
    retried = cli(state, "quarantine", "retry", str(held["id"]))
    assert retried.stdout.decode().strip() == f"#{held['id']}: created LOG-000001"
    assert json.loads(cli(state, "quarantine", "list", "--json").stdout) == []
    listed = json.loads(cli(state, "tickets", "list", "--json").stdout)
    assert [t["key"] for t in listed] == ["LOG-000001"]
