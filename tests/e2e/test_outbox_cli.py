"""`mailintake outbox list|retry` as ops use them after an outage (issue 11, SPEC section 9)."""

from __future__ import annotations

import json

from tests.e2e.test_cli import cli
from tests.mails import INCOMPLETE_BODY, client_mail

KEYS = {"id", "status", "to", "subject", "ticket", "attempts", "next_attempt_at", "last_error",
        "created_at"}  # fmt: skip


def ingest(state, env: dict[str, str], sender: str) -> None:
    """A client's first mail through `ingest -`; its reply is sent (or waits) at once."""
    cli(state, "ingest", "-", stdin=client_mail(body=INCOMPLETE_BODY, sender=sender), env=env)


def listed(state, *args: str) -> list[dict]:
    return json.loads(cli(state, "outbox", "list", "--json", *args).stdout)


def test_outbox_list_shows_every_row_with_the_documented_keys_and_filters_by_status(
    tmp_path, smtp_server
):
    """A refused reply is `failed` with its error, a delivered one `sent`; --status picks one kind."""
    state, env = tmp_path / "state", {"MAILINTAKE_SMTP_URL": smtp_server.url}
    smtp_server.refuse("gone@example.pl")
    ingest(state, env, "gone@example.pl")
    ingest(state, env, "ok@example.pl")
    rows = listed(state)
    assert all(set(row) == KEYS for row in rows)
    by_to = {row["to"]: row for row in rows}
    failed, sent = by_to["gone@example.pl"], by_to["ok@example.pl"]
    assert (failed["status"], failed["ticket"], failed["attempts"]) == ("failed", "LOG-000001", 1)
    assert "550" in failed["last_error"] and failed["subject"].startswith("[LOG-000001]")
    assert (sent["status"], sent["last_error"], sent["next_attempt_at"]) == ("sent", None, None)
    assert sent["created_at"].endswith("+00:00")
    assert [row["to"] for row in listed(state, "--status", "failed")] == ["gone@example.pl"]
    text = cli(state, "outbox", "list", "--status", "failed").stdout.decode()
    assert "gone@example.pl" in text and "550" in text and "ok@example.pl" not in text


def test_outbox_retry_sends_a_failed_row_again_and_refuses_a_sent_one(tmp_path, smtp_server):
    """After the address is fixed `outbox retry ID` delivers it; a sent row is never sent twice."""
    state, env = tmp_path / "state", {"MAILINTAKE_SMTP_URL": smtp_server.url}
    smtp_server.refuse("later@example.pl")
    ingest(state, env, "later@example.pl")
    [row] = [r for r in listed(state) if r["to"] == "later@example.pl"]
    smtp_server.handler.refuse.clear()
    out = cli(state, "outbox", "retry", str(row["id"]), env=env).stdout.decode()
    assert out.splitlines()[0] == f"#{row['id']}: queued"
    assert [m.rcpt_tos for m in smtp_server.messages if "later@example.pl" in m.rcpt_tos]
    [again] = [r for r in listed(state) if r["id"] == row["id"]]
    assert (again["status"], again["attempts"]) == ("sent", 2)
    refused = cli(state, "outbox", "retry", str(row["id"]), env=env, check=False)
    assert refused.returncode == 1
    assert refused.stderr.decode().strip().startswith(f"mailintake: #{row['id']}: sent at")
    unknown = cli(state, "outbox", "retry", "999", env=env, check=False)
    assert unknown.stderr.decode().strip() == "mailintake: #999: no such outbox row"
    nothing = cli(state, "outbox", "retry", env=env, check=False)
    assert nothing.returncode == 1 and len(nothing.stderr.decode().splitlines()) == 1


def test_outbox_retry_all_sends_everything_that_waited(tmp_path, smtp_server):
    """`outbox retry --all` after an outage: each waiting reply goes out at once, once."""
    state, env = tmp_path / "state", {"MAILINTAKE_SMTP_URL": smtp_server.url}
    smtp_server.stop()
    for n in range(3):
        ingest(state, env, f"k{n}@example.pl")
    assert {r["status"] for r in listed(state)} == {"pending"}
    smtp_server.start()
    out = cli(state, "outbox", "retry", "--all", env=env).stdout.decode()
    assert out.splitlines()[-1] == "sent 3, failed 0, still waiting 0"
    assert sorted(r for m in smtp_server.messages for r in m.rcpt_tos) == [
        "k0@example.pl", "k1@example.pl", "k2@example.pl"]  # fmt: skip


def test_outbox_list_shows_a_clients_subject_with_its_control_characters_escaped(tmp_path):
    """A subject that would clear the screen or reverse the line is shown escaped (issue 10)."""
    state = tmp_path / "state"
    hostile = "Awaria \x1b[2J\x9b31m x\u202egpj.exe"
    cli(state, "ingest", "-", stdin=client_mail(body=INCOMPLETE_BODY, subject=hostile))
    text = cli(state, "outbox", "list").stdout.decode()
    assert not any(c in text for c in ("\x1b", "\x9b", "\u202e")), text.encode()
    assert "\\x1b[2J" in text
