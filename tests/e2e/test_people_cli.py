"""The command line as support staff and ops use it: reports, the digest, tickets (issue 13)."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import json
import os
import re
import subprocess
import sys

import pytest

from tests.e2e.test_cli import cli
from tests.mails import COMPLETE_BODY, INCOMPLETE_BODY, client_mail, logs_attachment

STAFF = {"MAILINTAKE_STAFF": "anna.nowak@log-systems.com"}


def ingest(state, *mails: bytes, env: dict | None = None) -> None:
    for raw in mails:
        cli(state, "ingest", "-", stdin=raw, env=env)


def digests_sent(state) -> list[email.message.EmailMessage]:
    found = []
    for path in sorted((state / "outbox").glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if "Raport dzienny" in msg["Subject"]:
            found.append(msg)
    return found


def test_sweep_now_sends_the_digest_once_per_business_day(tmp_path):
    """`sweep --now` queues and sends the digest when due at that instant, once per day."""
    state = tmp_path / "state"
    ingest(state, client_mail(body=INCOMPLETE_BODY), env=STAFF)
    early = cli(state, "sweep", "--now", "2026-12-02T07:29:00+01:00", env=STAFF)
    assert json.loads(early.stdout)["digest"] == 0
    due = cli(state, "sweep", "--now", "2026-12-02T07:30:00+01:00", env=STAFF)
    assert json.loads(due.stdout)["digest"] == 1
    again = cli(state, "sweep", "--now", "2026-12-02T09:00:00+01:00", env=STAFF)
    assert json.loads(again.stdout)["digest"] == 0
    evening = cli(state, "sweep", "--now", "2026-12-03T19:18:00+01:00", env=STAFF)
    assert json.loads(evening.stdout)["digest"] == 0
    [digest] = digests_sent(state)
    assert "R-4 0" in digest["Subject"]


def test_report_r4_in_every_format(tmp_path):
    """`report r4` prints its title as a table, its header as CSV and a list as JSON."""
    state = tmp_path / "state"
    ingest(state, client_mail(body=COMPLETE_BODY, attachments=logs_attachment()))
    ingest(state, client_mail(sender="anna.nowak@log-systems.com", subject="[LOG-000001] [fix 2030-01-15]",
                              body="Passed to development."), env=STAFF)  # fmt: skip
    table = cli(state, "report", "r4").stdout.decode()
    assert table.startswith("R-4 Kolejka zgłoszeń w statusie CZEKA NA POPRAWKĘ")
    assert "LOG-000001" in table and "Przykład Sp. z o.o." in table
    rows = list(
        csv.DictReader(io.StringIO(cli(state, "report", "r4", "--format", "csv").stdout.decode()))
    )
    assert rows[0]["eta"] == "2030-01-15" and rows[0]["eta_past_sla"] == "true"
    [row] = json.loads(cli(state, "report", "r4", "--format", "json").stdout)
    assert row["status"] == "CZEKA_NA_POPRAWKE" and row["client_accepted"] is False


# ---------------------------------------------------------------- tickets show, export, list, search

HOSTILE_SUBJECT = "Faktura \x1b]0;pwned\x07\x1b[2J\u202egnp.exe"


def two_tickets(state) -> None:
    """LOG-000001: complete with logs, then a note; LOG-000002: an English client's, hostile subject."""
    ingest(state, client_mail(body=COMPLETE_BODY, attachments=logs_attachment()))
    ingest(state, client_mail(sender="anna.nowak@log-systems.com", subject="[LOG-000001] [NOTATKA]",
                              body="Sprawdzam na środowisku testowym."), env=STAFF)  # fmt: skip
    ingest(state, client_mail(sender="john@acme.example.com", name="John Smith",
                              subject=HOSTILE_SUBJECT, body=INCOMPLETE_BODY))  # fmt: skip


def test_show_prints_the_conversation_with_warsaw_times_and_attachment_sizes(tmp_path):
    """`tickets show` lists each message: time with offset, direction, sender, its own text."""
    state = tmp_path / "state"
    two_tickets(state)
    out = cli(state, "tickets", "show", "LOG-000001", env=STAFF).stdout.decode()
    assert "Jan Kowalski <jan.kowalski@example.pl>" in out or "jan.kowalski@example.pl" in out
    conversation = out.split("Rozmowa / conversation")[1]
    assert re.search(
        r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} \+0[12]:00 +← +jan\.kowalski@example\.pl", conversation
    )
    assert re.search(
        r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} \+0[12]:00 +→ +support@log-systems\.com", conversation
    )
    assert "Podczas uruchamiania raportu R-12" in conversation
    assert "LOGSystem_logs.zip" in out and re.search(r"LOGSystem_logs\.zip +\(1\.\d kB\)", out)
    history = out.split("Historia / history")[1].split("Rozmowa")[0]
    assert "None" not in history and "NOWY → NOWY" not in history
    assert "NOWY → ANALIZA" in history
    assert "Sprawdzam na środowisku testowym" in history


def test_show_list_and_search_escape_control_characters_from_mail(tmp_path):
    """A subject with terminal escape sequences and a bidi override is shown escaped, never raw."""
    state = tmp_path / "state"
    two_tickets(state)
    outputs = [
        cli(state, "tickets", "show", "LOG-000002").stdout,
        cli(state, "tickets", "list").stdout,
        cli(state, "tickets", "search", "faktura").stdout,
        cli(state, "report", "r1").stdout,
    ]
    for out in outputs:
        assert b"\x1b" not in out and "\u202e".encode() not in out and b"\x07" not in out
        assert b"\\x1b]0;pwned\\x07" in out


def test_export_writes_attachments_and_raw_messages(tmp_path):
    """`tickets export KEY --dir DIR` writes the ticket's files and every message as .eml."""
    state = tmp_path / "state"
    two_tickets(state)
    target = tmp_path / "export"
    cli(state, "tickets", "export", "LOG-000001", "--dir", str(target), env=STAFF)
    files = sorted(p.name for p in target.iterdir())
    assert "LOGSystem_logs.zip" in files
    assert (target / "LOGSystem_logs.zip").read_bytes() == logs_attachment()[0][2]
    emls = [target / name for name in files if name.endswith(".eml")]
    assert len(emls) == 3  # the client's mail, our confirmation, the staff note
    parsed = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in emls]
    assert parsed[0]["From"].addresses[0].addr_spec == "jan.kowalski@example.pl"
    assert any(m["From"].addresses[0].addr_spec == "support@log-systems.com" for m in parsed)


def test_export_of_an_unknown_ticket_fails_with_a_reason(tmp_path):
    """An unknown key is a one-line error, exit 1, nothing written."""
    cli(tmp_path / "state", "ingest", "-", stdin=client_mail(body="Opis błędu."))
    proc = cli(
        tmp_path / "state",
        "tickets",
        "export",
        "LOG-999999",
        "--dir",
        str(tmp_path / "x"),
        check=False,
    )
    assert proc.returncode == 1 and "LOG-999999" in proc.stderr.decode()
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    "status",
    [
        "ANALIZA",
        "analiza",
        "w trakcie",
        "W_TRAKCIE",
        "nowy",
        "Zamknięty",
        "ZAMKNIETY",
        "czeka na poprawkę",
    ],
)
def test_list_status_takes_the_code_or_the_displayed_name(tmp_path, status):
    """`--status` takes the code or the displayed name, any case, with or without diacritics."""
    state = tmp_path / "state"
    two_tickets(state)
    proc = cli(state, "tickets", "list", "--status", status, "--json")
    expected = {"analiza": ["LOG-000001"], "nowy": ["LOG-000002"]}.get(status.lower(), [])
    assert [t["key"] for t in json.loads(proc.stdout)] == expected


def test_list_with_an_unknown_status_lists_the_valid_ones(tmp_path):
    """An unknown status is an error naming every valid one."""
    proc = cli(tmp_path / "state", "tickets", "list", "--status", "otwarty", check=False)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "otwarty" in err and "NOWY" in err and "CZEKA NA PUBLIKACJĘ" in err


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("LOG-000002", ["LOG-000002"]),
        ("acme.example.com", ["LOG-000002"]),
        ("ACME Ltd", ["LOG-000002"]),
        ("przykład sp", ["LOG-000001"]),
        ("GENEROWANIU", ["LOG-000001"]),
        ("generowanie raportow sprzedazy", ["LOG-000002"]),
        ("nothing like this", []),
    ],
)
def test_search_finds_tickets_by_key_client_organisation_subject_and_body(tmp_path, text, keys):
    """`tickets search` matches key, client address or organisation, subject and body."""
    state = tmp_path / "state"
    two_tickets(state)
    found = json.loads(cli(state, "tickets", "search", text, "--json").stdout)
    assert [t["key"] for t in found] == keys


def test_piping_a_long_list_into_head_exits_quietly(tmp_path):
    """`tickets list | head -1` ends without a traceback or a broken-pipe message."""
    state = tmp_path / "state"
    ingest(state, *[client_mail(body=INCOMPLETE_BODY) for _ in range(3)])
    command = [sys.executable, "-m", "mailintake.cli", "--env-file", "/dev/null"]
    env = {**os.environ, "MAILINTAKE_STATE_DIR": str(state), "MAILINTAKE_LOG_FORMAT": "json"}  # fmt: skip
    for _ in range(3):
        proc = subprocess.run(
            f"{' '.join(command)} tickets list | head -c 10",
            shell=True, capture_output=True, env=env, cwd=tmp_path, timeout=60,
        )  # fmt: skip
        assert proc.stderr == b"", proc.stderr.decode()


@pytest.mark.parametrize(
    "command",
    [["run"], ["ingest"], ["sweep"], ["tickets", "list"], ["tickets", "show"], ["tickets", "search"],
     ["tickets", "export"], ["report"], ["quarantine", "list"], ["quarantine", "retry"], ["check"],
     ["db", "upgrade"]],
)  # fmt: skip
def test_every_command_and_option_says_what_it_does(tmp_path, command):
    """`--help` of every command describes it and each of its options; nothing outside the repo."""
    out = cli(tmp_path / "state", *command, "--help").stdout.decode()
    assert "../shared" not in out and "SPEC" not in out
    description = out.split("\n\n")[1]
    assert not description.startswith(("options:", "positional")), f"{command}: no description"
    options = re.findall(r"^  (-[-\w, ]+?|\w[\w-]*)(?:[ \t]{2,}(.*))?$", out, re.MULTILINE)
    assert options, out
    for name, text in options:
        if name.startswith("-h"):
            continue
        assert text.strip() or _described_below(out, name), f"{command} {name}: no help"


def _described_below(out: str, name: str) -> bool:
    """argparse puts a long option's help on the next line."""
    lines = out.splitlines()
    index = next(i for i, line in enumerate(lines) if line.strip().startswith(name))
    return index + 1 < len(lines) and lines[index + 1].startswith(" " * 8)


def test_run_once_fails_when_the_smtp_server_refused_mail(tmp_path, smtp_server):
    """`run --once` exits non-zero and says so when the SMTP server refused our answer."""
    state = tmp_path / "state"
    (state / "inbox" / "new").mkdir(parents=True)
    (state / "inbox" / "new" / "1.eml").write_bytes(client_mail(body=INCOMPLETE_BODY))
    smtp_server.refuse("jan.kowalski@example.pl")
    env = {"MAILINTAKE_SMTP_URL": smtp_server.url, **STAFF}
    proc = cli(state, "run", "--once", env=env, check=False)
    assert proc.returncode == 1
    last = proc.stderr.decode().strip().splitlines()[-1]
    assert last.startswith("mailintake: 1 message(s) left in the outbox, the SMTP server refused")
    assert "550" in last
    assert cli(state, "run", "--once", env=env).returncode == 0  # refused once, not again
