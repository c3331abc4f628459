"""Dates and times as people read them: Europe/Warsaw, in Polish or English words (Babel, CLDR).

Owns: every way an instant or a day is shown to a person — in the prose of a client's mail
(`in_words`: "4 grudnia 2026 r., godz. 8:00", "4 December 2026, 8:00 CET"; `day_in_words`),
in a table cell (`in_table`: "4.12.2026, 08:00"; `day_in_table`: "15.01.2030") and where the offset matters to ops
(`with_offset`: "2026-12-04 08:00 +01:00"). Month names and patterns come from Babel's CLDR
data, never from a table of our own. Machine formats (JSON, CSV) stay ISO-8601 and are not
made here. Must not decide what is shown or to whom.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime

WARSAW = ZoneInfo("Europe/Warsaw")
# CLDR locales: Polish, and British English (day before month, 24-hour clock).
_LOCALE = {"pl": "pl_PL", "en": "en_GB"}
# Polish writes "r." after a year and "godz." before an hour in running text.
_WORDS = {"pl": "d MMMM y 'r., godz.' H:mm", "en": "d MMMM y, H:mm z"}
_DAY_WORDS = {"pl": "d MMMM y 'r.'", "en": "d MMMM y"}


def _lang(lang: str) -> str:
    return "en" if lang == "en" else "pl"  # SPEC section 5: Polish by default


def in_words(at: datetime | None, lang: str = "pl") -> str:
    """An instant in the words of a mail: "4 grudnia 2026 r., godz. 8:00"; "" for None."""
    if at is None:
        return ""
    key = _lang(lang)
    return format_datetime(at, _WORDS[key], tzinfo=WARSAW, locale=_LOCALE[key])


def day_in_words(day: date | None, lang: str = "pl") -> str:
    """A calendar day in the words of a mail: "15 grudnia 2026 r."; "" for None."""
    if day is None:
        return ""
    key = _lang(lang)
    return format_date(day, _DAY_WORDS[key], locale=_LOCALE[key])


def in_table(at: datetime | None, lang: str = "pl") -> str:
    """An instant in a table cell, Warsaw time: "4.12.2026, 08:00"; "" for None."""
    if at is None:
        return ""
    key = _lang(lang)
    return format_datetime(at, "short", tzinfo=WARSAW, locale=_LOCALE[key])


def day_in_table(day: date | None, lang: str = "pl") -> str:
    """A calendar day in a table cell, like `in_table` beside it: "15.01.2030"; "" for None."""
    if day is None:
        return ""
    return format_date(day, "short", locale=_LOCALE[_lang(lang)])


def local_plain(at: datetime | None) -> str:
    """Warsaw local time as a spreadsheet reads a date and time: "2026-12-04 08:00"."""
    if at is None:
        return ""
    return format_datetime(at, "yyyy-MM-dd HH:mm", tzinfo=WARSAW, locale="pl_PL")


def with_offset(at: datetime | None) -> str:
    """An instant for ops, Warsaw time with its UTC offset: "2026-12-04 08:00 +01:00"."""
    if at is None:
        return ""
    return format_datetime(at, "yyyy-MM-dd HH:mm xxx", tzinfo=WARSAW, locale="pl_PL")
