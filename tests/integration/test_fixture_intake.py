"""The project's own mail through Dovecot, one daemon pass, SQLite and aiosmtpd (SPEC section 5).

Every file of tests/fixtures/mail and an Outlook mail with `winmail.dat` are
APPENDed to one support mailbox (what Dovecot refuses goes through `ingest`'s
path instead), then one `daemon.run_once` must account for each exactly once,
with the outcome its kind calls for, and answer no machine. The same on the
real-world conformance corpus: test_corpus_intake.py.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter

import pytest
from imapclient.exceptions import IMAPClientError
from sqlmodel import select

from mailintake import daemon
from mailintake.adapters import db
from mailintake.services import intake
from tests import tnef
from tests.apps import make_app
from tests.fixture_mail import EXPECTED, read
from tests.mails import COMPLETE_BODY, client_mail
from tests.servers import running_smtp_server

pytestmark = pytest.mark.dovecot

STAFF = "anna.nowak@log-systems.com"
MACHINE = re.compile(r"mailer-?daemon|postmaster|no-?reply|bounce|daemon|fbl|verify", re.I)
STORED_WITHOUT_TICKET = {"bounce", "ignored", "refused"}


def own_mail() -> dict[str, bytes]:
    """Every fixture by name, and an Outlook mail whose logs come inside winmail.dat."""
    winmail = tnef.stream([("LOGSystem_logi.zip", b"PK\x03\x04" + b"log\r\n" * 200)])
    mails = {name: read(name) for name in EXPECTED}
    mails["outlook-winmail"] = client_mail(
        sender="m.wojcik@example.com.pl",
        body=COMPLETE_BODY,
        attachments=[("winmail.dat", "application/ms-tnef", winmail)],
    )
    return mails


@pytest.fixture(scope="module")
def run(tmp_path_factory, _dovecot_server):
    """One pass over the whole own mailbox, once for the module; returns what it left behind."""
    dovecot, tmp = _dovecot_server, tmp_path_factory.mktemp("own-mail")
    dovecot.start()  # an earlier outage test may have stopped the shared server
    user = dovecot.new_user()
    with running_smtp_server() as smtp_server:
        yield from _one_pass(tmp, dovecot, user, smtp_server)


def _one_pass(tmp_path, dovecot, user, smtp_server):
    app = make_app(
        tmp_path / "state",
        database_url=f"sqlite:///{tmp_path / 'mailintake.db'}",
        inbox_url=dovecot.url(user),
        imap_password=dovecot.password,
        smtp_url=smtp_server.url,
        imap_idle="false",
        staff_auth="authres:mx.log-systems.com",
    )
    shas, uids = {}, {}
    try:
        with dovecot.session(user) as client:
            for name, raw in own_mail().items():
                try:
                    response = client.append("INBOX", raw)
                except IMAPClientError:  # what IMAP refuses, an MTA pipe still delivers
                    shas[name] = hashlib.sha256(raw).hexdigest()
                    intake.handle_message(app, raw, source_ref=f"ingest:{name}")
                    continue
                uids[int(re.search(rb"APPENDUID \d+ (\d+)", response).group(1))] = name
            # The bytes as IMAP hands them out: Dovecot stores LF-only mail with CRLF.
            client.select_folder("INBOX", readonly=True)
            for uid, data in client.fetch(list(uids), ["BODY.PEEK[]"]).items():
                shas[uids[uid]] = hashlib.sha256(data[b"BODY[]"]).hexdigest()
        result = daemon.run_once(app)
        assert result.transient_error is None
        with db.transaction(app.engine) as session:
            intake_rows = {r.raw_sha256: r for r in session.exec(select(db.IntakeRow))}
            held = Counter(r.raw_sha256 for r in session.exec(select(db.QuarantineRow)))
            stored = Counter(
                (m.raw_sha256, m.ticket_id is not None)
                for m in session.exec(select(db.MessageRow).where(db.MessageRow.direction == "in"))
            )
            tickets = {t.key: t for t in session.exec(select(db.Ticket))}
        yield {
            "shas": shas,
            "intake": intake_rows,
            "held": held,
            "stored": stored,
            "tickets": tickets,
            "inbox_left": len(dovecot.list_uids(user, "INBOX")),
            "sent": smtp_server.wait_for(len(tickets)),
        }
    finally:
        app.close()


def test_each_own_message_is_accounted_for_once_with_its_outcome(run):
    """Each message has one intake row with the outcome its kind calls for, or one quarantine row."""
    found = {}
    for name, sha in run["shas"].items():
        row, held = run["intake"].get(sha), run["held"][sha]
        found[name] = "quarantined" if held and row is None else (row.outcome if row else None)
        assert (row is None) != (held == 0), name
    expected = {name: e.outcome for name, e in EXPECTED.items()} | {"outlook-winmail": "created"}
    assert found == expected
    assert run["inbox_left"] == 0


def test_client_mail_is_stored_on_a_ticket_and_machine_mail_on_none(run):
    """Created tickets hold their message; bounces, auto-replies, reports and refusals open none."""
    for name, sha in run["shas"].items():
        outcome = EXPECTED[name].outcome if name in EXPECTED else "created"
        if outcome == "created":
            assert run["stored"][(sha, True)] == 1, name
        elif outcome in STORED_WITHOUT_TICKET:
            assert run["stored"][(sha, False)] == 1, name
    assert len(run["tickets"]) == sum(e.outcome == "created" for e in EXPECTED.values()) + 1


def test_no_machine_gets_an_automatic_answer(run):
    """Only clients and staff get mail: no bounce daemon, feedback loop or challenge robot."""
    clients = {t.client_email for t in run["tickets"].values()}
    recipients = {r.lower() for m in run["sent"] for r in m.rcpt_tos}
    assert {r for r in recipients if MACHINE.search(r.partition("@")[0])} == set()
    colleagues = {a for t in run["tickets"].values() for a in t.cc}  # in copy (issue 12)
    assert recipients - clients - colleagues - {STAFF} == set()
    # Every new ticket was acknowledged, but an out-of-office subject with no machine header
    # (a ticket, since it may be a client's request) gets no answer just in case (issue 10).
    assert clients - {"p.mazur@example.com"} <= recipients
