"""Required-data recognition, accumulation and the request form (SPEC section 3)."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailintake.domain.fields import (
    FIELDS,
    FREQUENCY_LABELS,
    LABELS,
    OPTIONAL,
    REQUIRED,
    extract,
    form_lines,
    merge,
    missing,
    normalize_line,
)
from mailintake.domain.mail import Attachment
from tests.corpus import CORPUS, corpus_params

REQUEST_PL = "\n".join(
    [
        "Dzień dobry,",
        "",
        "dziękujemy za zgłoszenie LOG-000001. Aby je przeanalizować, prosimy o uzupełnienie danych:",
        "",
        *form_lines(REQUIRED, "pl"),
        "",
        "Wersję znajdą Państwo w menu Pomoc, np. 6.1.111.111.",
        "Częstotliwość: Jednorazowy / Czasami / Często / Zawsze.",
        "",
        "Pozdrawiamy,",
        "Zespół wsparcia LOG Systems",
    ]
)

REQUEST_EN = "\n".join(
    [
        "Hello,",
        "",
        "thank you for ticket LOG-000002. Please fill in:",
        "",
        *form_lines(("scenario", "version", "frequency"), "en"),
        "",
        "Best regards,",
        "LOG Systems support",
    ]
)


def ours(*texts: str) -> frozenset[str]:
    """Our outgoing messages as the service hands them to `extract`."""
    lines = (normalize_line(line) for text in texts for line in text.splitlines())
    return frozenset(line for line in lines if line)


def quote(text: str) -> str:
    return "\n".join(f"> {line}".rstrip() for line in text.splitlines())


def att(
    name: str, kind: str = "application/octet-stream", size: int = 20_000, *, inline: bool = False
) -> Attachment:
    return Attachment(filename=name, content_type=kind, data=b"x" * size, inline=inline)


def fields_of(text: str, **kwargs: object) -> dict[str, object]:
    """Extract from a message whose own text is the whole body."""
    return extract(text, text, [], **kwargs)  # type: ignore[arg-type]


# ---------------------------------------------------------------- labels and form


def test_polish_labels_are_the_wording_of_the_spec_table() -> None:
    """The Polish labels are exactly those of SPEC section 3."""
    assert {code: label["pl"] for code, label in LABELS.items()} == {
        "scenario": "Scenariusz powtórzenia błędu",
        "version": "Wersja oprogramowania",
        "logs": "Plik logów systemowych (KB-1902)",
        "frequency": "Częstotliwość błędu",
        "screenshots": "Zrzuty ekranowe",
        "error_code": "Kod błędu",
        "service_log_system": 'Stan usługi "LOG System" na serwerze',
        "service_lsa": 'Stan usługi "Usługa LSA" na komputerze z Agentem',
        "service_qdesk": 'Stan usługi "QDesk Scheduler"',
    }


def test_field_codes_are_required_then_optional() -> None:
    """FIELDS lists the four required codes first, then the five optional ones."""
    assert FIELDS == REQUIRED + OPTIONAL
    assert REQUIRED == ("scenario", "version", "logs", "frequency")
    assert set(LABELS) == set(FIELDS)
    assert all(set(label) == {"pl", "en"} for label in LABELS.values())


def test_frequency_labels_name_the_four_procedure_values() -> None:
    """The frequency values are the procedure's Jednorazowy / Czasami / Często / Zawsze."""
    assert [FREQUENCY_LABELS[c]["pl"] for c in ("once", "sometimes", "often", "always")] == [
        "Jednorazowy",
        "Czasami",
        "Często",
        "Zawsze",
    ]
    assert FREQUENCY_LABELS["always"]["en"] == "Always"


def test_form_lines_give_one_label_line_per_typed_code_in_order() -> None:
    """The request form has one "Label: " line per missing typed-in code, in the order asked."""
    assert form_lines(["version", "logs", "screenshots", "error_code"], "pl") == [
        "Wersja oprogramowania: ",
        "Kod błędu: ",
    ]
    assert form_lines(["frequency", "scenario"], "en") == [
        "Error frequency: ",
        "Steps to reproduce: ",
    ]


def test_form_lines_fall_back_to_polish() -> None:
    """An unknown language gets the Polish form (SPEC §5: Polish by default)."""
    assert form_lines(["version"], "de") == ["Wersja oprogramowania: "]


SAMPLES = {
    "scenario": ("Otwieram raport i klikam Generuj.", "Otwieram raport i klikam Generuj."),
    "version": ("LOG System 6.1.111.112", "6.1.111.112"),
    "frequency": ("Często", "often"),
    "error_code": ("0x80004005", "0x80004005"),
    "service_log_system": ("uruchomiona", "uruchomiona"),
    "service_lsa": ("stopped", "stopped"),
    "service_qdesk": ("Running", "Running"),
}


@pytest.mark.parametrize("lang", ["pl", "en"])
@pytest.mark.parametrize("code", sorted(SAMPLES))
def test_our_own_form_filled_in_is_recognised(code: str, lang: str) -> None:
    """Every form line we send, filled in by the client, gives its field."""
    written, value = SAMPLES[code]
    line = form_lines([code], lang)[0] + written
    assert fields_of(line, our_lines=ours(REQUEST_PL)) == {code: value}


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_our_empty_form_is_not_an_answer(lang: str) -> None:
    """Our whole form sent back unfilled and unquoted gives nothing."""
    form = "\n".join(form_lines(FIELDS, lang))
    assert fields_of(form, our_lines=ours(form)) == {}


def test_normalize_line_drops_quote_markers_space_and_case() -> None:
    """Lines are compared without quote markers, repeated spaces or case."""
    assert normalize_line(">> >  Wersja   OPROGRAMOWANIA:  ") == "wersja oprogramowania:"
    assert normalize_line("Wersja oprogramowania: ") == normalize_line("> Wersja oprogramowania:")


# ---------------------------------------------------------------- labelled values


def test_top_posted_polish_form() -> None:
    """A top-posted Polish answer with diacritics fills every labelled field."""
    text = """Dzień dobry,

Scenariusz powtórzenia błędu: Otwieram moduł Raporty,
wybieram raport "Sprzęt" i klikam Generuj. Program się zawiesza.
Wersja oprogramowania: 6.1.111.111
Częstotliwość błędu: Zawsze
Kod błędu: 0xC0000005
Stan usługi "LOG System" na serwerze: uruchomiona
Stan usługi "Usługa LSA" na komputerze z Agentem: zatrzymana
Stan usługi "QDesk Scheduler": działa

Pozdrawiam,
Jan Kowalski"""
    assert fields_of(text) == {
        "scenario": 'Otwieram moduł Raporty,\nwybieram raport "Sprzęt" i klikam Generuj. '
        "Program się zawiesza.",
        "version": "6.1.111.111",
        "frequency": "always",
        "error_code": "0xC0000005",
        "service_log_system": "uruchomiona",
        "service_lsa": "zatrzymana",
        "service_qdesk": "działa",
    }


def test_labels_without_diacritics_in_capitals() -> None:
    """Labels match without Polish letters and in any case."""
    text = (
        "WERSJA OPROGRAMOWANIA: 6.1.2.3\nczestotliwosc bledu: czesto\nkod bledu: E-77 brak pamieci"
    )
    assert fields_of(text) == {
        "version": "6.1.2.3",
        "frequency": "often",
        "error_code": "E-77 brak pamieci",
    }


def test_english_labels() -> None:
    """English labels are recognised like Polish ones."""
    text = """Steps to reproduce: open the report module and press Generate.
Software version: 6.2.0.15
Error frequency: every time
Error code: ERR-1234
LOG System service: running
LSA service: stopped
QDesk Scheduler service: running"""
    assert fields_of(text) == {
        "scenario": "open the report module and press Generate.",
        "version": "6.2.0.15",
        "frequency": "always",
        "error_code": "ERR-1234",
        "service_log_system": "running",
        "service_lsa": "stopped",
        "service_qdesk": "running",
    }


@pytest.mark.parametrize(
    "line",
    [
        "* Wersja oprogramowania *: 6.1.2.3",
        "Wersja oprogramowania*: 6.1.2.3",
        "**Wersja oprogramowania:** 6.1.2.3",
        "*Wersja oprogramowania*: 6.1.2.3",
        "- Wersja oprogramowania - 6.1.2.3",
        "2. Wersja oprogramowania: 6.1.2.3",
        "3) wersja: 6.1.2.3",
        "• Wersja – 6.1.2.3",
        "Wersja oprogramowania\t6.1.2.3",
        "Wersja oprogramowania | 6.1.2.3",
        "Software version = 6.1.2.3",
        "Wersja oprogramowania (opcja): 6.1.2.3",
    ],
)
def test_label_decorations_are_tolerated(line: str) -> None:
    """Bullets, numbers, bold, the required-field asterisk and other separators are allowed."""
    assert fields_of(line) == {"version": "6.1.2.3"}


def test_value_on_the_line_after_the_label() -> None:
    """A label alone on its line takes the value from the next non-empty line."""
    text = "Wersja oprogramowania:\n\n6.1.2.3\nCzęstotliwość błędu\nCzasami"
    assert fields_of(text) == {"version": "6.1.2.3", "frequency": "sometimes"}


def test_scenario_block_runs_to_the_next_label() -> None:
    """A labelled scenario spans several lines, numbered steps included, up to the next label."""
    text = """Kroki:
1. Logowanie jako admin
2. Raporty > Sprzęt > Generuj

3. Okno znika
Wersja: 6.1.2.3"""
    assert fields_of(text) == {
        "scenario": "1. Logowanie jako admin\n2. Raporty > Sprzęt > Generuj\n\n3. Okno znika",
        "version": "6.1.2.3",
    }


def test_scenario_block_stops_at_the_signature() -> None:
    """The sign-off and the signature below a labelled scenario are not part of it."""
    text = (
        "Scenariusz: Po kliknięciu Drukuj program się zamyka.\n\nPozdrawiam\nJan\n+48 600 000 000"
    )
    assert fields_of(text)["scenario"] == "Po kliknięciu Drukuj program się zamyka."


def test_hyphenated_word_is_not_a_label() -> None:
    """A word like "Log-in" at the start of a line does not end a scenario block."""
    text = "Opis: klikam Drukuj\nLog-in nie działa"
    assert fields_of(text) == {"scenario": "klikam Drukuj\nLog-in nie działa"}


def test_scenario_block_stops_at_a_reply_header() -> None:
    """A Polish or English reply header ends the scenario; the quoted history is not read."""
    for header in (
        "W dniu 6 maja 2024 10:00 Support <support@log-systems.com> napisał(a):",
        "On Mon, May 6, 2024 at 10:00 AM Support <support@log-systems.com> wrote:",
    ):
        text = f"Scenariusz: Klik Drukuj\n{header}\n> Scenariusz: stary opis"
        assert fields_of(text) == {"scenario": "Klik Drukuj"}


@pytest.mark.parametrize("value", ["brak", "-", "n/a", "nie dotyczy", "?"])
def test_placeholder_answers_are_no_value(value: str) -> None:
    """ "brak", "-", "n/a" and the like leave a field empty."""
    assert fields_of(f"Kod błędu: {value}\nScenariusz: {value}\n\nSzczegóły w załączniku.") == {}


def test_service_labels_in_other_wordings() -> None:
    """Service states are read from short and Polish-quoted labels and kept as written."""
    text = (
        "Usługa LOG System: Uruchomiona \n"
        "Stan usługi „Usługa LSA”: nie działa\n"
        "QDesk Scheduler: Stopped"
    )
    assert fields_of(text) == {
        "service_log_system": "Uruchomiona",
        "service_lsa": "nie działa",
        "service_qdesk": "Stopped",
    }


def test_first_labelled_value_wins() -> None:
    """When a field is labelled twice, the topmost (newest) value counts."""
    text = "Wersja: 6.1.2.4\n\n> Wersja: 6.1.2.3"
    assert fields_of(text) == {"version": "6.1.2.4"}


# ---------------------------------------------------------------- replies to our form


def test_inline_answers_under_our_quoted_form() -> None:
    """Answers typed between the quoted lines of our form fill their fields."""
    text = f"""Dzień dobry, odpowiedzi poniżej.

> Dzień dobry,
>
> dziękujemy za zgłoszenie LOG-000001. Aby je przeanalizować, prosimy o uzupełnienie danych:
>
> Scenariusz powtórzenia błędu:
Loguję się jako admin, otwieram Raporty
i klikam Generuj, pojawia się biały ekran.
> Wersja oprogramowania:
6.1.200.5
> Plik logów systemowych (KB-1902):
w załączniku
> Częstotliwość błędu:
Często
>
{quote(REQUEST_PL.split("Częstotliwość błędu:", 1)[1])}"""
    got = extract(
        text, "Dzień dobry, odpowiedzi poniżej.", [att("logs.zip")], our_lines=ours(REQUEST_PL)
    )
    assert got == {
        "scenario": "Loguję się jako admin, otwieram Raporty\n"
        "i klikam Generuj, pojawia się biały ekran.",
        "version": "6.1.200.5",
        "logs": ["logs.zip"],
        "frequency": "often",
    }


@pytest.mark.parametrize("with_our_lines", [True, False])
def test_our_empty_form_quoted_back_gives_nothing(with_our_lines: bool) -> None:
    """Our request quoted back unanswered fills no field, not even with its example text."""
    text = "Dzień dobry, proszę o informację co dalej.\n\n" + quote(REQUEST_PL)
    our = ours(REQUEST_PL) if with_our_lines else frozenset()
    assert extract(text, "Dzień dobry, proszę o informację co dalej.", [], our_lines=our) == {}


def test_english_inline_answers() -> None:
    """English inline answers under our quoted English form are read."""
    text = f"""> Steps to reproduce:
Print any invoice twice in a row; the second print hangs the application.
> Software version:
6.1.3.9
> Error frequency:
sometimes
{quote(REQUEST_EN.split("Error frequency:", 1)[1])}"""
    assert extract(text, "", [], our_lines=ours(REQUEST_EN)) == {
        "scenario": "Print any invoice twice in a row; the second print hangs the application.",
        "version": "6.1.3.9",
        "frequency": "sometimes",
    }


def test_outlook_reply_with_the_form_filled_inside_the_original() -> None:
    """An Outlook-style reply filled inside our unquoted original is read; our prose is not."""
    original = REQUEST_PL.replace(
        "Wersja oprogramowania: ", "Wersja oprogramowania: 6.1.111.200"
    ).replace("Częstotliwość błędu: ", "Częstotliwość błędu: jednorazowo")
    text = f"""Uzupełniłem w treści.

From: LOG Systems Support <support@log-systems.com>
Sent: Monday, May 6, 2024 10:00 AM
Subject: [LOG-000001] Raport nie działa

{original}"""
    got = extract(text, "Uzupełniłem w treści.", [], our_lines=ours(REQUEST_PL))
    assert got == {"version": "6.1.111.200", "frequency": "once"}


def test_outlook_reply_with_our_form_unfilled_gives_nothing() -> None:
    """Our unquoted original left as it was, example version included, fills nothing."""
    text = f"Proszę o kontakt telefoniczny.\n\nFrom: support@log-systems.com\n\n{REQUEST_PL}"
    assert extract(text, text, [], our_lines=ours(REQUEST_PL)) == {}


def test_value_typed_into_the_quoted_label_line() -> None:
    """A value typed at the end of our quoted label line (Thunderbird style) counts."""
    text = "> Wersja oprogramowania: 6.1.4.4\n> Częstotliwość błędu: Zawsze"
    assert extract(text, "", [], our_lines=ours(REQUEST_PL)) == {
        "version": "6.1.4.4",
        "frequency": "always",
    }


def test_rewrapped_fragment_of_our_line_is_still_ours() -> None:
    """A quoted line that is a re-wrapped piece of one of our lines gives no value."""
    request = "Wersja oprogramowania: 6.1.111.111 to przykład, prosimy wpisać swoją wersję"
    text = "> Wersja oprogramowania: 6.1.111.111 to przykład,\n> prosimy wpisać swoją wersję"
    assert extract(text, "", [], our_lines=ours(request)) == {}


def test_bare_frequency_answer_line_in_a_reply() -> None:
    """A reply whose line is just a frequency word gives the frequency."""
    assert extract(
        "Zawsze.\n\n" + quote(REQUEST_PL), "Zawsze.", [], our_lines=ours(REQUEST_PL)
    ) == {"frequency": "always"}


def test_answer_to_another_label_is_not_a_bare_frequency() -> None:
    """A frequency word given as the value of another label is not the frequency."""
    assert fields_of("Stan usługi LOG System:\nCzasami") == {"service_log_system": "Czasami"}


def test_form_lines_joined_by_a_mailer_do_not_answer_each_other() -> None:
    """Two empty labels run together on one line are not a value of the first one."""
    assert fields_of("Scenariusz powtórzenia błędu: Wersja oprogramowania:") == {}


# ---------------------------------------------------------------- version


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("Mamy wersję 6.1.2.3 na serwerze produkcyjnym.", "6.1.2.3"),
        ("We run version 6.1.111.111.", "6.1.111.111"),
        ("Zainstalowany LOG System 6.1.111.111 zgłasza błąd.", "6.1.111.111"),
        ("Po aktualizacji do wersji 6.2.1 raport nie działa.", "6.2.1"),
        ("ver. 6.1.5.9", "6.1.5.9"),
        ("Serwer 192.168.1.10, wersja programu 6.1.2.3", "6.1.2.3"),
        ("Wersja z dnia 15.01.2024, numer wersji 6.0.10.1", "6.0.10.1"),
    ],
)
def test_version_in_free_text_near_the_word(text: str, version: str) -> None:
    """A version number right after wersja/version/LOG System is taken from free text."""
    assert fields_of(text).get("version") == version


@pytest.mark.parametrize(
    "text",
    [
        "Serwer 192.168.1.10 nie odpowiada, wersja: nie wiem.",
        "Wersja bazy na serwerze 10.0.0.12 jest inna.",
        "Adres IP 10.1.1.1 w wersji testowej.",
        "Wersja z dnia 15.01.2024.",
        "Wersja wydana 2024.05.06 nie działa.",
        "Zamówienie 6.1.2.3 z magazynu nie działa.",
        "Wersja 6.1.2.3.4 to nie jest numer.",
        "Wersja: http://10.0.0.1/admin",
    ],
)
def test_no_version_from_addresses_dates_or_unrelated_numbers(text: str) -> None:
    """IP addresses, dates and numbers away from the word version are not versions."""
    assert "version" not in fields_of(text)


def test_labelled_version_may_look_like_an_address() -> None:
    """A number under the version label is taken even when it could be an IP address."""
    assert fields_of("Wersja oprogramowania: 10.0.0.1") == {"version": "10.0.0.1"}


def test_labelled_version_needs_a_number() -> None:
    """A version label without a number gives no version."""
    assert fields_of("Wersja oprogramowania: najnowsza") == {}


def test_version_only_in_quoted_text_is_not_taken() -> None:
    """Unlabelled free text counts only in the client's own words, not in quoted history."""
    assert extract("Dziękuję.\n\n> Mamy wersję 6.1.2.3", "Dziękuję.", []) == {}


# ---------------------------------------------------------------- frequency


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("Jednorazowy", "once"),
        ("jednorazowo", "once"),
        ("Raz", "once"),
        ("tylko raz", "once"),
        ("Czasami", "sometimes"),
        ("czasem", "sometimes"),
        ("Sporadycznie", "sometimes"),
        ("nie zawsze", "sometimes"),
        ("raz w tygodniu", "sometimes"),
        ("Często", "often"),
        ("Czesto", "often"),
        ("CZĘSTO", "often"),
        ("raz dziennie", "often"),
        ("Zawsze", "always"),
        ("Za każdym razem", "always"),
        ("za kazdym razem", "always"),
        ("once", "once"),
        ("one-time", "once"),
        ("sometimes", "sometimes"),
        ("occasionally", "sometimes"),
        ("intermittent", "sometimes"),
        ("often", "often"),
        ("Frequently", "often"),
        ("always", "always"),
        ("every time", "always"),
        ("Zawsze (przy każdym wydruku)", "always"),
    ],
)
def test_frequency_words_under_the_label(written: str, code: str) -> None:
    """Every Polish and English frequency wording maps to its code."""
    assert fields_of(f"Częstotliwość błędu: {written}") == {"frequency": code}


def test_frequency_with_several_answers_is_no_answer() -> None:
    """A value naming several frequencies (the options copied) gives none."""
    assert fields_of("Częstotliwość błędu: Jednorazowy / Czasami / Często / Zawsze") == {}


def test_frequency_as_an_answer_to_a_question_label() -> None:
    """ "Jak często występuje błąd? Zawsze" answers the question."""
    assert fields_of("Jak często występuje błąd? Zawsze") == {"frequency": "always"}


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Błąd występuje zawsze przy uruchamianiu raportu.", "always"),
        ("Czasami program się zawiesza przy zapisie.", "sometimes"),
        ("It always crashes when I print.", "always"),
        ("The error happens every time I log in.", "always"),
        ("Problem pojawia się sporadycznie, głównie rano.", "sometimes"),
        ("Częstotliwość: raczej często.", "often"),
    ],
)
def test_frequency_in_a_sentence_about_the_error(text: str, code: str) -> None:
    """A frequency word in a sentence about the error occurring counts without a label."""
    assert fields_of(text).get("frequency") == code


@pytest.mark.parametrize(
    "text",
    [
        "Jak zawsze dziękuję za szybką pomoc.",
        "Zawsze chętnie korzystamy z Państwa wsparcia.",
        "Często korzystamy z tego raportu.",
        "Once I click the button, the window closes with an error.",
        "As always, thanks for the quick help with this issue.",
        "Jeszcze raz przesyłam opis błędu.",
    ],
)
def test_frequency_words_in_unrelated_sentences_do_not_count(text: str) -> None:
    """Frequency words outside a sentence about the error occurring are ignored."""
    assert "frequency" not in fields_of(text)


# ---------------------------------------------------------------- attachments


@pytest.mark.parametrize(
    "name",
    [
        "system.log",
        "logs.zip",
        "dump.7z",
        "logi.rar",
        "logs.tar.gz",
        "logs.tgz",
        "x.tar",
        "Application.evtx",
        "trace.etl",
        "LOGSystem_log.txt",
        "server.log.1",
        "SERVER.LOG",
    ],
)
def test_log_files_and_archives_are_logs(name: str) -> None:
    """Log files and log archives count as the logs of KB-1902."""
    assert extract("", "", [att(name)]) == {"logs": [name]}


@pytest.mark.parametrize(
    "name", ["notes.txt", "catalog.txt", "dialog.txt", "report.pdf", "config.xml", "winmail.dat"]
)
def test_other_files_are_not_logs(name: str) -> None:
    """Documents and text files not named like a log are not logs."""
    assert "logs" not in extract("", "", [att(name)])


def test_archive_without_extension_is_a_log_by_its_type() -> None:
    """An archive attached without a file-name extension still counts as logs."""
    assert extract("", "", [att("logi", "application/zip")]) == {"logs": ["logi"]}


def test_screenshots_are_images_but_not_signature_logos() -> None:
    """Images are screenshots unless they are tiny, or small and inline (signature logos)."""
    attachments = [
        att("blad.png", "image/png", 50_000),
        att("image001.png", "image/png", 5_000, inline=True),
        att("inline-screen.png", "image/png", 60_000, inline=True),
        att("pixel.gif", "image/gif", 43),
        att("ekran", "image/jpeg", 40_000),
        att("zrzut.JPG", "application/octet-stream", 40_000),
    ]
    assert extract("", "", attachments) == {
        "screenshots": ["blad.png", "inline-screen.png", "ekran", "zrzut.JPG"],
    }


def test_a_small_named_attached_image_is_a_screenshot() -> None:
    """`zrzut.png` of 2 kB sent with Content-Disposition: attachment is no signature logo."""
    small = Attachment("zrzut.png", "image/png", b"\x89PNG" + b"0" * 2000, attached=True)
    assert extract("", "", [small]) == {"screenshots": ["zrzut.png"]}


def test_logs_and_screenshots_keep_order_without_repeats() -> None:
    """File names are listed once each, in the order attached."""
    attachments = [att("b.log"), att("a.zip"), att("b.log"), att("s.png", "image/png")]
    assert extract("", "", attachments) == {"logs": ["b.log", "a.zip"], "screenshots": ["s.png"]}


# ---------------------------------------------------------------- scenario from free text


@pytest.mark.parametrize(
    "own",
    [
        "Dzień dobry, w załączniku logi. Pozdrawiam",
        "Dzień dobry,\nw załączniku logi.\nPozdrawiam\nJan Kowalski",
        "Witam,\nproszę o pomoc.\n\nZ poważaniem\nAnna",
        "Hello,\nlogs attached.\nRegards",
        "Dzień dobry,\nprzesyłam dodatkowe logi diagnostyczne serwera aplikacyjnego.\nPozdrawiam",
    ],
)
def test_greeting_only_first_message_is_no_scenario(own: str) -> None:
    """A first message that only greets and points at attachments has no scenario."""
    assert "scenario" not in extract(own, own, [], first_message=True)


def test_first_message_description_is_the_scenario() -> None:
    """A first message describing what happened is the scenario, without greeting or signature."""
    own = """Dzień dobry,

po zalogowaniu jako admin i otwarciu modułu Raporty program
zawiesza się po kliknięciu Generuj przy raporcie Sprzęt.

Pozdrawiam
Jan Kowalski
tel. 600 000 000"""
    assert extract(own, own, [], first_message=True) == {
        "scenario": "po zalogowaniu jako admin i otwarciu modułu Raporty program\n"
        "zawiesza się po kliknięciu Generuj przy raporcie Sprzęt.",
    }


def test_greeting_on_the_same_line_as_the_description_is_dropped() -> None:
    """A greeting that opens the first sentence is cut from the scenario."""
    own = "Dzień dobry, po aktualizacji nie da się wydrukować żadnej faktury z modułu Sprzedaż."
    assert extract(own, own, [], first_message=True)["scenario"] == (
        "po aktualizacji nie da się wydrukować żadnej faktury z modułu Sprzedaż."
    )


def test_description_is_not_the_scenario_after_the_first_message() -> None:
    """Only the first message of a ticket gives an unlabelled scenario."""
    own = "Po zalogowaniu jako admin i otwarciu modułu Raporty program zawiesza się."
    assert "scenario" not in extract(own, own, [], first_message=False)


def test_labelled_lines_of_other_fields_are_cut_from_the_fallback_scenario() -> None:
    """The fallback scenario does not repeat the version or frequency lines."""
    own = """Dzień dobry,
Wersja oprogramowania: 6.1.2.3
Częstotliwość błędu:
zawsze
Przy imporcie pliku CSV z kontrahentami program kończy pracę bez komunikatu.
Pozdrawiam"""
    assert extract(own, own, [], first_message=True) == {
        "scenario": "Przy imporcie pliku CSV z kontrahentami program kończy pracę bez komunikatu.",
        "version": "6.1.2.3",
        "frequency": "always",
    }


def test_labelled_scenario_beats_the_fallback() -> None:
    """When the client labels the scenario, the rest of the message is not added to it."""
    own = "Mamy duży problem od wczoraj, proszę o pilny kontakt z działem IT.\nKroki: klik Drukuj"
    assert extract(own, own, [], first_message=True)["scenario"] == "klik Drukuj"


# ---------------------------------------------------------------- error code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Program kończy się błędem 0xC0000005 przy starcie.", "0xC0000005"),
        (
            "W logu widać System.NullReferenceException w module raportów.",
            "System.NullReferenceException",
        ),
        ("Pojawia się komunikat ERR-1234.", "ERR-1234"),
        ("Baza zwraca ORA-00942.", "ORA-00942"),
    ],
)
def test_exception_codes_in_free_text(text: str, code: str) -> None:
    """Well-known exception code shapes are taken from the client's own text."""
    assert fields_of(text).get("error_code") == code


@pytest.mark.parametrize(
    "text",
    [
        "Dotyczy zgłoszenia LOG-000123 i artykułu KB-1902.",
        "Błąd wystąpił o 10:45 w pokoju E1234.",
    ],
)
def test_our_keys_and_ordinary_words_are_not_error_codes(text: str) -> None:
    """Ticket keys, KB articles and look-alike words are not error codes."""
    assert "error_code" not in fields_of(text)


# ---------------------------------------------------------------- merge and missing


def test_later_version_keeps_the_earlier_logs() -> None:
    """A reply adding the version keeps the logs sent before (SPEC §3)."""
    first = extract("", "", [att("logs.zip")])
    second = extract("Wersja: 6.1.2.3", "Wersja: 6.1.2.3", [])
    assert merge(first, second) == {"logs": ["logs.zip"], "version": "6.1.2.3"}


def test_merge_unions_lists_and_overwrites_scalars() -> None:
    """Lists grow without repeats in arrival order; a new scalar replaces the old one."""
    old = {"logs": ["a.log", "b.zip"], "version": "6.1.0.1", "frequency": "once"}
    new = {"logs": ["b.zip", "c.7z"], "version": "6.1.0.2"}
    assert merge(old, new) == {
        "logs": ["a.log", "b.zip", "c.7z"],
        "version": "6.1.0.2",
        "frequency": "once",
    }


def test_merge_ignores_empty_new_values() -> None:
    """An empty value in a later message does not erase an earlier one."""
    old = {"scenario": "Klik Drukuj", "logs": ["a.log"]}
    assert merge(old, {"scenario": "  ", "logs": [], "version": None}) == old


def test_merge_leaves_its_inputs_alone() -> None:
    """Merging returns a new mapping and does not change the old one's lists."""
    old = {"logs": ["a.log"]}
    merged = merge(old, {"logs": ["b.log"]})
    assert old == {"logs": ["a.log"]}
    assert merged["logs"] == ["a.log", "b.log"]


def test_missing_lists_required_codes_in_order() -> None:
    """Missing fields are the empty required ones, in the order of REQUIRED."""
    assert missing({}) == ["scenario", "version", "logs", "frequency"]
    assert missing({"logs": [], "version": "6.1.2.3", "error_code": "x"}) == [
        "scenario",
        "logs",
        "frequency",
    ]
    complete = {"scenario": "s", "version": "6.1.2.3", "logs": ["a.log"], "frequency": "often"}
    assert missing(complete) == []


names = st.lists(st.sampled_from(["a.log", "b.zip", "c.7z", "d.png"]), max_size=4, unique=True)
field_maps = st.fixed_dictionaries(
    {},
    optional={
        "scenario": st.text(max_size=20),
        "version": st.sampled_from(["6.1.2.3", "6.1.2.4", ""]),
        "frequency": st.sampled_from(["once", "sometimes", "often", "always"]),
        "logs": names,
        "screenshots": names,
    },
)


@given(field_maps, field_maps)
def test_merging_the_same_message_twice_changes_nothing(
    old: dict[str, object], new: dict[str, object]
) -> None:
    """Merge is idempotent: a redelivered message adds nothing the second time."""
    once = merge(old, new)
    assert merge(once, new) == once


@given(st.text(), st.text(), st.booleans())
def test_extract_never_raises_and_returns_known_fields(text: str, own: str, first: bool) -> None:
    """Any text gives a mapping of known field codes with values of the documented types."""
    got = extract(text, own, [], our_lines=ours(REQUEST_PL), first_message=first)
    assert set(got) <= set(FIELDS)
    assert got.get("frequency") in (None, "once", "sometimes", "often", "always")
    assert all(isinstance(v, str) and v.strip() for k, v in got.items() if k != "logs")


# ---------------------------------------------------------------- real mail


def talon_replies() -> list[Path]:
    return sorted((CORPUS / "talon" / "tests" / "fixtures" / "standard_replies").glob("*.eml"))


@pytest.mark.corpus
@pytest.mark.parametrize("path", corpus_params(talon_replies(), ids=lambda p: p.stem))
def test_real_client_replies_without_data_fill_nothing(path: Path) -> None:
    """Real replies from common mail clients (talon corpus) carry no required data.

    The same on the project's own replies: tests/unit/test_fixture_mail.py.
    """
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    part = message.get_body(preferencelist=("plain",))
    text = part.get_content() if part is not None else ""
    assert missing(extract(text, "Hello", [], first_message=True)) == list(REQUIRED)
