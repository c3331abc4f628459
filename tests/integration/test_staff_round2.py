"""Staff workflow faults found on a second look (issue 12, round 2).

Real Dovecot and aiosmtpd; SQLite and PostgreSQL where the database decides: merges
that must be refused, forwards that keep the client's words, close requests, copies,
notices staff were missing.
"""

from __future__ import annotations

import pytest

from tests.desk import STAFF, running_desk, text_of

pytestmark = pytest.mark.dovecot

OTHER = "maria.wisniewska@firma.example.com"


@pytest.fixture
def desk(tmp_path, dovecot, smtp_server, database_url):
    with running_desk(tmp_path, dovecot, smtp_server, database_url) as desk:
        yield desk


# -- 2. a duplicate goes only into an open ticket of the same client ----------------------


@pytest.mark.parametrize(
    ("case", "reason"),
    [("closed", "zamknięte"), ("other client", "innego klienta")],
)
def test_a_merge_into_a_closed_or_foreign_ticket_is_refused(desk, case, reason):
    if case == "closed":
        target = desk.open(message_id="first@example.pl")
        desk.staff(f"RE: [{target}] [ZAMKNIJ] Błąd")
    else:
        target = desk.open(sender=OTHER, name="Maria Wiśniewska", message_id="first@example.pl")
    duplicate = desk.open(subject="Ten sam błąd raportu", message_id="second@example.pl")
    before = (desk.ticket(target), desk.ticket(duplicate))
    sent = desk.sent
    assert desk.staff(f"RE: [{duplicate}] [DUPLIKAT {target}] Ten sam błąd") == {"refused": 1}
    [refusal] = desk.mails(sent)
    assert refusal["To"] == STAFF and reason in text_of(refusal)
    after = (desk.ticket(target), desk.ticket(duplicate))
    for field in ("status", "history", "linked", "fields", "attachments", "cc"):
        assert [a[field] for a in after] == [b[field] for b in before], field
