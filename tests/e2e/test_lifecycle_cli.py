"""The procedure's clocks from the command line: `ingest`, `sweep --now`, `tickets show`, `report`.

`ingest` stamps a message with the real time it was read (SPEC section 4), so
the sweep instants are computed from the ticket's own `created_at` with the
business calendar: the same laws the issue's fixed dates check, at any date.
Mail goes to a `file://` outbox, one `.eml` per message.
"""

from __future__ import annotations

import email
import email.policy
import json
from datetime import datetime, timedelta
from pathlib import Path

from mailintake.domain.businessdays import BusinessCalendar
from tests.e2e.test_cli import cli
from tests.mails import COMPLETE_BODY, INCOMPLETE_BODY, client_mail, logs_attachment

STAFF = "anna.nowak@log-systems.com"
ENV = {"MAILINTAKE_STAFF": STAFF}
MINUTE = timedelta(minutes=1)
CAL = BusinessCalendar()


def run(state: Path, *args: str) -> str:
    return cli(state, *args, env=ENV).stdout.decode()


def sweep(state: Path, at: datetime) -> dict[str, int]:
    """The deadline actions a sweep took (the staff's daily digest, also sent, left out)."""
    counts = json.loads(run(state, "sweep", "--now", at.isoformat()))
    return {action: n for action, n in counts.items() if n and action != "digest"}


def show(state: Path, key: str = "LOG-000001") -> dict:
    return json.loads(run(state, "tickets", "show", key, "--json"))


def ingest(state: Path, tmp_path: Path, raw: bytes, name: str) -> dict:
    path = tmp_path / name
    path.write_bytes(raw)
    return json.loads(run(state, "ingest", "--json", str(path)))


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def sent(state: Path) -> list[email.message.EmailMessage]:
    """What the client was sent, oldest first (the staff's digests left out)."""
    files = sorted((state / "outbox").glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    mails = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in files]
    return [m for m in mails if m["To"] != STAFF]


def test_incomplete_ticket_is_reminded_twice_then_closed_by_sweeps(tmp_path):
    """Reminders at +1 BD and +2 BD, each once; closed as incomplete at `close_after`."""
    state = tmp_path / "state"
    outcome = ingest(state, tmp_path, client_mail(body=INCOMPLETE_BODY), "a.eml")["outcome"]
    assert outcome == "created"
    ticket = show(state)
    start = CAL.clock_start(at(ticket["created_at"]))
    first, second = CAL.add_business_days(start, 1), CAL.add_business_days(start, 2)
    assert ticket["attempts"] == 1
    assert at(ticket["completion_due"]) == CAL.add_business_days(start, 3)

    assert sweep(state, first - MINUTE) == {}
    assert sweep(state, first) == {"reminded": 1}
    assert sweep(state, first + 30 * MINUTE) == {}
    assert show(state)["attempts"] == 2
    assert sweep(state, second) == {"reminded": 1}
    ticket = show(state)
    close_after = at(ticket["close_after"])
    assert ticket["attempts"] == 3
    assert close_after == max(at(ticket["completion_due"]), second + timedelta(hours=72))

    r1 = json.loads(run(state, "report", "r1", "--format", "json", "--now", second.isoformat()))
    assert [(r["key"], r["attempts"], r["close_after"]) for r in r1] == [
        ("LOG-000001", 3, ticket["close_after"])
    ]
    assert sweep(state, close_after - MINUTE) == {}
    assert sweep(state, close_after) == {"closed_incomplete": 1}
    assert sweep(state, close_after + timedelta(days=7)) == {}
    ticket = show(state)
    assert (ticket["status"], ticket["close_reason"], ticket["close_after"]) == (
        "ZAMKNIETY", "incomplete", None,
    )  # fmt: skip
    kinds = [m["kind"] for m in ticket["messages"] if m["direction"] == "out"]
    assert kinds == ["request_missing", "reminder", "reminder", "closed"]
    assert len(sent(state)) == 4


def test_resolved_ticket_closes_itself_and_the_survey_answer_is_recorded(tmp_path):
    """[ROZWIĄZANY] by staff → `auto_close_at` 72 h later → survey → `Ocena 5` is the survey."""
    state = tmp_path / "state"
    ingest(state, tmp_path, client_mail(body=COMPLETE_BODY, attachments=logs_attachment()), "a.eml")
    staff = client_mail(sender=STAFF, name="Anna Nowak", subject="[LOG-000001] [ROZWIĄZANY]",
                        body="Proszę zainstalować wersję 6.1.112.\n")  # fmt: skip
    assert ingest(state, tmp_path, staff, "staff.eml")["outcome"] == "command"
    ticket = show(state)
    auto_close = at(ticket["auto_close_at"])
    assert ticket["status"] == "ROZWIAZANY"
    assert auto_close == at(ticket["resolved_at"]) + timedelta(hours=72)

    r3 = json.loads(run(state, "report", "r3", "--format", "json"))
    assert [(r["key"], r["resolution"], r["auto_close_at"]) for r in r3] == [
        ("LOG-000001", "full", ticket["auto_close_at"])
    ]
    assert sweep(state, auto_close - MINUTE) == {}
    assert sweep(state, auto_close) == {"closed_resolved": 1}
    assert sweep(state, auto_close + MINUTE) == {}
    ticket = show(state)
    assert (ticket["status"], ticket["close_reason"], ticket["survey"]) == (
        "ZAMKNIETY", "resolved", None,
    )  # fmt: skip
    survey = sent(state)[-1]
    assert "mailto:support@log-systems.com?subject=%5BLOG-000001%5D%20Ocena%205" in (
        survey.get_body(preferencelist=("html",)).get_content()
    )

    rating = client_mail(subject="[LOG-000001] Ocena 5", body="Dziękuję, działa.\n")
    assert ingest(state, tmp_path, rating, "rating.eml") | {"file": None, "message_id": None} == {
        "file": None, "outcome": "survey", "ticket": "LOG-000001", "message_id": None,
    }  # fmt: skip
    assert show(state)["survey"] == {"rating": 5, "comment": "Dziękuję, działa."}
    listed = json.loads(run(state, "tickets", "list", "--json"))
    assert [t["key"] for t in listed] == ["LOG-000001"]


def test_report_table_is_the_default_format(tmp_path):
    """`mailintake report r1` prints the titled, aligned table."""
    state = tmp_path / "state"
    ingest(state, tmp_path, client_mail(body=INCOMPLETE_BODY), "a.eml")
    out = run(state, "report", "r1").splitlines()
    assert out[0].startswith("R-1 Kolejka zgłoszeń w statusie NOWY")
    assert out[2].split() == ["key", "client", "client_organisation", "subject", "created",
                              "age_hours", "missing", "attempts", "completion_due",
                              "close_after"]  # fmt: skip
    assert out[4].split()[:2] == ["LOG-000001", "jan.kowalski@example.pl"]
