"""The procedure's clocks through real Dovecot, the database and a real SMTP server (issue 3).

Time is driven from outside: each step sets the app's clock, the intake reads
mail whose IMAP INTERNALDATE is that instant, and the sweep runs "as of" it,
exactly as `mailintake sweep --now` does. The outbox is flushed synchronously,
so what the SMTP server holds after a step is everything that step sent.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest

from mailintake import daemon
from mailintake.adapters import db
from mailintake.app import App
from mailintake.domain.status import Status
from mailintake.errors import Refusal
from mailintake.services import lifecycle, outbox, reports, sweeps, views
from tests.apps import make_app
from tests.mails import COMPLETE_BODY, INCOMPLETE_BODY, client_mail, logs_attachment

WARSAW = ZoneInfo("Europe/Warsaw")
STAFF = "anna.nowak@log-systems.com"
CLIENT = "jan.kowalski@example.pl"


def warsaw(*args: int) -> datetime:
    return datetime(*args, tzinfo=WARSAW)


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Desk:
    """One support mailbox, one SMTP server, one app whose clock the test moves."""

    app: App
    clock: Clock
    dovecot: object
    user: str
    smtp: object

    def receive(self, raw: bytes, at: datetime) -> daemon.PassResult:
        """The mail arrives at `at` (INTERNALDATE) and the daemon's pass runs at `at`."""
        self.clock.now = at
        self.dovecot.append(self.user, raw, msg_time=at)
        return daemon.run_once(self.app)

    def sweep(self, at: datetime) -> dict[str, int]:
        """`mailintake sweep --now at`: the deadlines, then the outbox, as of `at`."""
        self.clock.now = at
        counts = sweeps.run_sweeps(self.app, at)
        outbox.flush(self.app, now=at)
        return {action: n for action, n in counts.items() if n}

    def sent(self) -> list[EmailMessage]:
        """Everything the SMTP server accepted so far (the flush is synchronous)."""
        return [email.message_from_bytes(m.data, policy=email.policy.default)
                for m in self.smtp.messages]  # fmt: skip

    def ticket(self, key: str = "LOG-000001") -> dict:
        return views.show_ticket(self.app, key)

    def change(self, at: datetime, apply) -> None:
        """What a staff command will do, applied in one transaction at `at`."""
        self.clock.now = at
        with db.transaction(self.app.engine) as session:
            apply(session, db.ticket_by_key(session, "LOG-000001"))
        outbox.flush(self.app, now=at)


@pytest.fixture
def desk(tmp_path, dovecot, smtp_server, database_url):
    user = dovecot.new_user()
    clock = Clock(warsaw(2026, 11, 26, 14))
    app = make_app(
        tmp_path / "state",
        database_url=database_url,
        clock=clock,
        inbox_url=dovecot.url(user),
        imap_password=dovecot.password,
        smtp_url=smtp_server.url,
        imap_idle="false",
    )
    yield Desk(app, clock, dovecot, user, smtp_server)
    app.close()


def text_of(msg: EmailMessage) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()


def html_of(msg: EmailMessage) -> str:
    return msg.get_body(preferencelist=("html",)).get_content()


def reply_to(msg: EmailMessage, body: str, *, subject: str | None = None, **kw) -> bytes:
    mid = msg["Message-ID"].strip("<>")
    return client_mail(subject=subject or "Re: " + msg["Subject"], body=body, in_reply_to=mid,
                       references=[mid], **kw)  # fmt: skip


def complete_ticket(desk: Desk, at: datetime) -> None:
    desk.receive(client_mail(body=COMPLETE_BODY, attachments=logs_attachment()), at)
    assert desk.ticket()["status"] == "ANALIZA"


def resolve(desk: Desk, at: datetime, text: str = "Proszę zainstalować poprawkę 6.1.112.") -> None:
    desk.change(at, lambda session, ticket: lifecycle.resolve(
        session, desk.app, ticket, by=STAFF, resolution="full", text=text, now=at))  # fmt: skip


# -- completion window (SPEC section 4) ------------------------------------


def test_reminders_go_out_at_one_and_two_business_days_and_only_once(desk):
    """Created Thursday 14:00: reminders Friday 14:00 and Monday 14:00, never twice."""
    desk.receive(client_mail(body=INCOMPLETE_BODY), warsaw(2026, 11, 26, 14))
    assert len(desk.sent()) == 1
    assert desk.sweep(warsaw(2026, 11, 27, 13, 59)) == {}
    assert desk.sweep(warsaw(2026, 11, 27, 14)) == {"reminded": 1}
    assert desk.sweep(warsaw(2026, 11, 27, 14)) == {}
    assert desk.sweep(warsaw(2026, 11, 28, 10)) == {}
    assert desk.sweep(warsaw(2026, 11, 30, 13, 59)) == {}
    assert desk.sweep(warsaw(2026, 11, 30, 14)) == {"reminded": 1}
    assert desk.sweep(warsaw(2026, 12, 1, 14)) == {}
    request, first, second = desk.sent()
    for reminder in (first, second):
        assert reminder["Auto-Submitted"] == "auto-generated"
        assert reminder["Subject"] == "[LOG-000001] Błąd przy generowaniu raportu"
        assert "przypominamy" in text_of(reminder)
        assert "Wersja oprogramowania" in text_of(reminder)
        assert "1 grudnia 2026 r., godz. 14:00" in text_of(reminder)
    detail = desk.ticket()
    assert detail["attempts"] == 3
    assert detail["completion_due"] == "2026-12-01T13:00:00+00:00"
    assert detail["close_after"] == "2026-12-03T13:00:00+00:00"  # Monday's reminder + 72 h


def test_incomplete_ticket_closes_at_close_after_with_a_notice(desk):
    """No data by max(completion_due, last attempt + 72 h): ZAMKNIETY, reason incomplete, told."""
    desk.receive(client_mail(body=INCOMPLETE_BODY), warsaw(2026, 11, 26, 14))
    desk.sweep(warsaw(2026, 11, 27, 14))
    desk.sweep(warsaw(2026, 11, 30, 14))
    assert desk.sweep(warsaw(2026, 12, 3, 13, 59)) == {}
    assert desk.sweep(warsaw(2026, 12, 3, 14)) == {"closed_incomplete": 1}
    assert desk.sweep(warsaw(2026, 12, 4, 14)) == {}
    notice = desk.sent()[-1]
    assert len(desk.sent()) == 4
    assert notice["Auto-Submitted"] == "auto-generated"
    assert "zamknięte bez rozwiązania" in text_of(notice)
    assert "Plik logów systemowych" in text_of(notice)
    detail = desk.ticket()
    assert (detail["status"], detail["close_reason"]) == ("ZAMKNIETY", "incomplete")
    assert [h["to"] for h in detail["history"] if h["from"] != h["to"]] == ["NOWY", "ZAMKNIETY"]


def test_a_reply_that_completes_the_ticket_stops_reminders_and_closing(desk):
    """Data complete on Friday morning: no reminder, no closing, ever."""
    first = desk.receive(client_mail(body=INCOMPLETE_BODY), warsaw(2026, 11, 26, 14))
    assert first.outcomes == {"created": 1}
    [request] = desk.sent()
    answer = "Wersja oprogramowania: 6.1.111.111\nCzęstotliwość błędu: Zawsze\n"
    desk.receive(reply_to(request, answer, attachments=logs_attachment()), warsaw(2026, 11, 27, 10))
    for day in (27, 30):
        assert desk.sweep(warsaw(2026, 11, day, 14)) == {}
    assert desk.sweep(warsaw(2026, 12, 10, 14)) == {}
    to_client = [m.get("Auto-Submitted") for m in desk.sent() if m["To"] != STAFF]
    assert to_client == ["auto-replied", "auto-replied"]
    assert desk.ticket()["status"] == "ANALIZA"


# -- resolution, survey, complaint, confirmation (SPEC sections 4, 5, 7) -----


def test_resolved_ticket_closes_after_72_hours_and_the_survey_is_answered_once(desk):
    """ROZWIĄZANY → 72 h → ZAMKNIĘTY with a survey; a rating is recorded and thanked once."""
    complete_ticket(desk, warsaw(2026, 11, 26, 10))
    resolve(desk, warsaw(2026, 11, 27, 11))
    solution = desk.sent()[-1]
    assert "30 listopada 2026 r., godz. 11:00" in text_of(solution)  # the auto-close instant
    assert desk.ticket()["auto_close_at"] == "2026-11-30T10:00:00+00:00"
    assert desk.sweep(warsaw(2026, 11, 30, 10, 59)) == {}
    assert desk.sweep(warsaw(2026, 11, 30, 11)) == {"closed_resolved": 1}
    assert desk.sweep(warsaw(2026, 11, 30, 12)) == {}
    survey = desk.sent()[-1]
    assert survey["Auto-Submitted"] == "auto-generated"
    link = "mailto:support@log-systems.com?subject=%5BLOG-000001%5D%20Ocena%205"
    assert f'href="{link}"' in html_of(survey)
    assert link in text_of(survey)
    rating = client_mail(subject="[LOG-000001] Ocena 5", body="Szybko i skutecznie.\n")
    assert desk.receive(rating, warsaw(2026, 11, 30, 15)).outcomes == {"survey": 1}
    clicked_again = client_mail(subject="[LOG-000001] Ocena 5", body="")
    assert desk.receive(clicked_again, warsaw(2026, 11, 30, 16)).outcomes == {"survey": 1}
    thanks = [m for m in desk.sent() if "dziękujemy za ocenę" in text_of(m)]
    assert len(thanks) == 1
    detail = desk.ticket()
    assert (detail["status"], detail["close_reason"]) == ("ZAMKNIETY", "resolved")
    assert detail["survey"] == {"rating": 5, "comment": "Szybko i skutecznie."}
    assert len(views.list_tickets(desk.app)) == 1


def test_a_complaint_reopens_to_analiza_and_cancels_the_auto_close(desk):
    """REKLAMACJA before the 72 h: back to ANALIZA, staff told, nothing closes later."""
    complete_ticket(desk, warsaw(2026, 11, 26, 10))
    resolve(desk, warsaw(2026, 11, 27, 11))
    solution = desk.sent()[-1]
    complaint = reply_to(solution, "REKLAMACJA\nRaport R-12 nadal zamyka program.\n")
    assert desk.receive(complaint, warsaw(2026, 11, 28, 9)).outcomes == {"updated": 1}
    assert desk.sweep(warsaw(2026, 11, 30, 11)) == {}
    detail = desk.ticket()
    assert (detail["status"], detail["auto_close_at"]) == ("ANALIZA", None)
    assert any(h["reason"] == "client complaint" for h in detail["history"])
    to_staff = desk.sent()[-1]
    assert to_staff["To"] == STAFF
    assert "nadal zamyka program" in text_of(to_staff)


def test_a_confirmation_closes_the_resolved_ticket_at_once_with_the_survey(desk):
    """POTWIERDZAM: ZAMKNIĘTY now, reason resolved, the survey goes out, the sweep adds nothing."""
    complete_ticket(desk, warsaw(2026, 11, 26, 10))
    resolve(desk, warsaw(2026, 11, 27, 11))
    solution = desk.sent()[-1]
    desk.receive(reply_to(solution, "POTWIERDZAM, działa.\n"), warsaw(2026, 11, 27, 12))
    detail = desk.ticket()
    assert (detail["status"], detail["close_reason"]) == ("ZAMKNIETY", "resolved")
    assert "Ocena" in text_of([m for m in desk.sent() if m["To"] != STAFF][-1])
    count = len(desk.sent())
    assert desk.sweep(warsaw(2026, 11, 30, 11)) == {}
    assert len(desk.sent()) == count


# -- awaiting the client (SPEC section 4) ----------------------------------


def ask(desk: Desk, at: datetime, text: str = "Czy błąd występuje też na koncie testowym?") -> None:
    desk.change(at, lambda session, ticket: lifecycle.ask_question(
        session, desk.app, ticket, by=STAFF, text=text, now=at))  # fmt: skip


def test_an_unanswered_question_is_reminded_after_3_bd_and_suspended_72_h_later(desk):
    """Asked Wednesday 10:00: reminder Monday 10:00, suspended Thursday 10:00, staff told."""
    complete_ticket(desk, warsaw(2026, 12, 1, 9))
    ask(desk, warsaw(2026, 12, 2, 10))
    question = desk.sent()[-1]
    assert "Czy błąd występuje też na koncie testowym?" in text_of(question)
    assert question["Auto-Submitted"] is None  # a person's question, not an automatic notice
    assert desk.sweep(warsaw(2026, 12, 7, 9, 59)) == {}
    assert desk.sweep(warsaw(2026, 12, 7, 10)) == {"question_reminded": 1}
    assert desk.sweep(warsaw(2026, 12, 7, 10)) == {}
    reminder = desk.sent()[-1]
    assert reminder["Auto-Submitted"] == "auto-generated"
    assert "> Czy błąd występuje też na koncie testowym?" in text_of(reminder)
    assert desk.sweep(warsaw(2026, 12, 10, 9, 59)) == {}
    assert desk.sweep(warsaw(2026, 12, 10, 10)) == {"suspended": 1}
    assert desk.sweep(warsaw(2026, 12, 11, 10)) == {}
    alert = desk.sent()[-1]
    assert alert["To"] == STAFF
    assert "LOG-000001" in alert["Subject"]
    detail = desk.ticket()
    assert (detail["awaiting_client"], detail["suspended"]) == (True, True)
    [row] = reports.r2(desk.app, warsaw(2026, 12, 11, 10))
    assert (row["awaiting_client"], row["suspended"], row["sla_due"]) == (True, True, None)


def test_an_answer_to_the_question_stops_the_reminder_and_restarts_the_sla_clock(desk):
    """The client answers on Friday: no reminder, no suspension, the SLA clock runs again."""
    complete_ticket(desk, warsaw(2026, 12, 1, 9))
    ask(desk, warsaw(2026, 12, 2, 10))
    question = desk.sent()[-1]
    desk.receive(reply_to(question, "Tak, także na koncie testowym.\n"), warsaw(2026, 12, 4, 9))
    assert desk.sweep(warsaw(2026, 12, 7, 10)) == {}
    assert desk.sweep(warsaw(2026, 12, 14, 10)) == {}
    detail = desk.ticket()
    assert (detail["awaiting_client"], detail["suspended"]) == (False, False)
    [row] = reports.r2(desk.app, warsaw(2026, 12, 4, 9))
    assert row["sla_due"] is not None


def test_a_failure_on_one_ticket_does_not_stop_the_sweep_of_the_others(desk):
    """A ticket whose stored times are inconsistent is logged and skipped; the next is reminded."""
    desk.receive(client_mail(body=INCOMPLETE_BODY), warsaw(2026, 11, 26, 14))
    desk.receive(
        client_mail(body=INCOMPLETE_BODY, sender="ewa@example.pl"), warsaw(2026, 11, 26, 14)
    )
    with db.transaction(desk.app.engine) as session:
        broken = db.ticket_by_key(session, "LOG-000001")
        broken.last_attempt_at = None  # attempts = 1 without a time: completion_action_due refuses
    assert desk.sweep(warsaw(2026, 11, 27, 14)) == {"reminded": 1, "failed": 1}
    assert desk.ticket("LOG-000002")["attempts"] == 2
    assert desk.ticket("LOG-000001")["attempts"] == 1


def test_resolving_a_nowy_ticket_is_refused_and_sends_nothing(desk):
    """NOWY → ROZWIĄZANY is not an allowed transition (SPEC section 2): refused, nothing sent."""
    desk.receive(client_mail(body=INCOMPLETE_BODY), warsaw(2026, 11, 26, 14))
    with pytest.raises(Refusal):
        resolve(desk, warsaw(2026, 11, 26, 15))
    assert desk.ticket()["status"] == Status.NOWY
    assert len(desk.sent()) == 1


def test_a_long_sweep_reports_progress_after_every_ticket(desk):
    """Three tickets due a reminder: the watchdog hook hears the sweep three times, not once at the end."""
    for n in range(3):
        desk.receive(client_mail(body=INCOMPLETE_BODY, sender=f"k{n}@example.pl"),
                     warsaw(2026, 11, 26, 14))  # fmt: skip
    heard: list[int] = []
    counts = sweeps.run_sweeps(desk.app, warsaw(2026, 11, 27, 14), lambda: heard.append(1))
    assert counts["reminded"] == 3 and len(heard) == 3
