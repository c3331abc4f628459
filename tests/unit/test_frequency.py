"""How often the error occurs, read from what clients really write (SPEC §3, field `frequency`).

One table of real-sounding phrases in both directions: each is the whole own text of a
client's first message, read by `fields.extract` exactly as the intake reads it. Polish and
English, with and without diacritics and labels; a frequency word inside a sentence that is
not about the error occurring ("zawsze działało do wczoraj") does not count.
"""

from __future__ import annotations

import pytest

from mailintake.domain.fields import extract

RECOGNISED = [
    # The four misses reported in issue 13.
    ("Wersja 6.1.114.207, zawsze.", "always"),
    ("Dzieje się to codziennie, zawsze.", "always"),
    ("Powtarzalny, za każdym razem.", "always"),
    ("Wystąpiło raz", "once"),
    # Polish, in a sentence about the error.
    ("Błąd występuje zawsze przy uruchamianiu raportu.", "always"),
    ("Blad wystepuje zawsze przy uruchamianiu raportu.", "always"),
    ("Program wywala się za każdym razem, gdy drukuję fakturę.", "always"),
    ("Za każdym razem, kiedy drukuję, program się zawiesza.", "always"),
    ("Zgłaszany błąd występuje przy każdym logowaniu.", "always"),
    ("Ciągle się zawiesza.", "always"),
    ("Błąd jest powtarzalny.", "always"),
    ("Problem pojawia się kilka razy dziennie.", "often"),
    ("Mamy ten problem codziennie od poniedziałku.", "often"),
    ("Od tygodnia błąd pojawia się regularnie.", "often"),
    ("Zdarza się to od czasu do czasu.", "sometimes"),
    ("Błąd występuje sporadycznie.", "sometimes"),
    ("Raz działa, raz nie.", "sometimes"),
    ("Błąd nie jest powtarzalny.", "sometimes"),
    ("Błąd pojawił się tylko raz, wczoraj po aktualizacji.", "once"),
    ("Dotychczas wystąpił jeden raz.", "once"),
    ("Wystapilo raz", "once"),
    # Polish, a bare answer (a line or a clause of its own).
    ("Zawsze.", "always"),
    ("CZĘSTO", "often"),
    ("Czasem.", "sometimes"),
    ("Zawsze, na każdym stanowisku.", "always"),
    ("Nie zawsze, mniej więcej co trzecie uruchomienie.", "sometimes"),
    ("Jednorazowo – po restarcie serwera już się nie powtórzył.", "once"),
    # Polish, labelled.
    ("czestotliwosc bledu: czesto", "often"),
    ("Częstotliwość błędu - sporadycznie", "sometimes"),
    ("Jak często? Codziennie rano.", "often"),
    # English.
    ("It happens every time I open the report.", "always"),
    ("The application crashes several times a day.", "often"),
    ("It crashes constantly.", "always"),
    ("Happens daily.", "often"),
    ("The error occurred only once.", "once"),
    ("It happened once, last Monday.", "once"),
    ("The issue is intermittent.", "sometimes"),
    ("Sometimes it works, sometimes it doesn't.", "sometimes"),
    ("Reproducible every time.", "always"),
    ("Occasionally, maybe twice a week.", "sometimes"),
    ("Always, on every workstation.", "always"),
    ("Rarely, maybe once a month.", "sometimes"),
    ("Not always.", "sometimes"),
    ("Often.", "often"),
    ("Frequency: always", "always"),
    ("How often: sometimes", "sometimes"),
    # Re-checked as clients write them (R13): periods, intensifiers, "when" clauses, typos.
    ("Co drugi dzień program się wiesza.", "often"),
    ("Błąd występuje co drugi dzień.", "often"),
    ("Częstotliwość: co drugi dzień, logi w załączniku.", "often"),
    ("Co kilka dni raport się nie otwiera.", "often"),
    ("Problem wystepuje notorycznie.", "always"),
    ("Program wiesza się nagminnie.", "often"),
    ("Permanentnie.", "always"),
    ("Non stop.", "always"),
    ("Bez przerwy się zawiesza.", "always"),
    ("Bardzo rzadko.", "sometimes"),
    ("Kilka razy w miesiącu.", "sometimes"),
    ("Zdarzało się to już wcześniej, ale rzadko.", "sometimes"),
    ("Jak dotąd tylko raz.", "once"),
    ("Przy każdej próbie wydruku.", "always"),
    ("Zawsze po zalogowaniu.", "always"),
    ("Za każdym razem jak klikam Zapisz.", "always"),
    ("Za kazdym razem gdy otwieram raport", "always"),
    ("Zawsze gdy klikam Zapisz, program się zamyka.", "always"),
    ("Niemal za każdym razem.", "often"),
    ("Nie za każdym razem.", "sometimes"),
    ("Nie codziennie, ale często.", "often"),
    ("Every day.", "often"),
    ("It happens every day.", "often"),
    ("Every other day.", "often"),
    ("It fails about every other day.", "often"),
    ("Only once so far.", "once"),
    ("Every single time I print, the app crashes.", "always"),
    ("Almost every time.", "often"),
    ("Not every time.", "sometimes"),
    ("Happens everytime.", "always"),
    ("Allways.", "always"),
    ("Evrey time.", "always"),
    ("Problem występuje raz na kilka dni.", "sometimes"),
    ("Błąd wystąpił dwa razy.", "sometimes"),
    ("It happened twice this week.", "sometimes"),
    ("Na razie tylko raz.", "once"),
    ("Dzieje się to co rano.", "often"),
    ("The app crashes every morning.", "often"),
    ("Błąd pojawia się losowo.", "sometimes"),
    ("It crashes randomly.", "sometimes"),
    ("Nieregularnie.", "sometimes"),
    ("Zawsze działało, a od wczoraj błąd pojawia się codziennie.", "often"),
]

NOT_RECOGNISED = [
    "Zawsze działało do wczoraj, a dziś raport się nie otwiera.",
    "zawsze działało do wczoraj",
    "Program zawsze działał poprawnie, od wczoraj pojawia się błąd.",
    "Jak zawsze dziękuję za szybką pomoc.",
    "Tak jak zawsze, prosimy o szybką odpowiedź.",
    "Zawsze chętnie korzystamy z Państwa wsparcia.",
    "Zawsze przed aktualizacją robimy kopię zapasową.",
    "Zawsze, gdy mamy pytania, piszemy na ten adres.",
    "Często korzystamy z tego raportu.",
    "Codziennie rano wysyłamy raporty do klientów.",
    "Czasami dzwonimy do Państwa w tej sprawie.",
    "Jeszcze raz przesyłam opis błędu.",
    "Raz jeszcze dziękuję.",
    "Pierwszy raz zgłaszamy problem z raportami.",
    "Jak często wykonujecie aktualizacje?",
    "Czy błąd zawsze jest zgłaszany do Państwa?",
    "Once I click the button, the window closes with an error.",
    "As always, thanks for the quick help with this issue.",
    "We have always used LOG System without problems.",
    "Please reply once you have the fix.",
    "Always happy to help test the fix.",
    "Please always keep the ticket number in the subject.",
    "Thanks again for your help.",
    "Dziękuję, pozdrawiam zawsze serdecznie.",
    "Przez cały czas pracy programu nic się nie dzieje.",
    "Zawsze gdy mamy pytania piszemy na ten adres.",
    "Every day we send reports to our customers.",
    "Co drugi dzień dzwonimy do klientów.",
    "Every time we call, nobody answers the phone.",
    "Every day we get many orders.",
    "Raz dziennie robimy backup.",
    "Always yours, Bob",
    "Często zadawane pytania nie pomogły.",
    "Kliknąłem dwa razy w przycisk Zapisz.",
]


def frequency_of(text: str) -> object:
    return extract(text, text, [], first_message=True).get("frequency")


def test_the_table_is_large_enough() -> None:
    """The table holds at least 40 phrases, in both directions (issue 13)."""
    assert len(RECOGNISED) + len(NOT_RECOGNISED) >= 40
    assert len(RECOGNISED) >= 20 and len(NOT_RECOGNISED) >= 20


@pytest.mark.parametrize(("text", "code"), RECOGNISED)
def test_a_stated_frequency_is_recognised(text: str, code: str) -> None:
    """A frequency the client states, in any of these ways, gives that frequency."""
    assert frequency_of(text) == code


@pytest.mark.parametrize("text", NOT_RECOGNISED)
def test_a_frequency_word_in_an_unrelated_sentence_does_not_count(text: str) -> None:
    """A frequency word that says nothing about how often the error occurs gives none."""
    assert frequency_of(text) is None


def test_a_bare_answer_in_a_reply_under_our_quoted_request_counts() -> None:
    """A reply "Zawsze, za każdym razem." above our quoted request gives the frequency."""
    text = "Zawsze, za każdym razem.\n\n> Częstotliwość błędu:\n> Jednorazowy / Czasami / Zawsze"
    assert extract(text, "Zawsze, za każdym razem.", []).get("frequency") == "always"


def test_contradicting_bare_answers_give_none() -> None:
    """Two bare answers that disagree ("Zawsze. Czasami.") are no answer."""
    assert frequency_of("Zawsze, czasami.") is None
