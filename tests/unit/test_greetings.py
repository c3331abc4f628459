"""Whether a staff text opens with its own greeting (issue 12: one greeting per mail)."""

from __future__ import annotations

import pytest

from mailintake.domain.greetings import opens_with_greeting, subject_line

GREETINGS = [
    "Dzień dobry,",
    "Dzien dobry Panie Janie,\n\ntekst",
    "DZIEŃ DOBRY!",
    "\n\n  Dzień dobry,",
    "Dobry wieczór,",
    "Witam,",
    "Witam serdecznie",
    "Witamy,",
    "Szanowni Państwo,",
    "Szanowny Panie,",
    "Szanowna Pani Ewo,",
    "Cześć Janku,",
    "Hello,",
    "Hello John,",
    "Hi,",
    "Hi John",
    "Dear Mr Smith,",
    "Good morning,",
    "Good afternoon Ann,",
    "Hey,",
    "Panie Janie,\n\nprzyczyną był indeks.",
    "Pani Anno, dziękujemy.",
    "Hej Janek,",
    "Hej,",
    "Drogi Janie,",
]
NOT_GREETINGS = [
    "",
    "Przyczyną był uszkodzony indeks.",
    "Dziękujemy za informację.",
    "Highly likely a driver issue.",
    "Hint: run the repair.",
    "History of the fix below.",
    "Witaminy nie pomogą.",
    "Dobry pomysł, sprawdzimy.",
    "Please say hello to the admin.",
    "Pani Anna zgłosiła to wczoraj.",
    "Hejnał gra o dwunastej.",
    "Dearborn office reported it too.",
]


@pytest.mark.parametrize("text", GREETINGS)
def test_a_text_opening_with_a_greeting_is_recognised(text: str) -> None:
    """Polish and English openings, any case, diacritics optional, after blank lines."""
    assert opens_with_greeting(text)


@pytest.mark.parametrize("text", NOT_GREETINGS)
def test_other_openings_are_not_greetings(text: str) -> None:
    """Words that merely start like a greeting, or greet later, do not count."""
    assert not opens_with_greeting(text)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("Eksport do PDF nie działa.\nWersja 6.1", "Eksport do PDF nie działa."),
        ("Dzień dobry,\n\nEksport do PDF nie działa.\n", "Eksport do PDF nie działa."),
        (
            "\n  Hello,\n\n  Labels print without the barcode  \n",
            "Labels print without the barcode",
        ),
        (
            "Dzień dobry, etykiety drukują się bez kodu kreskowego.",
            "Dzień dobry, etykiety drukują się bez kodu kreskowego.",
        ),
        ("słowo " * 60, ("słowo " * 60).strip()[:150].rsplit(" ", 1)[0] + " …"),
        ("Dzień dobry,", ""),
        ("", ""),
    ],
)
def test_the_subject_line_of_a_text_is_its_first_line_after_a_greeting(
    text: str, line: str
) -> None:
    """The first non-empty line that is not a bare greeting, shortened at a word to 150 characters."""
    assert subject_line(text) == line
