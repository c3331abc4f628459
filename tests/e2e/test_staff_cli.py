"""Ownership and copies as a user sees them from the command line (issue 12, SPEC section 9)."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import json

from tests.e2e.test_cli import cli
from tests.mails import INCOMPLETE_BODY, client_mail

STAFF = "anna.nowak@log-systems.com"
COLLEAGUE = "ewa.nowicka@example.pl"


def test_show_list_and_reports_name_the_owner_and_the_copies(tmp_path):
    """After a staff status change: `owner` and `cc` in show --json, the list table and R-2."""
    state = tmp_path / "state"
    env = {"MAILINTAKE_STAFF": STAFF}
    (tmp_path / "client.eml").write_bytes(
        client_mail(body=INCOMPLETE_BODY, headers={"Cc": COLLEAGUE})
    )
    (tmp_path / "staff.eml").write_bytes(
        client_mail(sender=STAFF, subject="[LOG-000001] [KOMPLETNE]", body="Logi przez FTP.\n")
    )
    (tmp_path / "staff2.eml").write_bytes(
        client_mail(sender=STAFF, subject="[LOG-000001] [W TRAKCIE]", body="Sprawdzamy.\n")
    )
    cli(state, "ingest", *(str(tmp_path / n) for n in ("client.eml", "staff.eml", "staff2.eml")),
        env=env)  # fmt: skip
    shown = json.loads(cli(state, "tickets", "show", "LOG-000001", "--json", env=env).stdout)
    assert (shown["owner"], shown["cc"]) == (STAFF, [COLLEAGUE])
    listed = cli(state, "tickets", "list", env=env).stdout.decode()
    [row_line] = [line for line in listed.splitlines() if "LOG-000001" in line]
    assert STAFF in row_line
    r2 = cli(state, "report", "r2", "--format", "csv", env=env).stdout.decode()
    [row] = list(csv.DictReader(io.StringIO(r2)))
    assert row["owner"] == STAFF
    sent = [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted((state / "outbox").glob("*.eml"))
    ]
    to_client = [m for m in sent if "example.pl" in str(m["To"])]
    assert to_client and all(m["Cc"] == COLLEAGUE for m in to_client)
