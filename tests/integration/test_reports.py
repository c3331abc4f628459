"""Reports R-1, R-2, R-3 (SPEC section 8) on a prepared set of tickets, in all three formats.

The set is made the way production makes it — mail through the intake, the
status helpers staff commands use — at fixed instants in late November 2026
(no Polish holiday in that stretch), and every report is read on Wednesday
2026-12-02 at 10:00 Warsaw time.
"""

from __future__ import annotations

import csv
import email
import email.policy
import io
import json
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from mailintake.adapters import db
from mailintake.app import App
from mailintake.domain.sla import pauses
from mailintake.domain.status import CloseReason, Status
from mailintake.services import intake, lifecycle, reportfmt, reports, sweeps, trend
from mailintake.services import tickets as t
from tests.apps import make_app
from tests.mails import COMPLETE_BODY, INCOMPLETE_BODY, client_mail, logs_attachment

WARSAW = ZoneInfo("Europe/Warsaw")
STAFF = "anna.nowak@log-systems.com"


def warsaw(*args: int) -> datetime:
    return datetime(*args, tzinfo=WARSAW)


NOW = warsaw(2026, 12, 2, 10)


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


class Office:
    """Drives the intake and the status helpers at chosen instants."""

    def __init__(self, app: App, clock: Clock):
        self.app, self.clock = app, clock

    def mail(self, sender: str, at: datetime, *, complete: bool = True) -> None:
        self.clock.now = at
        raw = (client_mail(sender=sender, body=COMPLETE_BODY, attachments=logs_attachment())
               if complete else client_mail(sender=sender, body=INCOMPLETE_BODY))  # fmt: skip
        intake.handle_message(self.app, raw, received_at=at)

    def staff(self, key: str, at: datetime, action) -> None:
        self.clock.now = at
        with db.transaction(self.app.engine) as session:
            action(session, db.ticket_by_key(session, key), at)


def prepare(office: Office) -> None:
    """Seven tickets: NOWY, ANALIZA, W TRAKCIE awaiting, two ROZWIĄZANY, a fix, a closed one."""
    app = office.app
    office.mail("jan.kowalski@example.pl", warsaw(2026, 11, 26, 14), complete=False)  # 1
    office.mail("ola@example.pl", warsaw(2026, 11, 30, 9))  # 2: premium, nobody answered
    office.mail("john@acme.example.com", warsaw(2026, 12, 1, 8))  # 3: standard
    office.staff("LOG-000003", warsaw(2026, 12, 1, 9), lambda s, tk, at: t.change_status(
        s, tk, Status.W_TRAKCIE, by=STAFF, reason="in progress", now=at))  # fmt: skip
    office.staff("LOG-000003", warsaw(2026, 12, 2, 9), lambda s, tk, at: lifecycle.ask_question(
        s, app, tk, by=STAFF, text="Which report?", now=at))  # fmt: skip
    office.mail("piotr@example.pl", warsaw(2026, 11, 30, 10))  # 4: premium, resolved in 2 h
    office.staff("LOG-000004", warsaw(2026, 11, 30, 12), lambda s, tk, at: lifecycle.resolve(
        s, app, tk, by=STAFF, resolution="full", text="Fixed.", now=at))  # fmt: skip
    office.mail("marek@firma.example.org", warsaw(2026, 11, 26, 9))  # 5: default plan, late
    office.staff("LOG-000005", warsaw(2026, 12, 2, 9), lambda s, tk, at: lifecycle.resolve(
        s, app, tk, by=STAFF, resolution="workaround", text="Obejście.", now=at))  # fmt: skip
    office.mail("kasia@example.pl", warsaw(2026, 12, 1, 10))  # 6: waits for a fix
    office.staff("LOG-000006", warsaw(2026, 12, 1, 11), lambda s, tk, at: t.change_status(
        s, tk, Status.CZEKA_NA_POPRAWKE, by=STAFF, reason="fix", now=at))  # fmt: skip
    office.mail("zofia@example.pl", warsaw(2026, 11, 27, 9), complete=False)  # 7: closed
    office.staff("LOG-000007", warsaw(2026, 11, 27, 10), lambda s, tk, at: lifecycle.close(
        s, app, tk, CloseReason.STAFF, by=STAFF, now=at))  # fmt: skip


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    state = tmp_path_factory.mktemp("reports")
    clock = Clock(NOW)
    app = make_app(state, database_url=f"sqlite:///{state / 'mailintake.db'}", clock=clock)
    prepare(Office(app, clock))
    yield app
    app.close()


R1 = [
    {
        "key": "LOG-000001",
        "client": "jan.kowalski@example.pl",
        "client_organisation": "Przykład Sp. z o.o.",
        "subject": "Błąd przy generowaniu raportu",
        "created": "2026-11-26T13:00:00+00:00",
        "age_hours": 140.0,
        "missing": ["version", "logs", "frequency"],
        "attempts": 1,
        "completion_due": "2026-12-01T13:00:00+00:00",
        "close_after": "2026-12-01T13:00:00+00:00",
    }
]
R2 = [
    {  # premium: first response due 4 BH after Monday 09:00; 17 BH have run
        "key": "LOG-000002",
        "client": "ola@example.pl",
        "client_organisation": "Przykład Sp. z o.o.",
        "status": "ANALIZA",
        "sla_due": "2026-11-30T12:00:00+00:00",
        "business_hours_left": -13.0,
        "breached": True,
        "awaiting_client": False,
        "suspended": False,
        "owner": None,
    },
    {  # answered at 09:00 Tuesday; resolution clock stopped by the question at 09:00 Wednesday
        "key": "LOG-000003",
        "client": "john@acme.example.com",
        "client_organisation": "ACME Ltd",
        "status": "W_TRAKCIE",
        "sla_due": None,
        "business_hours_left": 31.0,
        "breached": False,
        "awaiting_client": True,
        "suspended": False,
        "owner": None,
    },
]
R4 = [
    {  # premium: 16 BH of resolution from Tuesday 10:00 run out on Thursday 10:00 Warsaw
        "key": "LOG-000006",
        "client_organisation": "Przykład Sp. z o.o.",
        "status": "CZEKA_NA_POPRAWKE",
        "eta": None,
        "sla_due": "2026-12-03T09:00:00+00:00",
        "eta_past_sla": None,
        "client_accepted": False,
    },
]
R3 = [
    {
        "key": "LOG-000004",
        "client": "piotr@example.pl",
        "client_organisation": "Przykład Sp. z o.o.",
        "resolved_at": "2026-11-30T11:00:00+00:00",
        "resolution": "full",
        "sla_met": True,
        "auto_close_at": "2026-12-03T11:00:00+00:00",
        "owner": None,
    },
    {  # first response only with the workaround, 32 BH after the start: target 8 missed
        "key": "LOG-000005",
        "client": "marek@firma.example.org",
        "client_organisation": "firma.example.org",  # not in clients.toml: its mail domain
        "resolved_at": "2026-12-02T08:00:00+00:00",
        "resolution": "workaround",
        "sla_met": False,
        "auto_close_at": "2026-12-05T08:00:00+00:00",
        "owner": None,
    },
]


def test_r1_lists_new_tickets_with_what_is_missing_and_the_completion_deadlines(app):
    """R-1: only NOWY tickets, with age in hours, missing fields, attempts and both deadlines."""
    assert reports.r1(app, NOW) == R1


def test_r2_lists_analysis_and_in_progress_with_sla_most_urgent_first(app):
    """R-2: ANALIZA and W TRAKCIE only (not waiting for a fix), SLA per client plan and pauses."""
    assert reports.r2(app, NOW) == R2


def test_r3_lists_resolved_tickets_with_whether_the_sla_was_met(app):
    """R-3: ROZWIĄZANY tickets, the next to close itself first, SLA measured at resolution."""
    assert reports.r3(app, NOW) == R3


def test_r2_resolution_due_appears_once_the_client_answers(app):
    """The SLA clock paused while awaiting the client resumes at the answer, shifting its due."""
    with db.transaction(app.engine) as session:
        ticket = db.ticket_by_key(session, "LOG-000003")
        paused = pauses(ticket.sla_paused)
        sla = reports.sla_of(session, app, ticket, NOW)
    assert paused == [(warsaw(2026, 12, 2, 9), None)]
    assert sla.first_response_at == warsaw(2026, 12, 1, 9)
    assert sla.resolution_due is None


def test_r4_lists_tickets_waiting_for_developers_with_the_eta_against_the_sla(app):
    """R-4: CZEKA NA POPRAWKĘ / PUBLIKACJĘ with organisation, ETA, SLA due and acceptance."""
    assert reports.r4(app, NOW) == R4


EVERY = [("r1", R1), ("r2", R2), ("r3", R3), ("r4", R4)]


@pytest.mark.parametrize(("which", "expected"), EVERY)
def test_json_is_a_list_of_objects_with_iso_times(app, which, expected):
    """--format json: the rows as objects; instants ISO-8601 with offset."""
    out = reports.render(app, which, "json", NOW)
    assert json.loads(out) == expected


@pytest.mark.parametrize(("which", "expected"), EVERY)
def test_csv_has_the_spec_columns_and_one_line_per_ticket(app, which, expected):
    """--format csv: a header of the SPEC columns, then one record per row of the report."""
    out = reports.render(app, which, "csv", NOW)
    records = list(csv.reader(io.StringIO(out)))
    assert tuple(records[0]) == reports.COLUMNS[which]
    assert [r[0] for r in records[1:]] == [row["key"] for row in expected]


def test_csv_cells_are_plain_values(app):
    """Booleans read true/false, lists are space-separated codes, nothing is empty string."""
    r1 = list(csv.DictReader(io.StringIO(reports.render(app, "r1", "csv", NOW))))
    r2 = list(csv.DictReader(io.StringIO(reports.render(app, "r2", "csv", NOW))))
    assert r1[0]["missing"] == "version logs frequency"
    assert r1[0]["completion_due"] == "2026-12-01T13:00:00+00:00"
    assert [(r["breached"], r["sla_due"]) for r in r2] == [
        ("true", "2026-11-30T12:00:00+00:00"),
        ("false", ""),
    ]


def test_table_is_titled_aligned_and_in_warsaw_time(app):
    """--format table: the report's title, a header, aligned columns, local times, display names."""
    lines = reports.render(app, "r2", "table", NOW).splitlines()
    assert lines[0].startswith("R-2 Kolejka zgłoszeń w statusie ANALIZA lub W TRAKCIE")
    header, rule, first, second = lines[2:6]
    assert header.split() == list(reports.COLUMNS["r2"])
    assert "30.11.2026, 13:00" in first  # 12:00 UTC read in Warsaw
    assert "W TRAKCIE" in second
    column = header.index("breached")
    assert first[column:].startswith("yes")
    assert second[column:].startswith("no")
    assert set(rule) == {"─"}


def test_table_columns_hold_long_addresses_inside_a_narrow_terminal(app):
    """In 60 columns a long address wraps inside its column: every line fits, keys line up."""
    lines = reports.render(app, "r3", "table", NOW, width=60).splitlines()
    assert max(len(line) for line in lines[2:]) <= 60
    keys = [line for line in lines if line.startswith("LOG-")]
    assert [line.split()[0] for line in keys] == ["LOG-000004", "LOG-000005"]


def test_empty_report_says_so_in_every_format(tmp_path):
    """No tickets: a table that says so, a CSV with only its header, an empty JSON list."""
    app = make_app(tmp_path, database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        assert "no tickets" in reports.render(app, "r3", "table", NOW)
        header = ",".join(reports.COLUMNS["r3"])
        assert reports.render(app, "r3", "csv", NOW).splitlines() == [header]
        assert json.loads(reports.render(app, "r3", "json", NOW)) == []
    finally:
        app.close()


@pytest.mark.parametrize(("which", "fmt"), [("r5", "json"), ("r1", "xml")])
def test_unknown_report_or_format_is_refused(app, which, fmt):
    """Only r1 … r4 and table, csv, json exist; anything else is a ValueError naming it."""
    with pytest.raises(ValueError, match=which if which == "r5" else fmt):
        reports.render(app, which, fmt, NOW)


# -- the daily digest ------------------------------------------------------


def digests(app: App) -> list[email.message.EmailMessage]:
    with db.transaction(app.engine) as session:
        rows = session.exec(select(db.OutboxRow).where(db.OutboxRow.kind == "digest")).all()
        return [email.message_from_bytes(r.raw, policy=email.policy.default) for r in rows]


def test_digest_goes_to_staff_once_per_business_day_after_its_time(tmp_path):
    """Not before 07:30, once that day, not on Saturday, again on Monday."""
    clock = Clock(warsaw(2026, 11, 26, 14))
    app = make_app(tmp_path, database_url=f"sqlite:///{tmp_path / 'd.db'}", clock=clock)
    try:
        Office(app, clock).mail("jan.kowalski@example.pl", clock.now, complete=False)
        assert not sweeps.send_digest_if_due(app, warsaw(2026, 11, 27, 7, 29))
        assert sweeps.send_digest_if_due(app, warsaw(2026, 11, 27, 7, 30))
        assert not sweeps.send_digest_if_due(app, warsaw(2026, 11, 27, 15))
        assert not sweeps.send_digest_if_due(app, warsaw(2026, 11, 28, 9))
        assert sweeps.send_digest_if_due(app, warsaw(2026, 11, 30, 8))
        assert len(digests(app)) == 2
    finally:
        app.close()


def test_digest_carries_the_four_reports_as_text_and_html_in_polish(app):
    """The digest: R-1 … R-4 as text and HTML tables with Polish column names, to staff."""
    assert sweeps.send_digest_if_due(app, NOW)
    [digest] = digests(app)
    assert digest["To"] == STAFF
    assert digest["Auto-Submitted"] == "auto-generated"
    assert "2 grudnia 2026 r.: R-1 1, R-2 2, R-3 2, R-4 1" in digest["Subject"]
    text = digest.get_body(preferencelist=("plain",)).get_content()
    html = digest.get_body(preferencelist=("html",)).get_content()
    for title in reports.TITLES.values():
        assert title in text
    assert "LOG-000002" in text and "30.11.2026, 13:00" in text
    assert html.count("<table") == 4
    assert '<td style="border: 1px solid #aaa; padding: 2px 6px;">LOG-000005</td>' in html
    for header in ("Organizacja", "Wiek (godz.)", "Pozostało (godz. robocze)", "Termin SLA",
                   "Termin poprawki (ETA)", "Klient zaakceptował"):  # fmt: skip
        assert header in html and header in text
    assert ">obejście<" in html and ">tak<" in html
    assert "breached" not in html and "age_hours" not in text


def test_digest_html_shows_one_chart_per_queue_as_a_cid_png(app):
    """The HTML part carries four PNG charts in multipart/related, each shown by its cid."""
    digest = digests(app)[0] if digests(app) else None
    if digest is None:
        assert sweeps.send_digest_if_due(app, NOW)
        digest = digests(app)[0]
    related = next(p for p in digest.walk() if p.get_content_type() == "multipart/related")
    html = related.get_body(preferencelist=("html",)).get_content()
    pictures = [p for p in related.iter_parts() if p.get_content_type() == "image/png"]
    assert len(pictures) == 4
    for picture in pictures:
        assert picture.get_content().startswith(b"\x89PNG\r\n\x1a\n")
        assert f'src="cid:{picture["Content-ID"].strip("<>")}"' in html


def test_the_chart_counts_each_queue_day_by_day_from_the_history(app):
    """The 30-day series: a ticket counts in the queue it was in on each day, late or not."""
    trends = trend.queue_trends(app, NOW)
    r1, r4 = trends["r1"], trends["r4"]
    assert len(r1.days) == 30 and r1.days[-1] == NOW.date()
    day = r1.days.index(datetime(2026, 11, 26).date())
    assert (r1.within[day], r1.past[day]) == (1, 0)  # LOG-000001 came in that afternoon
    assert (r1.within[-1], r1.past[-1]) == (0, 1)  # past its completion deadline today
    assert r4.within[-2:] == [1, 1] and r4.past[-2:] == [0, 0]
    assert sum(r4.within[:-2]) == 0


def test_digest_is_caught_up_only_before_business_hours_close(tmp_path):
    """A daemon started at 19:18 sends no digest; one started at 10:00 catches up at once."""
    app = make_app(tmp_path, database_url=f"sqlite:///{tmp_path / 'late.db'}")
    try:
        assert not sweeps.send_digest_if_due(app, warsaw(2026, 12, 2, 19, 18))
        assert not sweeps.send_digest_if_due(app, warsaw(2026, 12, 2, 16, 0))
        assert sweeps.send_digest_if_due(app, warsaw(2026, 12, 3, 10, 0))
        assert not sweeps.send_digest_if_due(app, warsaw(2026, 12, 3, 10, 1))
        assert len(digests(app)) == 1
    finally:
        app.close()


def test_csv_cells_that_would_run_as_formulas_get_a_leading_quote(tmp_path):
    """CSV: a subject starting with =, +, -, @, tab or CR is quoted with '; JSON is unchanged."""
    app = make_app(tmp_path, database_url=f"sqlite:///{tmp_path / 'csv.db'}")
    subjects = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "Zwykły temat"]
    try:
        for subject in subjects:
            raw = client_mail(subject=subject, body=INCOMPLETE_BODY)
            intake.handle_message(app, raw, received_at=NOW)
        rows = list(csv.DictReader(io.StringIO(reports.render(app, "r1", "csv", NOW))))
        as_json = json.loads(reports.render(app, "r1", "json", NOW))
    finally:
        app.close()
    assert [r["subject"] for r in rows] == [
        '\'=HYPERLINK("http://x")',
        "'+1+1",
        "'-2+3",
        "'@SUM(A1)",
        "Zwykły temat",
    ]
    assert [r["subject"] for r in as_json] == subjects


def test_csv_guards_tab_and_carriage_return_and_leaves_numbers_alone():
    """A cell starting with a tab or CR is quoted too; numbers we computed (-13.0) are not."""
    rows = [{"a": "\tx", "b": "\rcmd", "c": -13.0, "d": "ok"}]
    [record] = list(csv.reader(io.StringIO(reportfmt.as_csv(["a", "b", "c", "d"], rows))))[1:]
    assert record == ["'\tx", "'\rcmd", "-13.0", "ok"]
