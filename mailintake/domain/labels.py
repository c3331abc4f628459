"""The field labels: how our request form writes them and how clients write them (SPEC §3).

Owns: `LABELS`, the Polish and English wording of each field in our form (the procedure's
table), the aliases clients use instead ("Wersja", "Opis problemu", "How often"), and
`match_label`: whether a folded line starts with a label, and what is written after it;
`shown` — a field's value as a reader of a language reads it (`always` → "Zawsze"), so no
notice shows an internal code.
A label is matched ignoring case and diacritics, after bullets, numbering, `*bold*`
markers and the asterisk of required fields, followed by `:`, `-`, `=`, `|`, `?`, a tab
or the end of the line; the longest label wins.

Must not: read lines or values (`domain.lines`, `domain.answers` do), do I/O or read the
clock.
"""

from __future__ import annotations

import re

from mailintake.domain.frequency import FREQUENCY_LABELS, marked_option
from mailintake.domain.text import fold

# The Polish labels are the wording of SPEC §3 (and of the procedure's table).
LABELS: dict[str, dict[str, str]] = {
    "scenario": {"pl": "Scenariusz powtórzenia błędu", "en": "Steps to reproduce"},
    "version": {"pl": "Wersja oprogramowania", "en": "Software version"},
    "logs": {"pl": "Plik logów systemowych (KB-1902)", "en": "System log file (KB-1902)"},
    "frequency": {"pl": "Częstotliwość błędu", "en": "Error frequency"},
    "screenshots": {"pl": "Zrzuty ekranowe", "en": "Screenshots"},
    "error_code": {"pl": "Kod błędu", "en": "Error code"},
    "service_log_system": {
        "pl": 'Stan usługi "LOG System" na serwerze',
        "en": 'State of the "LOG System" service on the server',
    },
    "service_lsa": {
        "pl": 'Stan usługi "Usługa LSA" na komputerze z Agentem',
        "en": 'State of the "Usługa LSA" service on the Agent computer',
    },
    "service_qdesk": {
        "pl": 'Stan usługi "QDesk Scheduler"',
        "en": 'State of the "QDesk Scheduler" service',
    },
}


# How clients write the labels besides our own wording: folded, without quotes.
_ALIASES: dict[str, tuple[str, ...]] = {
    "scenario": (
        "scenariusz powtorzenia bledu",
        "scenariusz powtorzenia",
        "scenariusz bledu",
        "scenariusz",
        "kroki do powtorzenia bledu",
        "kroki do powtorzenia",
        "kroki powtorzenia",
        "kroki",
        "opis bledu",
        "opis problemu",
        "opis",
        "steps to reproduce the error",
        "steps to reproduce the issue",
        "steps to reproduce",
        "reproduction steps",
        "how to reproduce",
        "steps",
        "scenario",
        "error description",
        "problem description",
        "description",
    ),
    "version": (
        "wersja oprogramowania",
        "wersja programu",
        "wersja systemu",
        "wersja aplikacji",
        "wersja log system",
        "wersja log systemu",
        "wersja",
        "nr wersji",
        "numer wersji",
        "software version",
        "program version",
        "application version",
        "log system version",
        "product version",
        "version number",
        "version",
        "ver",
    ),
    "logs": (
        "plik logow systemowych",
        "pliki logow systemowych",
        "plik logow",
        "pliki logow",
        "logi systemowe",
        "logi",
        "log",
        "system log file",
        "system log files",
        "system logs",
        "log file",
        "log files",
        "logs",
    ),
    "frequency": (
        "czestotliwosc bledu",
        "czestotliwosc wystepowania bledu",
        "czestotliwosc wystepowania",
        "czestotliwosc",
        "jak czesto wystepuje blad",
        "jak czesto",
        "error frequency",
        "frequency of the error",
        "frequency of error",
        "frequency",
        "how often",
    ),
    "screenshots": (
        "zrzuty ekranowe",
        "zrzut ekranowy",
        "zrzuty ekranu",
        "zrzut ekranu",
        "screenshots",
        "screenshot",
        "screen shots",
        "print screen",
        "printscreen",
    ),
    "error_code": (
        "kod bledu",
        "kod wyjatku krytycznego",
        "kod wyjatku",
        "numer bledu",
        "error code",
        "exception code",
        "error number",
    ),
    "service_log_system": (
        "stan uslugi log system na serwerze",
        "stan uslugi na serwerze windows log system",
        "stan uslugi log system",
        "status uslugi log system",
        "usluga log system",
        "state of the log system service on the server",
        "state of the log system service",
        "status of the log system service",
        "log system service",
    ),
    "service_lsa": (
        "stan uslugi usluga lsa na komputerze z agentem",
        "stan uslugi na komputerze z problematycznym agentem usluga lsa",
        "stan uslugi usluga lsa",
        "stan uslugi lsa",
        "status uslugi lsa",
        "usluga lsa",
        "state of the usluga lsa service on the agent computer",
        "state of the usluga lsa service",
        "state of the lsa service",
        "lsa service",
    ),
    "service_qdesk": (
        "stan uslugi qdesk scheduler",
        "stan uslugi na serwerze windows qdesk scheduler",
        "status uslugi qdesk scheduler",
        "usluga qdesk scheduler",
        "state of the qdesk scheduler service",
        "qdesk scheduler service",
        "qdesk scheduler",
    ),
}

_QUOTES = "\"'„”“«»‘’"
_WORD_GAP = f"[\\s{_QUOTES}]+"


def _alias_key(text: str) -> str:
    """A folded label with quotes, parentheses and extra spaces removed."""
    text = re.sub(r"\([^)]*\)", " ", fold(text))
    return " ".join(re.sub(f"[{_QUOTES}]", " ", text).split())


def _alias_table() -> dict[str, str]:
    table = {
        _alias_key(label): code for code, by_lang in LABELS.items() for label in by_lang.values()
    }
    table.update({alias: code for code, aliases in _ALIASES.items() for alias in aliases})
    return table


_ALIAS_CODE = _alias_table()


def _label_regex() -> re.Pattern[str]:
    aliases = sorted(_ALIAS_CODE, key=len, reverse=True)  # the longest label wins
    alternatives = "|".join(_WORD_GAP.join(map(re.escape, a.split())) for a in aliases)
    prefix = rf"^(?:[\s*_•·+\-–—{_QUOTES}]|\d{{1,2}}[.)])*"  # bullets, numbering, *bold*
    decor = rf"(?:[\s*_{_QUOTES}]|\((?P<hint>[^)]{{0,80}})\))*"  # "(opcja)", "(KB-1902)", "*"
    # "?" for "Jak często występuje błąd? Zawsze"; a dash only before a space ("Log-in").
    separator = r"(?:[:=|?]|[-–—](?=\s|$)|(?<=\t)|$)"
    return re.compile(rf"{prefix}(?P<label>{alternatives})(?![a-z0-9]){decor}{separator}")


_LABEL_RE = _label_regex()


def match_label(text: str, folded: str, *, ours: bool) -> tuple[str, str] | None:
    """(field code, value written on the same line) when a line starts with a label.

    `text` is the line without quote markers, `folded` the same folded (`text.fold`), and
    `ours` whether the line is one of our own.
    """
    m = _LABEL_RE.match(folded)
    if not m:
        return None
    code = _ALIAS_CODE[_alias_key(m.group("label"))]
    value = text[m.end() :].strip().strip("*_").strip()
    if ours or _LABEL_RE.match(fold(value)):
        value = ""  # ours never answers; "Label: Label2:" is a form joined by a mailer
    elif not value and code == "frequency" and m.group("hint"):
        # Our form answered in place: "(Jednorazowy / Czasami / [X] Często / Zawsze)".
        value = marked_option(text[m.start("hint") : m.end("hint")]) or ""
    return code, value


def label(code: str, lang: str = "pl") -> str:
    """The form's label of field `code` in `lang` (Polish when there is none)."""
    return LABELS[code].get(lang, LABELS[code]["pl"])


def shown(code: str, value: object, lang: str = "pl") -> str:
    """A field's value for people: a frequency code in words (`always` → "Zawsze"), a list
    joined with commas, anything else as written."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if code == "frequency" and isinstance(value, str) and value in FREQUENCY_LABELS:
        return FREQUENCY_LABELS[value].get(lang, FREQUENCY_LABELS[value]["pl"])
    return str(value)
