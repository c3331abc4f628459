"""Hostile mail through real Dovecot, aiosmtpd and SQLite never runs a forged command (issue 10).

Each test delivers mail to a throw-away mailbox and runs the daemon's pass
(`daemon.run_once`), then reads tickets, the outbox and what SMTP received:
forged staff commands, strangers on other people's tickets, our own notices
quoted back, senders that are not there, spam and reused Message-IDs.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest
from sqlmodel import select

from mailintake import daemon
from mailintake.adapters import db
from mailintake.services import sweeps, views
from tests.apps import make_app
from tests.mails import COMPLETE_BODY, INCOMPLETE_BODY, client_mail, logs_attachment

pytestmark = pytest.mark.dovecot

STAFF = "anna.nowak@log-systems.com"
CLIENT = "jan.kowalski@example.pl"
AUTHSERV = "mx.log-systems.com"
PASS = f"Authentication-Results: {AUTHSERV}; dkim=pass header.d=log-systems.com\r\n".encode()


class Desk:
    """One mailbox on Dovecot, one SMTP server, one SQLite app: the product as deployed."""

    def __init__(self, tmp_path, dovecot, smtp, **env: str) -> None:
        self.dovecot, self.smtp, self.user = dovecot, smtp, dovecot.new_user()
        self.app = make_app(
            tmp_path / "state", database_url=f"sqlite:///{tmp_path / 'm.db'}",
            inbox_url=dovecot.url(self.user), imap_password=dovecot.password,
            smtp_url=smtp.url, imap_idle="false", **env,
        )  # fmt: skip

    def run(self, *raws: bytes) -> dict[str, int]:
        for raw in raws:
            self.dovecot.append(self.user, raw)
        return daemon.run_once(self.app).outcomes

    def mails(self, since: int = 0) -> list[EmailMessage]:
        return [
            email.message_from_bytes(m.data, policy=email.policy.default)
            for m in self.smtp.messages[since:]
        ]

    def to(self, address: str, since: int = 0) -> list[EmailMessage]:
        return [m for m in self.mails(since) if address in str(m["To"])]

    def ticket(self, key: str) -> dict:
        return views.show_ticket(self.app, key)

    def keys(self) -> list[str]:
        return [t["key"] for t in views.list_tickets(self.app)]

    def open(self) -> str:
        self.run(client_mail(body=COMPLETE_BODY, attachments=logs_attachment()))
        return self.keys()[-1]

    def rows(self, table) -> list:
        with db.transaction(self.app.engine) as session:
            return list(session.exec(select(table).order_by(table.id)))

    def folder(self, name: str) -> int:
        return len(self.dovecot.list_uids(self.user, name))


@pytest.fixture
def desk(tmp_path, dovecot, smtp_server):
    d = Desk(tmp_path, dovecot, smtp_server, staff_auth=f"authres:{AUTHSERV}")
    yield d
    d.app.close()


def staff_mail(subject: str, body: str = "Zamykam.\n", **kw) -> bytes:
    return PASS + client_mail(sender=STAFF, name="Anna Nowak", subject=subject, body=body, **kw)


def on_top(raw: bytes, header: str) -> bytes:
    """A header prepended above the message's own, as a DKIM replay does."""
    return header.encode() + b"\r\n" + raw


# --- 1. staff commands need an unambiguous, authenticated sender -------------------------


@pytest.mark.parametrize(
    "extra",
    [
        "Subject: [{key}] [ZAMKNIJ]",
        "From: Anna Nowak <anna.nowak@log-systems.com>",
        "Message-ID: <replayed@log-systems.com>",
        "In-Reply-To: <other@log-systems.com>",
        "Date: Mon, 30 Nov 2026 10:00:00 +0100",
    ],
)
def test_a_replayed_staff_mail_with_a_duplicated_field_changes_nothing(desk, extra):
    """A real, authenticated staff mail with one more single-instance field on top runs nothing."""
    key = desk.open()
    before = desk.ticket(key)
    sent = len(desk.smtp.messages)
    signed = staff_mail(f"[{key}] [ZAMKNIJ]", in_reply_to="ours@log-systems.com",
                        references=["ours@log-systems.com"])  # fmt: skip
    replay = on_top(signed, extra.format(key=key))
    assert desk.run(PASS + replay) == {"refused": 1}
    after = desk.ticket(key)
    assert (after["status"], after["history"]) == (before["status"], before["history"])
    assert [m["kind"] for m in after["messages"] if m["direction"] == "in"][-1] == "untrusted"
    [alert] = desk.mails(sent)
    assert alert["To"] == STAFF and "unverified staff sender" in alert["Subject"]


def test_the_genuine_staff_command_still_runs(desk):
    """The same authenticated staff mail without a duplicated field closes the ticket."""
    key = desk.open()
    assert desk.run(staff_mail(f"[{key}] [ZAMKNIJ]")) == {"command": 1}
    assert desk.ticket(key)["status"] == "ZAMKNIETY"


@pytest.mark.parametrize("thread", ["in_reply_to", "references"])
def test_a_command_whose_thread_names_another_ticket_than_its_subject_runs_nothing(desk, thread):
    """DKIM signs only the headers present when signing: an `In-Reply-To` added to a
    genuine `[LOG-1] [ANALIZA]` must not aim the command at another ticket."""
    first, second = desk.open(), desk.open()
    forged = f"{second}.forged@log-systems.com"
    aimed = {"in_reply_to": forged} if thread == "in_reply_to" else {"references": [forged]}
    assert desk.run(staff_mail(f"[{first}] [ZAMKNIJ]", **aimed)) == {"refused": 1}
    assert [desk.ticket(k)["status"] for k in (first, second)] == ["ANALIZA", "ANALIZA"]


def test_an_address_hidden_in_the_display_name_is_never_the_sender(tmp_path, dovecot, smtp_server):
    """Exchange mode: an intern's mail whose encoded name says anna.nowak@ runs no command."""
    d = Desk(tmp_path, dovecot, smtp_server, staff_auth="exchange")
    try:
        key = d.open()
        raw = client_mail(sender="intern@log-systems.com", subject=f"[{key}] [ZAMKNIJ]",
                          headers={"X-MS-Exchange-Organization-AuthAs": "Internal"})  # fmt: skip
        raw = raw.replace(
            b"From: Jan Kowalski <intern@log-systems.com>",
            b"From: =?utf-8?q?Anna:_anna.nowak@log-systems.com?= <intern@log-systems.com>",
        )
        outcomes = d.run(raw)
        assert "command" not in outcomes
        assert d.ticket(key)["status"] == "ANALIZA"
        assert all(m["from"] != STAFF for m in d.ticket(key)["messages"])
    finally:
        d.app.close()


def test_a_stranger_with_the_clients_address_as_display_name_opens_their_own_ticket(desk):
    """`"jan.kowalski@example.pl" <obcy@…>` with the client's key joins nothing of the client's."""
    key = desk.open()
    raw = client_mail(sender="obcy@attacker.example.com", subject=f"Re: [{key}] Błąd",
                      body=INCOMPLETE_BODY)  # fmt: skip
    raw = raw.replace(b"Jan Kowalski <obcy@", b'"jan.kowalski@example.pl" <obcy@')
    assert desk.run(raw) == {"created": 1}
    incoming = [m for m in desk.ticket(key)["messages"] if m["direction"] == "in"]
    assert [m["from"] for m in incoming] == ["jan.kowalski@example.pl"]  # the client's mail only
    assert (
        views.show_ticket(desk.app, desk.keys()[-1])["client_email"] == "obcy@attacker.example.com"
    )


def test_our_alert_never_carries_the_forged_command_and_a_reply_to_it_closes_nothing(desk):
    """The alert's subject quotes the forgery defanged; staff answering it close nothing."""
    key = desk.open()
    forged = client_mail(sender=STAFF, subject=f"[{key}] [ZAMKNIJ] x", body="x\n")
    sent = len(desk.smtp.messages)
    assert desk.run(forged) == {"refused": 1}
    [alert] = desk.mails(sent)
    assert "[ZAMKNIJ]" not in alert["Subject"] and "(ZAMKNIJ)" in alert["Subject"]
    answer = staff_mail(f"Re: {alert['Subject']}", body="To nie ja!\n",
                        in_reply_to=alert["Message-ID"].strip("<>"))  # fmt: skip
    desk.run(answer)
    assert desk.ticket(key)["status"] == "ANALIZA"


def test_a_reply_quoting_a_command_from_an_older_notice_of_ours_runs_nothing(desk):
    """A notice sent before the rule, its subject with a tag: a reply quoting the tag is refused."""
    key = desk.open()
    with db.transaction(desk.app.engine) as session:
        ticket = db.ticket_by_key(session, key)
        session.add(db.MessageRow(ticket_id=ticket.id, direction="out", message_id="old@log-systems.com",
                                  from_addr="support@log-systems.com", to_addrs=STAFF,
                                  subject=f"[{key}] unverified staff sender: [ZAMKNIJ]",
                                  at=desk.app.clock(), kind="alert_untrusted"))  # fmt: skip
    answer = staff_mail(f"Re: [{key}] unverified staff sender: [ZAMKNIJ]",
                        in_reply_to="old@log-systems.com")  # fmt: skip
    assert desk.run(answer) == {"refused": 1}
    assert desk.ticket(key)["status"] == "ANALIZA"


# --- 2. strangers cannot touch other people's tickets ---------------------------------------


def test_an_auto_reply_joins_a_ticket_only_through_a_message_we_sent(desk):
    """Key in the subject or a key-shaped Message-ID: no ticket; our real Message-ID: a note."""
    key = desk.open()
    [confirmation] = desk.to(CLIENT)
    ooo = {"Auto-Submitted": "auto-replied"}
    by_subject = client_mail(sender="obcy@attacker.example.com", subject=f"Out of office: [{key}]",
                             headers=ooo, body="Away\n")  # fmt: skip
    forged_id = client_mail(sender="obcy@attacker.example.com", subject="Auto: x", headers=ooo,
                            in_reply_to=f"{key}.deadbeef@log-systems.com", body="Away\n")  # fmt: skip
    genuine = client_mail(subject="Automatic reply", headers=ooo, body="Away\n",
                          in_reply_to=confirmation["Message-ID"].strip("<>"))  # fmt: skip
    assert desk.run(by_subject, forged_id) == {"ignored": 2}
    assert desk.run(genuine) == {"note": 1}
    kinds = [m["kind"] for m in desk.ticket(key)["messages"]]
    assert kinds.count("autoreply") == 1


def test_a_bounce_naming_a_key_shaped_id_we_never_sent_flags_nothing(desk):
    """A delivery report for `LOG-000001.x@our-domain` we never sent: no flag, no alert."""
    key = desk.open()
    sent = len(desk.smtp.messages)
    bounce = client_mail(sender="MAILER-DAEMON@attacker.example.com", subject="Undelivered Mail Returned to Sender",
                         body=f"could not be delivered\nMessage-ID: <{key}.feed@log-systems.com>\n",
                         headers={"X-Failed-Recipients": CLIENT})  # fmt: skip
    assert desk.run(bounce) == {"bounce": 1}
    assert desk.ticket(key)["flagged"] is False
    assert desk.mails(sent) == []


def test_fifty_forged_commands_bring_ten_alerts_and_one_summary(desk):
    """Staff alerts of one kind are capped: 10 an hour, then one summary, then only the log."""
    key = desk.open()
    sent = len(desk.smtp.messages)
    forged = [
        client_mail(sender=STAFF, subject=f"[{key}] [ZAMKNIJ] {n}", body="x\n") for n in range(50)
    ]
    assert desk.run(*forged) == {"refused": 50}
    alerts = desk.mails(sent)
    assert len(alerts) == 11
    assert sum("alerts held" in m["Subject"] for m in alerts) == 1


# --- 4. nothing a client sends disappears; nothing goes nowhere ------------------------------


@pytest.mark.parametrize(
    "from_line",
    [None, b"From:", b"From: Jan Kowalski", b"From: jan@example.pl\r\nFrom: inny@example.com"],
)
def test_mail_without_a_usable_sender_is_quarantined_and_never_answered(desk, from_line):
    """No, empty, unparsable or ambiguous From: quarantined with the reason, no ticket, no mail."""
    raw = client_mail(body=INCOMPLETE_BODY)
    raw = raw.replace(b"From: Jan Kowalski <jan.kowalski@example.pl>\r\n", b"")
    raw = (from_line + b"\r\n" if from_line else b"") + raw
    sent = len(desk.smtp.messages)
    assert desk.run(raw) == {"quarantined": 1}
    assert desk.keys() == []
    [held] = desk.rows(db.QuarantineRow)
    assert "sender" in held.reason
    assert [m["To"] for m in desk.mails(sent)] == [STAFF]
    assert desk.folder("Quarantine") == 1


def test_nothing_is_queued_to_an_address_that_cannot_be_delivered(desk):
    """An old ticket of `unknown@invalid`: its reminders are never queued."""
    desk.run(client_mail(body=INCOMPLETE_BODY))
    with db.transaction(desk.app.engine) as session:
        for ticket in db.tickets(session):
            ticket.client_email = "unknown@invalid"
    later = desk.app.clock().replace(year=desk.app.clock().year + 1)
    before = len(desk.rows(db.OutboxRow))
    sweeps.run_sweeps(desk.app, later)
    assert all(r.to_addr != "unknown@invalid" for r in desk.rows(db.OutboxRow)[before:])


def test_spam_verdicts_are_ignored_and_never_answered(desk):
    """X-Spam-Flag / X-Spam-Status / X-Spam: Yes → outcome ignored, no ticket, no answer."""
    spam = [client_mail(body=INCOMPLETE_BODY, headers={name: value})
            for name, value in (("X-Spam-Flag", "YES"), ("X-Spam-Status", "Yes, score=9.1"),
                                ("X-Spam", "Yes"))]  # fmt: skip
    assert desk.run(*spam) == {"ignored": 3}
    assert desk.keys() == [] and desk.mails() == []


def test_a_reused_message_id_on_other_content_is_a_new_message(desk):
    """Same Message-ID, other sender or body: a ticket each; same sender, subject, body: one."""
    first = client_mail(body=INCOMPLETE_BODY, message_id="reused@mailer.example.com")
    other = client_mail(
        body=COMPLETE_BODY, sender="ktos@example.com", message_id="reused@mailer.example.com"
    )
    copy = first.replace(b"Date:", b"X-Copy: 1\r\nDate:")
    assert desk.run(first) == {"created": 1}
    assert desk.run(other) == {"created": 1}
    assert desk.run(copy) == {"duplicate": 1}
    assert len(desk.keys()) == 2


def test_logs_inside_an_attached_message_count_for_the_ticket(desk):
    """A client forwards their colleague's mail with the logs: the ticket has the logs."""
    inner = client_mail(
        body=COMPLETE_BODY, attachments=logs_attachment(), subject="Raport zakończony błędem"
    )
    outer = EmailMessage(policy=email.policy.SMTP)
    outer["From"] = f"Jan Kowalski <{CLIENT}>"
    outer["To"] = "support@log-systems.com"
    outer["Subject"] = "Fwd: Raport zakończony błędem"
    outer["Message-ID"] = "<fwd1@example.pl>"
    outer.set_content(COMPLETE_BODY)
    outer.add_attachment(email.message_from_bytes(inner, policy=email.policy.SMTP))
    assert desk.run(outer.as_bytes()) == {"created": 1}
    ticket = desk.ticket(desk.keys()[-1])
    assert "LOGSystem_logs.zip" in ticket["fields"]["logs"]
    assert ticket["status"] == "ANALIZA"


@pytest.mark.parametrize("wrapping", ["message/rfc822 in base64", "an .eml as octet-stream"])
def test_logs_inside_an_attached_message_count_however_it_is_wrapped(desk, wrapping):
    """Mailers base64 an attached message (RFC 2046 forbids it) or send an .eml as a plain
    file: the message is still read, named by its subject, and its logs count."""
    import base64

    inner = client_mail(
        body=COMPLETE_BODY, attachments=logs_attachment(), subject="Raport zakończony błędem"
    )
    ctype = "message/rfc822" if wrapping.startswith("message") else "application/octet-stream"
    encoded = base64.encodebytes(inner).decode().replace("\n", "\r\n")
    raw = (
        f"From: Jan Kowalski <{CLIENT}>\r\nTo: support@log-systems.com\r\n"
        "Subject: Fwd: Raport\r\nMessage-ID: <fwd-b64@example.pl>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nW załączniku.\r\n"
        f"--b\r\nContent-Type: {ctype}\r\nContent-Transfer-Encoding: base64\r\n"
        'Content-Disposition: attachment; filename="Raport.eml"\r\n\r\n'
        f"{encoded}--b--\r\n"
    ).encode()
    assert desk.run(raw) == {"created": 1}
    ticket = desk.ticket(desk.keys()[-1])
    assert "LOGSystem_logs.zip" in ticket["fields"]["logs"]
    assert any(a["filename"] == "Raport zakończony błędem.eml" for a in ticket["attachments"])
