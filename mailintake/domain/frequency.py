"""Recognising how often the error occurs (SPEC §3, field `frequency`).

Owns: the four answers `once`, `sometimes`, `often`, `always` with their form labels
(`FREQUENCY_LABELS`), the Polish and English words for each, and reading one from a
labelled value (`labelled_frequency`), a bare answer line ("Zawsze.", `bare_frequency`)
or a sentence about the error in free text (`free_frequency`). Text that names no answer,
or several, gives none.

Must not: find labels or read lines (`domain.answers`, `domain.freetext` call this), do
I/O or read the clock.
"""

from __future__ import annotations

import re

from mailintake.domain.text import fold

FREQUENCY_LABELS: dict[str, dict[str, str]] = {
    "once": {"pl": "Jednorazowy", "en": "Once"},
    "sometimes": {"pl": "Czasami", "en": "Sometimes"},
    "often": {"pl": "Często", "en": "Often"},
    "always": {"pl": "Zawsze", "en": "Always"},
}

_FREQ_PHRASES: dict[str, tuple[str, ...]] = {
    "once": (
        "jednorazowy",
        "jednorazowo",
        "jednorazowa",
        "jednorazowe",
        "jednokrotnie",
        "jednokrotny",
        "tylko raz",
        "jeden raz",
        "raz",
        "once",
        "only once",
        "just once",
        "one time",
        "one-time",
        "one-off",
        "single",
    ),
    "sometimes": (
        "czasami",
        "czasem",
        "sporadycznie",
        "sporadyczny",
        "sporadyczne",
        "niekiedy",
        "od czasu do czasu",
        "nie zawsze",
        "rzadko",
        "sometimes",
        "occasionally",
        "occasional",
        "intermittent",
        "intermittently",
        "sporadic",
        "sporadically",
        "from time to time",
        "not always",
        "rarely",
        "co jakis czas",
        "raz na jakis czas",
        "raz na tydzien",
        "raz w tygodniu",
        "raz na miesiac",
        "raz w miesiacu",
        "once a week",
        "once a month",
        "once in a while",
    ),
    "often": (
        "czesto",
        "bardzo czesto",
        "czesty",
        "czeste",
        "wielokrotnie",
        "regularnie",
        "codziennie",
        "kilka razy dziennie",
        "often",
        "very often",
        "frequently",
        "frequent",
        "regularly",
        "daily",
        "many times",
        "several times a day",
        "raz dziennie",
        "kilka razy w tygodniu",
        "once a day",
        "several times a week",
    ),
    "always": (
        "zawsze",
        "za kazdym razem",
        "kazdorazowo",
        "caly czas",
        "stale",
        "ciagle",
        "always",
        "every time",
        "each time",
        "all the time",
        "constantly",
        "consistently",
    ),
    # Questions and idioms, not answers ("as always" says nothing about the error).
    "": ("jak czesto", "how often", "as often as", "jak zawsze", "as always", "as usual"),
}
# Words too ambiguous in running text ("once I click…", "jeszcze raz"): label or bare line only.
_FREQ_LABEL_ONLY = frozenset({"raz", "once", "single", "stale"})
# A frequency word in free text counts only in a sentence about the error occurring:
# "błąd występuje zawsze", "it always crashes", "happens every time"; not "jak zawsze
# dziękuję". This is a judgement call, kept narrow on purpose (SPEC §3).
_FREQ_CONTEXT = re.compile(
    r"(?<![a-z])(?:bl[ae]d\w*|problem\w*|wystepuj\w*|wystapi\w*|pojawia\w*|zdarza\w*"
    r"|dzieje|wywal\w*|zawies\w*|sypie|crash\w*|nie dziala|przestaj\w*|wyjat\w*|awari\w*"
    r"|czestotliwosc\w*|error\w*|issue\w*|bug\w*|happen\w*|occur\w*|fail\w*|hang\w*"
    r"|freez\w*|exception\w*|frequency)(?![a-z])"
)


def _freq_regex(*, free_text: bool) -> re.Pattern[str]:
    phrases = {
        phrase: code
        for code, words in _FREQ_PHRASES.items()
        for phrase in words
        if not (free_text and phrase in _FREQ_LABEL_ONLY)
    }
    ordered = sorted(phrases, key=len, reverse=True)  # "nie zawsze" before "zawsze"
    groups = "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in ordered)
    return re.compile(rf"(?<![a-z])(?:{groups})(?![a-z])")


_FREQ_STRICT_RE = _freq_regex(free_text=False)
_FREQ_FREE_RE = _freq_regex(free_text=True)
_FREQ_CODE = {p: code for code, words in _FREQ_PHRASES.items() for p in words}


def _single_frequency(folded: str, pattern: re.Pattern[str]) -> str | None:
    """The one frequency `folded` names; None when it names none or several."""
    codes = {_FREQ_CODE[" ".join(m.group(0).split())] for m in pattern.finditer(folded)}
    codes.discard("")
    return codes.pop() if len(codes) == 1 else None


def labelled_frequency(value: str) -> str | None:
    """The frequency a value written after the field's label names, every word allowed."""
    return _single_frequency(fold(value), _FREQ_STRICT_RE)


def bare_frequency(folded: str) -> str | None:
    """A line that is nothing but a frequency answer ("Zawsze.", "- czasami")."""
    core = folded.strip(" \t*_-•.!,;:")
    if not core or not _FREQ_STRICT_RE.fullmatch(core):
        return None
    return _single_frequency(core, _FREQ_STRICT_RE)


def free_frequency(folded_text: str) -> str | None:
    """The frequency of the first sentence that names one and is about the error."""
    for sentence in re.split(r"[.!?;\n]+", folded_text):
        code = _single_frequency(sentence, _FREQ_FREE_RE)
        if code and _FREQ_CONTEXT.search(sentence):
            return code
    return None
