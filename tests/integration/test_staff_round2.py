"""Staff workflow faults found on a second look (issue 12, round 2).

Real Dovecot and aiosmtpd; SQLite and PostgreSQL where the database decides: merges
that must be refused, forwards that keep the client's words, close requests, copies,
notices staff were missing.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from mailintake.services import outbox, sweeps
from tests.desk import CLIENT, STAFF, running_desk, text_of
from tests.mails import client_mail

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


# -- 3. an Outlook forward keeps the forwarded message ------------------------------------

DESCRIPTION = "Podczas uruchamiania raportu R-12 program zamyka się z błędem krytycznym."
PROSE = "Dodatkowo eksport do Excela też przestał działać po aktualizacji."
FORWARDED = (
    f"Dzień dobry,\n\n{PROSE}\n\n"
    f"Scenariusz powtórzenia błędu: {DESCRIPTION}\n"
    "Wersja oprogramowania: 6.1.111.111\nCzęstotliwość błędu: Zawsze\n\n"
    "Pozdrawiam\nJan Kowalski\n"
)


def _outlook_forward(note: str, cc: str = "") -> tuple[str, str]:
    """Outlook's forward as it sends it: a text part with `____` and an HTML part."""
    head = [("Od", f"Jan Kowalski <{CLIENT}>"), ("Wysłano", "czwartek, 26 listopada 2026 10:00"),
            ("Do", f"Anna Nowak <{STAFF}>"), *([("DW", cc)] if cc else []),
            ("Temat", "Błąd przy generowaniu raportu")]  # fmt: skip
    text = f"{note}\n\n" + "_" * 32 + "\n" + "".join(f"{k}: {v}\n" for k, v in head)
    text += f"\n{FORWARDED}"
    html_head = "<br>".join(f"<b>{k}:</b> {v.replace('<', '&lt;').replace('>', '&gt;')}"
                            for k, v in head)  # fmt: skip
    paragraphs = "".join(f"<p class=MsoNormal>{p}<o:p></o:p></p>" for p in FORWARDED.split("\n"))
    html = (
        f"<html><body><div class=WordSection1><p class=MsoNormal>{note}<o:p></o:p></p>"
        "<div style='border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm'>"
        f"<p class=MsoNormal>{html_head}<o:p></o:p></p></div>{paragraphs}</div></body></html>"
    )
    return text, html


@pytest.mark.parametrize("tag", ["[REJESTRUJ] ", ""])
@pytest.mark.parametrize("parts", ["text+html", "html"])
def test_an_outlook_forward_by_staff_keeps_the_clients_description(desk, tag, parts):
    text, html = _outlook_forward("Przekazuję zgłoszenie klienta.")
    body = text if parts == "text+html" else None
    outcome = desk.staff(f"PD: {tag}Błąd przy generowaniu raportu", body=body, html=html)
    assert outcome == {"created": 1}
    [key] = desk.keys()
    detail = desk.ticket(key)
    assert detail["client_email"] == CLIENT
    assert DESCRIPTION in str(detail["fields"])
    assert detail["fields"].get("version") == "6.1.111.111"


@pytest.mark.parametrize("parts", ["text+html", "html"])
def test_a_clients_outlook_forward_keeps_the_forwarded_description(desk, parts):
    """A colleague's mail forwarded by the client on its ticket: staff read the description."""
    key = desk.open(complete=False)
    sent = desk.sent
    text, html = _outlook_forward("Przesyłam zgłoszenie kolegi, proszę o pomoc.")
    body = text if parts == "text+html" else None
    assert desk.run(client_mail(subject=f"PD: [{key}] Błąd przy generowaniu raportu", body=body,
                                html=html)) == {"updated": 1}  # fmt: skip
    assert desk.ticket(key)["fields"].get("version") == "6.1.111.111"
    [notice] = desk.to(STAFF, sent)
    assert "Przesyłam zgłoszenie kolegi" in text_of(notice)
    assert PROSE in text_of(notice)


# -- 4. a client asking to close is not asked for data -------------------------------------


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Re: [{key}] [ZAMKNIJ] proszę zamknąć", "Proszę zamknąć zgłoszenie, już działa.\n"),
        ("Re: [{key}] Błąd", "Problem rozwiązany, można zamknąć zgłoszenie.\n"),
        ("Re: [{key}] Błąd", "It works now, please close the ticket.\n"),
    ],
)
def test_a_client_asking_to_close_is_not_asked_for_missing_data(desk, subject, body):
    key = desk.open(complete=False)
    sent = desk.sent
    desk.run(client_mail(subject=subject.format(key=key), body=body))
    assert desk.to(CLIENT, sent) == []
    [notice] = desk.to(STAFF, sent)
    assert "zamknięcie / client asks to close" in notice["Subject"]
    assert body.strip() in text_of(notice)
    detail = desk.ticket(key)
    assert detail["status"] == "NOWY" and detail["attempts"] == 1


def test_a_description_of_a_closing_program_is_no_close_request(desk):
    """ "Program zamyka się" describes the fault: the client is asked for the missing data."""
    key = desk.open(complete=False)
    sent = desk.sent
    desk.run(client_mail(subject=f"Re: [{key}] Błąd", body="Program zamyka się po kliknięciu.\n"))
    assert len(desk.to(CLIENT, sent)) == 1


def test_a_notice_of_a_quote_only_reply_shows_the_clients_subject(desk):
    """The client wrote only in the subject, the body is our quoted mail: staff see the subject."""
    key = desk.open()
    [ours] = desk.to(CLIENT)
    sent = desk.sent
    quoted = "".join(f"> {line}\n" for line in text_of(ours).splitlines())
    desk.run(client_mail(subject=f"Re: [{key}] Czy jest już poprawka do wersji 6.2?",
                         body=f"W dniu 26.11.2026 o 10:00, Support pisze:\n{quoted}",
                         in_reply_to=ours["Message-ID"][1:-1]))  # fmt: skip
    [notice] = desk.to(STAFF, sent)
    assert "Czy jest już poprawka do wersji 6.2?" in text_of(notice)


# -- 5. recipients: each once, every colleague, never us ----------------------------------

EWA = "ewa.nowicka@example.pl"
ADAM = "adam.lis@example.pl"


@pytest.mark.parametrize("writer", [CLIENT, EWA])
def test_a_reply_all_reaches_every_colleague_once(desk, writer):
    desk.run(client_mail(body="Dzień dobry,\nnie działa raport.\n",
                         headers={"Cc": f"Ewa Nowicka <{EWA}>, {ADAM}"}))  # fmt: skip
    [key] = desk.keys()
    assert sorted(desk.ticket(key)["cc"]) == sorted([EWA, ADAM])
    [request] = desk.to(CLIENT)
    sent = desk.sent
    others = [a for a in (CLIENT, EWA) if a != writer]
    desk.run(client_mail(sender=writer, name="X", subject=f"Re: [{key}] Błąd",
                         to=f"support@log-systems.com, {others[0].upper()}",
                         headers={"Cc": f"{ADAM}, Support <SUPPORT@log-systems.com>"},
                         in_reply_to=request["Message-ID"][1:-1],
                         body="Wersja oprogramowania: 6.1.111.111\n"))  # fmt: skip
    [answer] = [m for m in desk.mails(sent) if STAFF not in str(m["To"])]
    [envelope] = [e for e in desk.envelopes(sent) if STAFF not in e]
    assert envelope == sorted({CLIENT, EWA, ADAM})
    shown = [a.strip().lower() for a in f"{answer['To']},{answer['Cc']}".split(",")]
    assert sorted(shown) == sorted({CLIENT, EWA, ADAM})


# -- 6. staff are told what happens to their tickets ---------------------------------------

PIOTR = "piotr.zielinski@log-systems.com"


@pytest.fixture
def team(tmp_path, dovecot, smtp_server, database_url):
    """Two staff members; notices of unowned tickets go to Piotr only."""
    env = {"staff": f"{STAFF},{PIOTR}", "staff_notify": PIOTR}
    with running_desk(tmp_path, dovecot, smtp_server, database_url, **env) as desk:
        yield desk


def _sweep(desk, days: int) -> None:
    now = desk.app.clock() + timedelta(days=days)
    sweeps.run_sweeps(desk.app, now)
    outbox.flush(desk.app, now=now)


def test_a_merge_that_completes_a_ticket_tells_its_owner(team):
    target = team.open(complete=False, message_id="first@example.pl")
    team.staff(f"RE: [{target}] [PRZEJMIJ] Błąd", sender=PIOTR, name="Piotr")
    duplicate = team.open(subject="Ten sam błąd raportu", message_id="second@example.pl")
    sent = team.sent
    team.staff(f"RE: [{duplicate}] [DUPLIKAT {target}] Ten sam błąd")
    assert team.ticket(target)["status"] == "ANALIZA"
    told = [m for m in team.to(PIOTR, sent) if m["Subject"].startswith(f"[{target}]")]
    assert told and "ANALIZA" in told[-1]["Subject"] + text_of(told[-1])


def test_the_owner_is_told_when_a_sweep_closes_their_ticket(team):
    key = team.open()
    team.staff(f"RE: [{key}] [ROZWIĄZANY] Błąd")
    sent = team.sent
    _sweep(team, 5)
    assert team.ticket(key)["status"] == "ZAMKNIETY"
    [told] = [m for m in team.mails(sent) if m["To"] == STAFF]
    assert told["Subject"].startswith(f"[{key}]") and "ZAMKNI" in told["Subject"].upper()


def test_the_owner_is_told_when_their_ticket_is_suspended(team):
    key = team.open()
    team.staff(f"RE: [{key}] [PYTANIE] Błąd")
    _sweep(team, 5)  # the reminder
    sent = team.sent
    _sweep(team, 10)  # 72 h later: suspended
    assert team.ticket(key)["suspended"]
    [told] = [m for m in team.mails(sent) if STAFF in str(m["To"])]
    assert "zawieszone" in told["Subject"].lower()


def test_the_previous_owner_is_told_of_a_takeover(team):
    key = team.open()
    team.staff(f"RE: [{key}] [W TRAKCIE] Błąd")
    sent = team.sent
    team.staff(f"RE: [{key}] [PRZEJMIJ] Błąd", sender=PIOTR, name="Piotr")
    assert team.ticket(key)["owner"] == PIOTR
    [told] = team.to(STAFF, sent)
    assert PIOTR in text_of(told) and told["Subject"].startswith(f"[{key}]")
    assert team.to(CLIENT, sent) == []


def test_a_reply_to_a_closed_ticket_tells_its_owner_and_names_it(team):
    key = team.open()
    team.staff(f"RE: [{key}] [ZAMKNIJ] Błąd")
    [closing] = [m for m in team.to(CLIENT) if m["Subject"].startswith(f"[{key}]")][-1:]
    sent = team.sent
    team.run(client_mail(subject=f"Re: [{key}] Błąd", body="Błąd wrócił po aktualizacji.\n",
                         in_reply_to=closing["Message-ID"][1:-1]))  # fmt: skip
    new = team.keys()[-1]
    assert new != key and team.ticket(new)["linked"] == [key]
    [told] = team.to(STAFF, sent)
    assert told["Subject"].startswith(f"[{new}]")
    assert key in told["Subject"] + text_of(told)


# -- 7. small ones ------------------------------------------------------------------------


@pytest.mark.parametrize("greeting", ["Panie Janie,", "Hej Janek,"])
def test_a_staff_reply_keeps_its_greeting_and_links_without_punctuation(desk, greeting):
    key = desk.open()
    sent = desk.sent
    body = (
        f"{greeting}\n\nInstrukcja: https://kb.example.com/art/12. Zobacz też "
        '(https://kb.example.com/wiki/Raport_(R-12)), a potem "https://x.example.com/a".\n'
    )
    desk.staff(f"RE: [{key}] Błąd", body=body)
    [mail] = desk.to(CLIENT, sent)
    assert not text_of(mail).lstrip().startswith("Dzień dobry")
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert 'href="https://kb.example.com/art/12"' in html
    assert 'href="https://kb.example.com/wiki/Raport_(R-12)"' in html
    assert 'href="https://x.example.com/a"' in html


def test_a_small_named_screenshot_is_kept_and_relayed(desk):
    """A 2 kB `zrzut.png` attached on purpose is a screenshot, not a signature logo."""
    shot = [("zrzut.png", "image/png", b"\x89PNG\r\n\x1a\n" + b"\0" * 2000)]
    desk.run(client_mail(body="Dzień dobry,\nnie działa raport, zrzut w załączniku.\n",
                         attachments=shot))  # fmt: skip
    [key] = desk.keys()
    assert desk.ticket(key)["fields"].get("screenshots") == ["zrzut.png"]
    sent = desk.sent
    desk.staff(f"RE: [{key}] Błąd", attachments=shot)
    [mail] = desk.to(CLIENT, sent)
    assert [p.get_filename() for p in mail.iter_attachments()] == ["zrzut.png"]


@pytest.mark.parametrize("tag", ["[ZAMKNIJ]", "[NOTATKA]", "[W TRAKCIE] [NOTATKA]"])
def test_history_reasons_are_one_line(desk, tag):
    """A long staff text is not copied whole into the history: one line, shortened."""
    key = desk.open()
    long_line = "Analiza " + "bardzo długiego opisu " * 20
    desk.staff(f"RE: [{key}] {tag} Błąd", body=f"{long_line}\nDruga linia.\nTrzecia linia.\n")
    for entry in desk.ticket(key)["history"]:
        assert "\n" not in entry["reason"] and len(entry["reason"]) <= 210
        assert "Druga linia" not in entry["reason"]


def test_a_mail_not_delivered_alert_names_the_ticket_and_the_mail(desk):
    raw = client_mail(body="Dzień dobry,\nnie działa raport.\n", sender="jdoe@machine.example")
    desk.run(raw.replace(b"jdoe@machine.example", "jdöe@mächine.example".encode()))
    [key] = desk.keys()
    [alert] = [m for m in desk.to(STAFF) if "not delivered" in m["Subject"]]
    assert alert["Subject"].startswith(f"[{key}]")
    ours = next(m for m in desk.ticket(key)["messages"] if m["direction"] == "out")
    body = text_of(alert)
    assert ours["subject"] in body and ours["message_id"] in body


@pytest.mark.parametrize("subject", ["[W TRAKCIE] Błąd", "[POMOC]"])
def test_an_answer_to_a_staff_mail_without_ticket_threads_on_it(desk, subject):
    """A refusal or the guide for a mail of no ticket answers that mail (In-Reply-To)."""
    desk.staff(subject, message_id="staff-1@log-systems.com", body="tekst\n")
    [answer] = desk.mails()
    assert answer["In-Reply-To"] == "<staff-1@log-systems.com>"
    assert "<staff-1@log-systems.com>" in answer["References"]


@pytest.mark.parametrize("tag", ["[REJESTRUJ] ", ""])
def test_a_registered_forward_keeps_its_cc_and_is_owned_by_the_registrar(desk, tag):
    text, html = _outlook_forward("Rejestruję.", cc=f"Ewa Nowicka <{EWA}>; {STAFF}")
    assert desk.staff(f"PD: {tag}Błąd przy generowaniu raportu", body=text,
                      html=html) == {"created": 1}  # fmt: skip
    [key] = desk.keys()
    detail = desk.ticket(key)
    assert (detail["client_email"], detail["cc"], detail["owner"]) == (CLIENT, [EWA], STAFF)
