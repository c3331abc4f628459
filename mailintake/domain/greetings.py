"""Greetings at the top of a staff text, and the line a text is about (issue 12).

Owns: `opens_with_greeting` — whether a text starts with its own salutation ("Dzień dobry",
"Witam", "Szanowni Państwo", "Hello", "Hi", "Dear" …), so a notice template that would
greet too drops its own "Dzień dobry," (one greeting per mail) — and `subject_line`, the
first line of a text that is not a bare greeting, shortened for a subject ([PODZIEL]) —
and `salutation_language`, the language a mail's greeting and sign-off are written in.
Matching ignores case and diacritics and wants whole words ("Hint" is no "Hi").

Must not: do I/O, read the clock or decide which template greets (the templates do).
"""

from __future__ import annotations

import re

from mailintake.domain.text import fold

# Folded (lower case, no diacritics); each is followed by a word boundary.
_GREETINGS = (
    r"dzien dobry",
    r"dobry wieczor",
    r"witam",
    r"witamy",
    r"witaj(?:cie)?",
    r"szanown[iya]",
    r"czesc",
    r"hello",
    r"hi",
    r"hey",
    r"hej(?:ka)?",
    r"pan(?:ie|i) \w+,",  # "Panie Janie," "Pani Anno," (the vocative with its comma)
    r"drog(?:i|a|ie) \w+,",  # "Drogi Janie,"
    r"dear",
    r"good (?:morning|afternoon|evening|day)",
    r"greetings",
)
_OPENING = re.compile(rf"\s*(?:{'|'.join(_GREETINGS)})(?![\w-])")
# The language of each greeting and sign-off (folded, at the start of a short line).
_SALUTATIONS = {
    "pl": re.compile(
        r"(?:dzien dobry|dobry wieczor|witam|witamy|witaj(?:cie)?|szanown[iya]|czesc"
        r"|(?:z )?pozdrawiam\w*|pozdrowienia|serdeczn\w+ pozdr\w*|z powazaniem"
        r"|(?:z gory )?dziekuj\w*|dzieki)(?![\w-])"
    ),
    "en": re.compile(
        r"(?:hello|hi|hey|dear|good (?:morning|afternoon|evening|day)|greetings"
        r"|(?:best |kind |warm )?regards|thanks|thank you|many thanks|cheers|sincerely"
        r"|yours (?:sincerely|truly))(?![\w-])"
    ),
}
_SALUTATION_WORDS = 6  # "Z poważaniem, Jan Kowalski" is a sign-off; a sentence is not
SUBJECT_CHARS = 150  # enough for one line of an Outlook subject column
_BARE_GREETING_WORDS = 4  # "Dzień dobry Panie Janie," is a greeting line, not a topic


def opens_with_greeting(text: str | None) -> bool:
    """Does `text` start (after blank lines) with a Polish or English greeting?"""
    return bool(text) and _OPENING.match(fold(text or "")) is not None


def salutation_language(text: str) -> str | None:
    """ "pl" or "en" when every greeting and sign-off line of `text` is in that language.

    None when there is none, or they are in both ("Hi, … Pozdrawiam"). A Polish client
    pasting an English error message still greets and signs in Polish (issue 13).
    """
    found = {
        lang
        for line in fold(text).splitlines()
        if 0 < len(line.split()) <= _SALUTATION_WORDS
        for lang, pattern in _SALUTATIONS.items()
        if pattern.match(line.strip(" \t>*-"))
    }
    return found.pop() if len(found) == 1 else None


def subject_line(text: str) -> str:
    """The first non-empty line that is not a bare greeting, cut at a word to 150 characters."""
    for line in text.splitlines():
        words = line.split()
        if not words or (opens_with_greeting(line) and len(words) <= _BARE_GREETING_WORDS):
            continue
        line = " ".join(words)
        if len(line) <= SUBJECT_CHARS:
            return line
        return line[:SUBJECT_CHARS].rsplit(" ", 1)[0] + " …"
    return ""
