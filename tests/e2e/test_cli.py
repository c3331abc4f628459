"""The `mailintake` command as ops and an MTA use it (SPEC sections 9 and 10)."""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.apps import REPO
from tests.mails import COMPLETE_BODY, INCOMPLETE_BODY, client_mail, logs_attachment

SHOW_KEYS = {
    "key",
    "status",
    "client_email",
    "client_name",
    "subject",
    "created_at",
    "fields",
    "missing",
    "attempts",
    "completion_due",
    "close_after",
    "auto_close_at",
    "awaiting_client",
    "suspended",
    "resolution",
    "close_reason",
    "survey",
    "linked",
    "messages",
    "attachments",
    "history",
}
FIELD_CODES = {
    "scenario",
    "version",
    "logs",
    "frequency",
    "screenshots",
    "error_code",
    "service_log_system",
    "service_lsa",
    "service_qdesk",
}


def cli(
    state: Path,
    *args: str,
    stdin: bytes | None = None,
    env: dict | None = None,
    check: bool = True,
    env_file: str = "/dev/null",
) -> subprocess.CompletedProcess:
    """Run `python -m mailintake.cli` with settings only from the environment, as systemd would."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MAILINTAKE_")}
    full_env.update(
        {
            "MAILINTAKE_STATE_DIR": str(state),
            "MAILINTAKE_CLIENTS_FILE": str(REPO / "config" / "clients.toml"),
            "MAILINTAKE_LOG_FORMAT": "json",
        }
    )
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "mailintake.cli", "--env-file", env_file, *args],
        input=stdin,
        capture_output=True,
        env=full_env,
        cwd=state.parent,
        timeout=120,
    )
    if check:
        assert proc.returncode == 0, proc.stderr.decode()
    return proc


def test_ingest_json_then_show_json_has_every_documented_key(tmp_path):
    """`ingest --json` prints one line per message; `tickets show --json` has every SPEC key."""
    state = tmp_path / "state"
    (tmp_path / "a.eml").write_bytes(client_mail(body=COMPLETE_BODY, attachments=logs_attachment()))
    (tmp_path / "b.eml").write_bytes(client_mail(body=INCOMPLETE_BODY))
    out = cli(state, "ingest", "--json", str(tmp_path / "a.eml"), str(tmp_path / "b.eml"))
    lines = [json.loads(line) for line in out.stdout.decode().splitlines()]
    assert [(x["outcome"], x["ticket"]) for x in lines] == [
        ("created", "LOG-000001"),
        ("created", "LOG-000002"),
    ]
    assert all(set(x) == {"file", "outcome", "ticket", "message_id"} for x in lines)
    shown = json.loads(cli(state, "tickets", "show", "LOG-000002", "--json").stdout)
    assert set(shown) >= SHOW_KEYS
    assert set(shown["fields"]) == FIELD_CODES
    assert shown["missing"] == ["version", "logs", "frequency"]
    assert shown["completion_due"].endswith("+00:00")
    assert shown["messages"][0]["direction"] == "in"
    assert shown["messages"][1]["direction"] == "out"
    assert set(shown["history"][0]) == {"from", "to", "at", "by", "reason"}
    listed = json.loads(cli(state, "tickets", "list", "--json").stdout)
    assert [t["key"] for t in listed] == ["LOG-000001", "LOG-000002"]
    assert set(listed[0]) == {"key", "status", "client_email", "subject", "created_at", "missing"}
    assert len(list((state / "outbox").glob("*.eml"))) == 2


def test_version_names_the_installed_release(tmp_path):
    """`mailintake --version` prints the installed release, and CHANGELOG.md says what it changed."""
    release = importlib.metadata.version("mailintake")
    out = cli(tmp_path / "state", "--version")
    assert out.stdout.decode().strip() == f"mailintake {release}"
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## {release}" in changelog


def test_ingest_from_stdin_like_an_mta_pipe(tmp_path):
    """`ingest -` reads one message from stdin and exits 0 after the commit."""
    state = tmp_path / "state"
    out = cli(state, "ingest", "--json", "-", stdin=client_mail(body=INCOMPLETE_BODY))
    assert json.loads(out.stdout)["outcome"] == "created"
    again = cli(state, "ingest", "--json", "-", stdin=client_mail(body=INCOMPLETE_BODY))
    assert json.loads(again.stdout)["ticket"] == "LOG-000002"


def test_ingest_exits_75_when_the_database_is_unreachable(tmp_path):
    """A transient fault (database down) gives EX_TEMPFAIL so the MTA keeps and retries the mail."""
    state = tmp_path / "state"
    proc = cli(
        state,
        "ingest",
        "-",
        stdin=client_mail(body=INCOMPLETE_BODY),
        check=False,
        env={"MAILINTAKE_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"},
    )
    assert proc.returncode == 75, proc.stderr.decode()
    assert proc.stderr.decode().strip().splitlines()[-1].startswith("mailintake: temporary failure")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MAILINTAKE_POLL_SECONDS", "often"),
        ("MAILINTAKE_INBOX_URL", "pop3://mail.example.com"),
        ("MAILINTAKE_STAFF_AUTH", "dkim"),
        ("MAILINTAKE_IMAP_IDLE", "maybe"),
        ("MAILINTAKE_STAFF", "not-an-address"),
    ],
)
def test_a_bad_setting_stops_the_program_naming_the_variable(tmp_path, variable, value):
    """A bad value stops the program at start with one line naming the variable (SPEC §10)."""
    proc = cli(tmp_path / "state", "tickets", "list", env={variable: value}, check=False)
    assert proc.returncode != 0
    assert proc.stderr.decode().strip().startswith(f"mailintake: {variable}")


def test_env_file_is_read_and_the_environment_wins(tmp_path):
    """`.env` sets values; a real environment variable beats the file (SPEC §10)."""
    state = tmp_path / "state"
    state.mkdir()
    (state / "none.env").write_text("MAILINTAKE_TICKET_PREFIX=ABC\nMAILINTAKE_POLL_SECONDS=x\n")
    proc = cli(
        state,
        "ingest",
        "--json",
        "-",
        stdin=client_mail(body=INCOMPLETE_BODY),
        env={"MAILINTAKE_POLL_SECONDS": "5"},
        env_file=str(state / "none.env"),
    )
    assert json.loads(proc.stdout)["ticket"] == "ABC-000001"


def test_run_once_on_the_embedded_default_maildir(tmp_path):
    """The quick start: a mail in the local Maildir becomes a ticket and an .eml reply."""
    state = tmp_path / "state"
    cli(state, "db", "upgrade")
    new = state / "inbox" / "new"
    new.mkdir(parents=True)
    shutil.copy(REPO / "config" / "samples" / "zgloszenie.eml", new / "1.zgloszenie")
    cli(state, "run", "--once")
    listed = json.loads(cli(state, "tickets", "list", "--json").stdout)
    assert [t["key"] for t in listed] == ["LOG-000001"]
    replies = list((state / "outbox").glob("*.eml"))
    assert len(replies) == 1
    assert b"LOG-000001" in replies[0].read_bytes()
    assert list(new.iterdir()) == []


def test_daemon_answers_a_mail_appended_while_it_idles_and_stops_on_sigterm(
    tmp_path, dovecot, smtp_server
):
    """`mailintake run` with IMAP IDLE answers new mail without waiting for a poll; SIGTERM → exit 0."""
    user = dovecot.new_user()
    state = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILINTAKE_")}
    env.update(
        {
            "MAILINTAKE_STATE_DIR": str(state),
            "MAILINTAKE_INBOX_URL": dovecot.url(user),
            "MAILINTAKE_IMAP_PASSWORD": dovecot.password,
            "MAILINTAKE_SMTP_URL": smtp_server.url,
            "MAILINTAKE_POLL_SECONDS": "600",
            "MAILINTAKE_LOG_FORMAT": "json",
        }
    )
    log_file = (tmp_path / "daemon.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailintake.cli", "--env-file", "/dev/null", "run"],
        env=env,
        stdout=log_file,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_log(state, proc)
        time.sleep(1.0)  # let it enter IDLE; the poll interval (600 s) is far beyond the wait below
        dovecot.append(user, client_mail(body=INCOMPLETE_BODY))
        [reply] = smtp_server.wait_for(1, timeout=20)
        assert b"LOG-000001" in reply.data
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=15)
        finally:
            proc.kill()
            proc.wait()
            log_file.close()
    log = (tmp_path / "daemon.log").read_text()
    assert code == 0, log[-2000:]
    events = [json.loads(line) for line in log.splitlines()]  # the daemon logs JSON to stdout
    assert any(e["event"] == "message.processed" and e["ticket"] == "LOG-000001" for e in events)


def _wait_for_log(state: Path, proc: subprocess.Popen, timeout: float = 20) -> None:
    """Wait until the daemon created its database (it has started)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (state / "mailintake.db").exists() or proc.poll() is not None:
            return
        time.sleep(0.05)


def test_check_on_the_embedded_default_passes_before_the_first_run(tmp_path):
    """`check` on a fresh machine (Maildir, file outbox, SQLite not yet created) says OK."""
    out = cli(tmp_path / "state", "check")
    lines = out.stdout.decode().splitlines()
    names = [line.split()[1] for line in lines]
    assert names == ["configuration", "database", "mailbox", "smtp", "sender"]
    assert all(line.startswith("OK") for line in lines)
