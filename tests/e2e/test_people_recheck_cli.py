"""The command line re-checked as ops and support leads read it (issue 13, R13).

Every time a person reads is Warsaw time (with the offset where ops compare instants);
a day in a table reads like the instants beside it; a folder that cannot be written is a
one-line reason, never a Python traceback.
"""

from __future__ import annotations

import argparse
import csv
import email
import email.policy
import io
import json
import os
import re

import pytest

from tests.e2e.test_cli import cli
from tests.e2e.test_people_cli import STAFF, ingest
from tests.mails import COMPLETE_BODY, client_mail, logs_attachment


def fixed_ticket(state) -> None:
    """LOG-000001, complete, passed to development with a fix due 15 January 2030."""
    ingest(state, client_mail(body=COMPLETE_BODY, attachments=logs_attachment()), env=STAFF)
    ingest(state, client_mail(sender="anna.nowak@log-systems.com", subject="[LOG-000001] [fix 2030-01-15]",
                              body="Passed to development."), env=STAFF)  # fmt: skip


def test_r4_table_shows_the_eta_like_the_other_dates(tmp_path):
    """The ETA cell is "15.01.2030", like "2.12.2026, 16:00" beside it, not English words."""
    state = tmp_path / "state"
    fixed_ticket(state)
    table = cli(state, "report", "r4").stdout.decode()
    row = next(line for line in table.splitlines() if line.startswith("LOG-000001"))
    assert "15.01.2030" in row and "January" not in row, row


def test_outbox_list_shows_warsaw_time_with_offset(tmp_path):
    """`outbox list` times are Warsaw local with their offset, like `tickets show`."""
    state = tmp_path / "state"
    fixed_ticket(state)
    out = cli(state, "outbox", "list").stdout.decode()
    first = out.splitlines()[0]
    assert re.search(r" \d{4}-\d{2}-\d{2} \d{2}:\d{2} \+0[12]:00 ", first), first
    json_out = cli(state, "outbox", "list", "--json").stdout.decode()
    assert "created_at" in json_out  # machines keep ISO-8601


def test_export_into_a_folder_that_cannot_be_made_is_a_one_line_error(tmp_path):
    """`--dir` naming a file, or under a missing read-only place: exit 1, a reason, no traceback."""
    state = tmp_path / "state"
    fixed_ticket(state)
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    for target in (a_file, a_file / "sub"):
        proc = cli(state, "tickets", "export", "LOG-000001", "--dir", str(target), check=False)
        err = proc.stderr.decode()
        assert proc.returncode == 1, err
        assert "Traceback" not in err and str(target) in err, err
        assert len(err.strip().splitlines()) == 1, err


def test_export_names_messages_by_warsaw_time(tmp_path):
    """The .eml names carry the Warsaw local time staff see in `tickets show`."""
    state = tmp_path / "state"
    fixed_ticket(state)
    shown = cli(state, "tickets", "show", "LOG-000001").stdout.decode()
    local = re.search(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}) \+0[12]:00 +←", shown)
    assert local
    target = tmp_path / "export"
    cli(state, "tickets", "export", "LOG-000001", "--dir", str(target))
    y, mo, d, h, mi = local.groups()
    assert (target / f"01-{y}{mo}{d}-{h}{mi}-in.eml").exists(), sorted(target.iterdir())


def _parsers(parser, path=()):
    """Every (sub)command's parser with its command words."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


def test_every_help_says_what_each_command_and_option_does():
    """`--help` of every command: a description, help for every option, no outside documents."""
    from mailintake.cli import build_parser

    for path, parser in _parsers(build_parser()):
        text = parser.format_help()
        where = " ".join(("mailintake", *path))
        assert not re.search(r"SPEC|section \d|§|issue \d|\.md\b", text), (where, text)
        if not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions):
            assert parser.description, f"{where}: no description"
        for action in parser._actions:
            assert action.help, f"{where} {action.option_strings or action.dest}: no help"


def test_report_for_excel_opens_in_polish_excel(tmp_path):
    """`--format excel`: UTF-8 with BOM, `;`-separated, Polish headers, Warsaw times, decimal comma.

    Polish Excel reads a CSV without BOM as cp1250 ("PrzykĹ‚ad") and splits on `;`, so
    the RFC 4180 `csv` (for tools) lands in one column; this one opens as a sheet.
    """
    state = tmp_path / "state"
    fixed_ticket(state)
    ingest(state, client_mail(sender="bob@acme.example.com", subject="=HYPERLINK(\"x\";\"y\")",
                              body="Hi, the app crashes."))  # fmt: skip
    raw = cli(state, "report", "r4", "--format", "excel").stdout
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Zgłoszenie", "Organizacja", "Status"]
    assert rows[1][:3] == ["LOG-000001", "Przykład Sp. z o.o.", "CZEKA NA POPRAWKĘ"]
    assert rows[1][3] == "2030-01-15", rows[1]  # a day Excel reads as a date
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", rows[1][4]), rows[1]  # Warsaw time
    r1 = list(csv.reader(io.StringIO(cli(state, "report", "r1", "--format", "excel")
                                     .stdout.decode("utf-8-sig")), delimiter=";"))  # fmt: skip
    row = dict(zip(r1[0], r1[1], strict=True))
    assert row["Temat"].startswith("'=")  # still never a formula
    assert re.fullmatch(r"\d+,\d", row["Wiek (godz.)"]), row


def _closed_ticket(state) -> None:
    ingest(state, client_mail(body=COMPLETE_BODY, attachments=logs_attachment()), env=STAFF)
    ingest(state, client_mail(sender="anna.nowak@log-systems.com", subject="[LOG-000001] [ROZWIĄZANY]",
                              body="Proszę zainstalować wersję 6.1.120."), env=STAFF)  # fmt: skip
    ingest(
        state, client_mail(subject="RE: [LOG-000001] Błąd", body="POTWIERDZAM\n\nJan"), env=STAFF
    )


@pytest.mark.parametrize(
    ("first_line", "rating"),
    [
        ("Oceniam na 5. Dzięki", 5),
        ("Daję 4, mogło być szybciej.", 4),
        ("Moja ocena: 5", 5),
        ("★★★★☆", 4),
        ("I rate it 5, thanks!", 5),
        ("I'd give you a 4.", 4),
    ],
)
def test_a_survey_answer_in_the_clients_words_is_recorded_not_a_new_ticket(
    tmp_path, first_line, rating
):
    """A rating written as people write it answers the survey; it opens no new ticket."""
    state = tmp_path / "state"
    _closed_ticket(state)
    proc = cli(state, "ingest", "-", stdin=client_mail(subject="RE: [LOG-000001] Błąd",
                                                       body=f"{first_line}\n\nJan Kowalski"))  # fmt: skip
    assert "survey LOG-000001" in proc.stdout.decode(), proc.stdout
    shown = json.loads(cli(state, "tickets", "show", "LOG-000001", "--json").stdout)
    assert shown["survey"]["rating"] == rating
    assert len(json.loads(cli(state, "tickets", "list", "--json").stdout)) == 1


def test_a_count_on_the_first_line_is_no_rating(tmp_path):
    """ "5 minut temu znowu się wywaliło" after closing is new trouble, not a rating of 5."""
    state = tmp_path / "state"
    _closed_ticket(state)
    proc = cli(state, "ingest", "-", stdin=client_mail(subject="RE: [LOG-000001] Błąd",
               body="5 minut temu znowu się wywaliło przy wydruku.\n\nJan"))  # fmt: skip
    assert "survey" not in proc.stdout.decode(), proc.stdout
    shown = json.loads(cli(state, "tickets", "show", "LOG-000001", "--json").stdout)
    assert shown["survey"] is None


def _mails_to(state, address: str) -> list[email.message.EmailMessage]:
    found = []
    for path in sorted((state / "outbox").glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if address in str(msg["To"]):
            found.append(msg)
    return found


LIMITS = {**STAFF, "MAILINTAKE_MAX_MESSAGE_MB": "0.05"}


def test_a_mail_piped_in_over_the_size_limit_gets_one_polite_notice(tmp_path):
    """`ingest` (an MTA pipe) refusing a mail for size tells its human sender, in their language."""
    state = tmp_path / "state"
    big = [("logs.zip", "application/zip", os.urandom(80_000))]
    ingest(state, client_mail(subject="Logi", body="Dzień dobry, logi w załączniku.",
                              attachments=big), env=LIMITS)  # fmt: skip
    ingest(state, client_mail(sender="bob@acme.example.com", subject="Logs", body="Hi, logs.",
                              attachments=big), env=LIMITS)  # fmt: skip
    ingest(state, client_mail(sender="robot@example.pl", subject="Report", body="Nightly.",
                              attachments=big, headers={"Auto-Submitted": "auto-generated"}),
           env=LIMITS)  # fmt: skip
    [notice] = _mails_to(state, "jan.kowalski@example.pl")
    text = notice.get_body(("plain",)).get_content()
    assert "0.05 MB" in text and "Dzień dobry" in text
    [english] = _mails_to(state, "bob@acme.example.com")
    assert "0.05 MB" in english.get_body(("plain",)).get_content()
    assert english.get_body(("plain",)).get_content().startswith("Hello")
    assert _mails_to(state, "robot@example.pl") == []


def test_the_quarantine_alert_shows_warsaw_times(tmp_path):
    """The staff alert's date and hold time read like `quarantine list`: Warsaw, with offset."""
    state = tmp_path / "state"
    ingest(state, client_mail(subject="Logi", attachments=[("a.zip", "application/zip",
                                                            os.urandom(80_000))]), env=LIMITS)  # fmt: skip
    [alert] = [
        m for m in _mails_to(state, "anna.nowak@log-systems.com") if "kwarantannie" in m["Subject"]
    ]
    text = alert.get_body(("plain",)).get_content()
    for label in ("Data / date", "Zatrzymano / at"):
        line = next(x for x in text.splitlines() if x.startswith(label))
        assert re.search(r": \d{4}-\d{2}-\d{2} \d{2}:\d{2} \+0[12]:00$", line), line
