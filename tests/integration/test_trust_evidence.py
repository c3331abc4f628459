"""Hostile mail, round 2 (issue 10): client mail never vanishes on wording, senders are exact.

Through real Dovecot and SMTP on SQLite and PostgreSQL (`tests/desk.py`): a client's mail
that merely *reads* like an out-of-office note or a bounce, or comes from a role-looking
address, opens a ticket — only machine evidence (headers, a report's MIME structure, a null
envelope) makes a message an auto-reply or a bounce. An address hidden in RFC 2047 words or
one of several in a From list is no sender. Control characters in lookup values behave the
same on both databases.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from mailintake.adapters import db
from mailintake.services import intake
from tests.apps import make_app
from tests.desk import STAFF, running_desk
from tests.mails import COMPLETE_BODY, INCOMPLETE_BODY, client_mail

pytestmark = pytest.mark.dovecot

AUTHSERV = "mx.log-systems.com"
PASS = f"Authentication-Results: {AUTHSERV}; dkim=pass header.d=log-systems.com\r\n".encode()


@pytest.fixture
def desk(tmp_path, dovecot, smtp_server, database_url):
    with running_desk(
        tmp_path, dovecot, smtp_server, database_url, staff_auth=f"authres:{AUTHSERV}"
    ) as d:
        yield d


def _quarantined(desk) -> list[db.QuarantineRow]:
    with db.transaction(desk.app.engine) as session:
        return list(session.exec(select(db.QuarantineRow)))


# --- 1. a client's mail is never an auto-reply or a bounce on wording alone -----------------

CLIENT_LOOKALIKES = [
    {"subject": "Nieobecność w biurze: awaria drukarki etykiet"},
    {"subject": "Poza biurem: raport magazynowy się nie generuje"},
    {"subject": "Auto-reply w module Magazyn nie działa"},
    {"subject": "Przesyłka nie została dostarczona – błąd w module Wysyłki"},
    {"subject": "Nie dostarczono przesylki 12345, system pokazuje błąd"},
    {"subject": "Returned mail: zwroty nie księgują się"},
    {
        "subject": "Undelivered goods report: błąd raportu",
        "body": COMPLETE_BODY + "\nTowar nie został dostarczony, a raport pokazuje dostawę.\n",
    },
    {"sender": "it-admin@firma.pl"},
    {"sender": "owner-firma@firma.pl"},
    {"sender": "postmaster@example.pl"},
    {"name": "Postmaster ACME"},
    {"name": "Mail Delivery System"},
]


@pytest.mark.parametrize("kw", CLIENT_LOOKALIKES, ids=lambda kw: "|".join(kw.values())[:40])
def test_client_mail_that_reads_like_a_robot_opens_a_ticket(desk, kw):
    """Subject wording, a role-looking local part or a display name alone: a client's ticket."""
    assert desk.run(client_mail(**{"body": COMPLETE_BODY, **kw})) == {"created": 1}
    [key] = desk.keys()
    assert desk.ticket(key)["client_email"] == kw.get("sender", "jan.kowalski@example.pl")


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"X-Auto-Response-Suppress": "All"},
        {"Precedence": "auto_reply"},
    ],
    ids=lambda h: next(iter(h)),
)
def test_an_out_of_office_with_machine_evidence_is_still_no_ticket(desk, headers):
    """The same wording *with* a machine header is an auto-reply: no ticket, no answer."""
    raw = client_mail(subject="Nieobecność w biurze: Jan Kowalski", body="Wracam 3.12.\n",
                      headers=headers)  # fmt: skip
    assert desk.run(raw) == {"ignored": 1}
    assert desk.keys() == [] and desk.mails() == []


def test_a_wording_bounce_from_a_null_envelope_is_still_a_bounce(desk):
    """Wording strengthens machine evidence: Return-Path <> and a failure notice is a bounce."""
    raw = b"Return-Path: <>\r\n" + client_mail(
        sender="mailer-daemon@mx.example.pl", name="Mail Delivery System",
        subject="Przesyłka nie została dostarczona",
        body="Wiadomość nie została dostarczona do odbiorcy: user unknown.\n",
    )  # fmt: skip
    assert desk.run(raw) == {"bounce": 1}
    assert desk.keys() == []


# --- 2./3. an address only from a real addr-spec, and only one -------------------------------


@pytest.mark.parametrize(
    "from_line",
    [
        b"From: <=?utf-8?q?anna.nowak=40log-systems.com?=>",
        b"From: =?utf-8?q?anna.nowak?=@log-systems.com",
        b"From: Anna <=?utf-8?q?anna.nowak?=@log-systems.com>",
        b"From: anna.nowak@log-systems.com, intruz@example.com",
        b"From: Jan <jan.kowalski@example.pl>, Anna <anna.nowak@log-systems.com>",
    ],
)
def test_an_encoded_or_listed_sender_runs_no_command_and_joins_nothing(desk, from_line):
    """Encoded words in an addr-spec, or several authors in From: sender unknown, quarantined."""
    key = desk.open()
    before = desk.ticket(key)
    raw = client_mail(subject=f"[{key}] [ZAMKNIJ]", body="Zamykam.\n")
    raw = raw.replace(b"From: Jan Kowalski <jan.kowalski@example.pl>", from_line)
    assert desk.run(PASS + raw) == {"quarantined": 1}
    after = desk.ticket(key)
    assert (after["status"], len(after["messages"])) == (before["status"], len(before["messages"]))
    assert "sender" in _quarantined(desk)[-1].reason
    assert desk.keys() == [key]


# --- 5./8. control characters: the same on both databases, never an address ----------------


@pytest.mark.parametrize(
    ("header", "outcome"),
    [
        (b"Message-ID: <ab\x00cd@example.pl>", "created"),
        (b"In-Reply-To: <x\x00y@example.pl>", "created"),
        (b"References: <r\x00s@example.pl> <t\x01u@example.pl>", "created"),
        (b"Message-ID: <esc\x1b[2J@example.pl>", "created"),
    ],
)
def test_control_characters_in_ids_are_handled_alike_on_both_databases(
    tmp_path, database_url, header, outcome
):
    """A NUL or C0 control in a Message-ID, In-Reply-To or References: the same outcome."""
    app = make_app(tmp_path / "state", database_url=database_url)
    try:
        raw = client_mail(body=INCOMPLETE_BODY, message_id="plain@example.pl")
        name = header.partition(b":")[0]
        if name == b"Message-ID":
            raw = raw.replace(b"Message-ID: <plain@example.pl>", header)
        else:
            raw = header + b"\r\n" + raw
        assert intake.handle_message(app, raw).outcome == outcome
        assert intake.handle_message(app, raw).outcome == "duplicate"
    finally:
        app.close()


@pytest.mark.parametrize("local", [b"jan\x00", b"jan\x1b[2J", b"ja\rn", b"jan\x7f"])
def test_a_control_character_in_the_senders_address_is_no_sender(tmp_path, database_url, local):
    """NUL, ESC, CR or DEL in the From address: invalid, quarantined alike on both databases."""
    app = make_app(tmp_path / "state", database_url=database_url)
    try:
        raw = client_mail(body=INCOMPLETE_BODY).replace(
            b"<jan.kowalski@example.pl>", b"<" + local + b".kowalski@example.pl>"
        )
        result = intake.handle_message(app, raw)
        assert result.outcome == "quarantined" and "sender" in (result.reason or "")
        with db.transaction(app.engine) as session:
            assert {r.to_addr for r in session.exec(select(db.OutboxRow))} <= {STAFF}
    finally:
        app.close()


def test_staff_are_never_mailed_at_an_address_with_control_characters():
    """`is_deliverable` refuses any control character (SPEC section 5: never queued)."""
    from mailintake.domain.recipients import is_deliverable

    assert is_deliverable(STAFF)
    for bad in ("jan\x00@example.pl", "jan\x1b[2J@example.pl", "jan@exa\rmple.pl",
                "jan@example.pl\n", "ja\x7fn@example.pl", "jan\x85@example.pl"):  # fmt: skip
        assert not is_deliverable(bad), repr(bad)


# --- 7. a reused Message-ID with a new attachment is a new message --------------------------


def test_a_reused_message_id_with_a_new_attachment_keeps_the_attachment(desk):
    """Same Message-ID, sender, subject and text, but the logs attached: not a duplicate."""
    first = client_mail(body=COMPLETE_BODY, message_id="reused@mailer.example.com")
    again = client_mail(
        body=COMPLETE_BODY, message_id="reused@mailer.example.com",
        attachments=[("spooler.log", "text/plain", b"ERROR spooler stopped\r\n" * 10)],
    )  # fmt: skip
    copy = again.replace(b"Date:", b"X-Copy: 1\r\nDate:")
    assert desk.run(first) == {"created": 1}
    assert desk.run(again) != {"duplicate": 1}
    assert desk.run(copy) == {"duplicate": 1}
    keys = desk.keys()
    names = [a["filename"] for key in keys for a in desk.ticket(key)["attachments"]]
    assert "spooler.log" in names


# --- 6. header quirks inside MIME parts never lose the client's file ------------------------

_PART = (
    b"From: Jan Kowalski <jan.kowalski@example.pl>\r\nTo: support@log-systems.com\r\n"
    b"Subject: Logi spoolera\r\nMessage-ID: <%s@example.pl>\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nLogi w zalaczniku.\r\n--BB\r\n%s\r\n\r\n"
    b"RVJST1Igc3Bvb2xlciBzdG9wcGVk\r\n--BB--\r\n"
)


@pytest.mark.parametrize(
    "part_headers",
    [
        b'Content-Type : text/plain; name="spooler.log"\r\nContent-Transfer-Encoding : base64\r\n'
        b'Content-Disposition : attachment; filename="spooler.log"',
        b'Content-Type: text/plain; name="spooler.log"\r\nContent-Transfer-Encoding: base64\r\n'
        b"Content-Disposition: attachment; filename*",
        b'Content-Type: text/plain; name="spooler.log"\r\nContent-Transfer-Encoding: base64\r\n'
        b"Content-Disposition: attachment; filename*=utf-8''%ZZ%broken",
        b'Content-Type: text/plain; name="spooler.log"\r\nContent-Transfer-Encoding: base64\r\n'
        b'Content-Disposition: attachment; filename*=""',
    ],
    ids=["space-before-colon", "filename*-no-value", "filename*-bad-escape", "filename*-empty"],
)
def test_a_broken_part_header_keeps_the_attachment_and_its_name(desk, part_headers):
    """`Name : value` in a part, or a broken RFC 2231 filename*: the file and its name stay."""
    raw = _PART % (part_headers[-12:].hex().encode(), part_headers)
    assert desk.run(raw) == {"created": 1}
    [key] = desk.keys()
    files = desk.ticket(key)["attachments"]
    assert [a["filename"] for a in files] == ["spooler.log"], files


# --- 11. a quarantine move the server refuses: one entry, one alert ------------------------


def test_a_refused_quarantine_move_is_held_once_and_alerted_once(desk, monkeypatch):
    """The server refuses the move to Quarantine three passes running: one row, one alert."""
    from mailintake.adapters.inbox.imap import ImapInbox
    from mailintake.errors import TransientError

    def refuse(self, refs):
        raise TransientError("MOVE refused: [OVERQUOTA] Quarantine is full")

    monkeypatch.setattr(ImapInbox, "quarantine", refuse)
    raw = client_mail(body=INCOMPLETE_BODY).replace(
        b"From: Jan Kowalski <jan.kowalski@example.pl>\r\n", b""
    )
    desk.dovecot.append(desk.user, raw)
    from mailintake import daemon

    for _ in range(3):
        with pytest.raises(TransientError):
            daemon.run_once(desk.app)
    assert len(_quarantined(desk)) == 1
    monkeypatch.undo()
    daemon.run_once(desk.app)  # the server takes it now: moved, still one entry
    assert len(_quarantined(desk)) == 1 and desk.dovecot.list_uids(desk.user, "Quarantine")
    alerts = [m for m in desk.mails() if "quarantined" in str(m["Subject"])]
    assert len(alerts) == 1


# --- 10. unstamped mail: warned of once an hour across processes, always counted -------------


def test_unstamped_ingests_warn_once_an_hour_and_count_in_the_metrics(tmp_path, database_url):
    """Each MTA-pipe `ingest` is its own process (app): still one warning an hour, by the
    clock passed in, and every unstamped mail counts in the database-read metric."""
    import structlog
    from prometheus_client import generate_latest

    from mailintake.adapters.metrics import Metrics

    start = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    times = [start, start + timedelta(minutes=20), start + timedelta(minutes=61)]
    with structlog.testing.capture_logs() as logs:
        for n, now in enumerate(times):
            app = make_app(tmp_path / "state", database_url=database_url, clock=lambda t=now: t,
                           staff_auth=f"authres:{AUTHSERV}")  # fmt: skip
            try:
                raw = client_mail(body=INCOMPLETE_BODY, sender=f"k{n}@example.pl")
                assert intake.handle_message(app, raw).unstamped
            finally:
                app.close()
    assert [e["event"] for e in logs].count("security.mail_unstamped") == 2
    app = make_app(tmp_path / "state", database_url=database_url)
    try:
        text = generate_latest(Metrics(app.engine, poll_interval=30).registry).decode()
    finally:
        app.close()
    assert "mailintake_mail_unstamped_total 3.0" in text
