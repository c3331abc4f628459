"""The data a ticket must carry before analysis, and how it is found in a mail (SPEC §3).

Owns: the field codes, their Polish and English labels, the fill-in form lines of the
request mail, recognising field values in one client message (labelled lines anywhere in
the body, a few careful free-text rules, the kind of each attachment), accumulating values
over a thread (`merge`) and listing what is still missing.

Must not: do I/O, read the clock, parse MIME or render templates. It receives text already
decoded by `adapters.parse` and the normalised lines of our own outgoing messages.

How a message is read (`extract`):

1. Labelled lines, first in `own_text`, then in the whole `text` (quoted history and an
   Outlook-style unquoted original included). A label is matched in Polish or English,
   ignoring case and diacritics, after bullets, numbering, `*bold*` markers and the
   asterisk of required fields, followed by `:`, `-`, `=`, `|`, a tab or the end of the
   line. An empty label takes its value from the next non-empty line(s). The first value
   found for a field wins (the newest text stands on top).
2. A line equal to one of ours (`our_lines`) never gives a value: the client quoting our
   empty form fills nothing. It may still act as the label of the client's own unquoted
   answer on the next line. A quoted line that is a fragment of one of ours (re-wrapped by
   the client's mailer) counts as ours too.
3. Free-text rules run on the client's own words only (`own_text`, minus quoted lines and
   lines of ours): a version next to the word wersja/version, a frequency word in a
   sentence about the error (see `_FREQ_CONTEXT`), a bare frequency answer line, an
   exception code; and, for the first message of a ticket, its own text as the scenario
   when it is a real description rather than a greeting.
4. Attachments: logs and log archives by name; screenshots are images that are not
   signature logos.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mailintake.domain.mail import Attachment
from mailintake.domain.text import fold

REQUIRED = ("scenario", "version", "logs", "frequency")
OPTIONAL = ("screenshots", "error_code", "service_log_system", "service_lsa", "service_qdesk")
FIELDS = REQUIRED + OPTIONAL

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

FREQUENCY_LABELS: dict[str, dict[str, str]] = {
    "once": {"pl": "Jednorazowy", "en": "Once"},
    "sometimes": {"pl": "Czasami", "en": "Sometimes"},
    "often": {"pl": "Często", "en": "Often"},
    "always": {"pl": "Zawsze", "en": "Always"},
}

# ---------------------------------------------------------------- public helpers


def normalize_line(line: str) -> str:
    """A line as compared with `our_lines`: no quote markers, one space, case-folded."""
    line = unicodedata.normalize("NFC", line)
    line = _QUOTE_RE.sub("", line, count=1)
    return " ".join(line.split()).casefold()


def form_lines(codes: Sequence[str], lang: str) -> list[str]:
    """The fill-in form of the request mail: one `Label: ` line per field code."""
    key = "en" if lang.lower().startswith("en") else "pl"  # SPEC §5: Polish by default
    return [f"{LABELS[code][key]}: " for code in codes]


def missing(fields: Mapping[str, object]) -> list[str]:
    """The required field codes that have no value yet, in `REQUIRED` order."""
    return [code for code in REQUIRED if _is_empty(fields.get(code))]


def merge(old: Mapping[str, object], new: Mapping[str, object]) -> dict[str, object]:
    """Values accumulated over a thread: new scalars win, lists are unioned (SPEC §3)."""
    out = {code: _copy(value) for code, value in old.items()}
    for code, value in new.items():
        if _is_empty(value):
            continue  # a later message that lacks a field keeps what came earlier
        if isinstance(value, list | tuple):
            prior = out.get(code)
            prior_items = list(prior) if isinstance(prior, list | tuple) else []
            out[code] = list(dict.fromkeys([*prior_items, *value]))
        else:
            out[code] = value
    return out


def extract(
    text: str,
    own_text: str,
    attachments: Sequence[Attachment],
    *,
    our_lines: frozenset[str] = frozenset(),
    first_message: bool = False,
) -> dict[str, object]:
    """The field values one client message gives; absent fields are left out."""
    own = _lines(own_text, our_lines)
    found: dict[str, object] = {}
    consumed = _read_labels(own, found)
    _read_labels(_lines(text, our_lines), found)
    _read_free_text(own, consumed, found, first_message)
    _read_attachments(attachments, found)
    return {code: found[code] for code in FIELDS if code in found}


# ---------------------------------------------------------------- folding and lines

_QUOTE_RE = re.compile(r"^[ \t]*>[> \t]*")
_MIN_FRAGMENT = 16


def _fold(text: str) -> str:
    """`text` folded for matching; same length, so indices point into the original."""
    return fold(text)


@dataclass(frozen=True)
class _Line:
    text: str  # quote markers removed, stripped
    folded: str
    quoted: bool
    ours: bool

    @property
    def blank(self) -> bool:
        return not self.text

    @functools.cached_property
    def label(self) -> tuple[str, str] | None:
        return _match_label(self)


def _lines(text: str, our_lines: frozenset[str]) -> list[_Line]:
    out = []
    for raw in unicodedata.normalize("NFC", text).splitlines():
        marker = _QUOTE_RE.match(raw)
        content = (raw[marker.end() :] if marker else raw).strip()
        ours = _is_ours(normalize_line(raw), our_lines, quoted=bool(marker))
        out.append(_Line(content, _fold(content), bool(marker), ours))
    return out


def _is_ours(norm: str, our_lines: frozenset[str], *, quoted: bool) -> bool:
    """Our line, or a quoted fragment of one that the client's mailer re-wrapped."""
    if not norm:
        return False
    if norm in our_lines:
        return True
    # Only quoted lines are re-wrapped, and a short answer ("Za każdym razem") may well
    # appear inside our prose, so fragments must be quoted and long.
    return quoted and len(norm) >= _MIN_FRAGMENT and any(norm in ours for ours in our_lines)


# ---------------------------------------------------------------- labels

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
    text = re.sub(r"\([^)]*\)", " ", _fold(text))
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
    decor = rf"(?:[\s*_{_QUOTES}]|\([^)]{{0,80}}\))*"  # "(opcja)", "(KB-1902)", required "*"
    # "?" for "Jak często występuje błąd? Zawsze"; a dash only before a space ("Log-in").
    separator = r"(?:[:=|?]|[-–—](?=\s|$)|(?<=\t)|$)"
    return re.compile(rf"{prefix}(?P<label>{alternatives})(?![a-z0-9]){decor}{separator}")


_LABEL_RE = _label_regex()


def _match_label(line: _Line) -> tuple[str, str] | None:
    """(field code, value written on the same line) when `line` is a label line."""
    m = _LABEL_RE.match(line.folded)
    if not m:
        return None
    code = _ALIAS_CODE[_alias_key(m.group("label"))]
    value = line.text[m.end() :].strip().strip("*_").strip()
    if line.ours or _LABEL_RE.match(_fold(value)):
        value = ""  # ours never answers; "Label: Label2:" is a form joined by a mailer
    return code, value


# ---------------------------------------------------------------- labelled values

# Lines that end a value: reply headers, separators, signatures (folded text).
_BREAK_RE = re.compile(
    r"^(?:-{2,}$|_{5,}|-{3,}.*(?:original message|wiadomosc oryginalna|forwarded|przekazan)"
    r"|(?:from|od|sent|wyslano|wyslane|date|data|to|do|subject|temat|cc|dw):(?:\s|$)"
    r"|on\s.{0,200}\swrote:$|(?:w dniu|dnia|dn\.)\s.{0,200}\s(?:pisze|napisal\S*):?$)"
)
_CLOSING_RE = re.compile(
    r"^(?:z\s+)?(?:pozdrawiam\w*|pozdrowienia|serdeczn\w+ pozdr\w*|z powazaniem"
    r"|(?:z gory )?dziekuj\w*|dzieki|(?:best |kind |warm )?regards|thanks|thank you"
    r"|many thanks|cheers|br|sincerely|yours sincerely)(?![a-z])"
)
_NO_VALUE_RE = re.compile(r"^\W*(?:brak\w*|nie dotyczy|nie wiem|nie ma|n/?[ad]|none|-+|\?+)\W*$")
_LOOKAHEAD_OURS = 3  # our lines skipped between an empty label and the client's answer
_MAX_SHORT_VALUE = 100


def _is_closing(line: _Line) -> bool:
    return len(line.text) <= 60 and bool(_CLOSING_RE.match(line.folded))


def _ends_value(line: _Line, quoted: bool) -> bool:
    """Whether `line` is past the end of a value block whose lines are `quoted` or not."""
    if line.blank:
        return False
    return (
        line.quoted != quoted
        or line.ours
        or line.label is not None
        or bool(_BREAK_RE.match(line.folded))
        or _is_closing(line)
    )


def _answer_start(lines: list[_Line], start: int) -> int | None:
    """Index of the client's unquoted answer to an empty label, skipping blanks and ours."""
    skipped = 0
    for index in range(start, len(lines)):
        line = lines[index]
        if line.blank:
            continue
        if line.ours and line.label is None and skipped < _LOOKAHEAD_OURS:
            skipped += 1
            continue
        return None if _ends_value(line, quoted=False) else index
    return None


def _block(lines: list[_Line], start: int, quoted: bool) -> list[int]:
    """Indices of the value block from `start` to the next label, quote or signature."""
    taken: list[int] = []
    for index in range(start, len(lines)):
        if _ends_value(lines[index], quoted):
            break
        taken.append(index)
    while taken and lines[taken[-1]].blank:
        taken.pop()
    return taken


def _read_labels(lines: list[_Line], found: dict[str, object]) -> set[int]:
    """Labelled values into `found` (first wins); returns the indices of lines used."""
    consumed: set[int] = set()
    for index, line in enumerate(lines):
        hit = line.label
        if hit is None or index in consumed:
            continue
        code, inline = hit
        consumed.add(index)
        value, used = _labelled_value(code, inline, lines, index, line.quoted)
        if value is not None:
            consumed.update(used)
            found.setdefault(code, value)
    return consumed


def _labelled_value(
    code: str, inline: str, lines: list[_Line], index: int, quoted: bool
) -> tuple[object | None, list[int]]:
    if code in ("logs", "screenshots"):
        return None, []  # these come from attachments; the label only ends other blocks
    if code == "scenario":
        return _scenario_value(inline, lines, index, quoted)
    if inline:
        return _parse_value(code, inline), []
    answer = _answer_start(lines, index + 1)
    if answer is None or len(lines[answer].text) > _MAX_SHORT_VALUE:
        return None, []
    return _parse_value(code, lines[answer].text), [answer]


def _scenario_value(
    inline: str, lines: list[_Line], index: int, quoted: bool
) -> tuple[str | None, list[int]]:
    if inline and _NO_VALUE_RE.match(_fold(inline)):
        return None, []
    if inline:
        used = _block(lines, index + 1, quoted)
        parts = [inline, *(lines[i].text for i in used)]
    else:
        start = _answer_start(lines, index + 1)
        used = [] if start is None else _block(lines, start, quoted=False)
        parts = [lines[i].text for i in used]
    value = "\n".join(parts).strip()
    if not value or _NO_VALUE_RE.match(_fold(value)):
        return None, []
    return value, used


def _parse_value(code: str, value: str) -> object | None:
    """The value of a labelled field from what the client wrote after its label."""
    if code == "version":
        return _find_version(value, labelled=True)
    if code == "frequency":
        return _single_frequency(_fold(value), _FREQ_STRICT_RE)
    if _NO_VALUE_RE.match(_fold(value)):
        return None
    return value  # error code and service states: kept as the client wrote them


# ---------------------------------------------------------------- version

_VERSION_RE = re.compile(r"(?<![\d.])(\d{1,5}(?:\.\d{1,6}){2,3})(?!\d|\.\d)")
_VERSION_WORD_RE = re.compile(
    r"(?<![a-z])(?:wersj\w*|version\w*|ver\.|wer\.|log system|build|v\.?$)"
)
_IPISH_RE = re.compile(
    r"(?<![a-z])(?:adres\w*|address\w*|ip|serwer\w*|server\w*|host\w*|ping|dns|gateway|brama|mask\w*)"
    r"(?![a-z])"
)
_VERSION_WINDOW = 40


def _is_date(parts: list[str]) -> bool:
    """dd.mm.yyyy, yyyy.mm.dd, or zero-padded dd.mm.yy: a date, not a version."""
    if len(parts) != 3:
        return False
    a, b, c = (int(p) for p in parts)
    if len(parts[2]) == 4:
        return 1 <= a <= 31 and 1 <= b <= 12
    if len(parts[0]) == 4:
        return 1 <= b <= 12 and 1 <= c <= 31 and len(parts[1]) == len(parts[2]) == 2
    padded = any(len(p) > 1 and p.startswith("0") for p in parts)
    return padded and 1 <= a <= 31 and 1 <= b <= 12


def _in_address(text: str, match: re.Match[str]) -> bool:
    """Part of a URL, an e-mail address or a host:port, labelled or not."""
    before = text[max(0, match.start() - 1) : match.start()]
    return before in ("/", "@") or bool(re.match(r"(?::\d|/\w)", text[match.end() :]))


def _looks_like_ip(text: str, match: re.Match[str]) -> bool:
    """Four parts of at most 255 after an IP-ish word ("adres", "IP", "serwer")."""
    parts = match.group(1).split(".")
    if len(parts) != 4 or any(int(p) > 255 for p in parts):
        return False
    return bool(_IPISH_RE.search(_fold(text[max(0, match.start() - 30) : match.start()])))


def _find_version(text: str, *, labelled: bool) -> str | None:
    """The first version number in `text`; unlabelled ones need wersja/version before them."""
    for match in _VERSION_RE.finditer(text):
        if _is_date(match.group(1).split(".")) or _in_address(text, match):
            continue
        if labelled:
            return match.group(1)
        window = _fold(text[max(0, match.start() - _VERSION_WINDOW) : match.start()])
        if _VERSION_WORD_RE.search(window) and not _looks_like_ip(text, match):
            return match.group(1)
    return None


# ---------------------------------------------------------------- frequency

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


def _bare_frequency(folded: str) -> str | None:
    """A line that is nothing but a frequency answer ("Zawsze.", "- czasami")."""
    core = folded.strip(" \t*_-•.!,;:")
    if not core or not _FREQ_STRICT_RE.fullmatch(core):
        return None
    return _single_frequency(core, _FREQ_STRICT_RE)


def _free_frequency(folded_text: str) -> str | None:
    for sentence in re.split(r"[.!?;\n]+", folded_text):
        code = _single_frequency(sentence, _FREQ_FREE_RE)
        if code and _FREQ_CONTEXT.search(sentence):
            return code
    return None


# ---------------------------------------------------------------- free text

# Conservative on purpose: Windows NTSTATUS/HRESULT codes, .NET/Java exception names,
# ERR-nnnn and Oracle codes. Our own keys (LOG-000123, KB-1902) never match.
_ERROR_CODE_RE = re.compile(
    r"\b0x[0-9A-Fa-f]{8}\b"
    r"|\b(?:[A-Za-z_]\w*\.)*[A-Z]\w*Exception\b"
    r"|\bERR(?:OR)?[-_]?\d{2,6}\b"
    r"|\bORA-\d{5}\b"
)
_GREETING_RE = re.compile(
    r"^(?:dzien dobry|dobry wieczor|witam\w*|witajcie|czesc|hej|szanown\w+ pan\w*"
    r"|hello|hi|hey|dear|good (?:morning|afternoon|evening))(?![a-z])[\s,!.:]*"
)
_MIN_SCENARIO_WORDS = 8
_MIN_SCENARIO_CHARS = 40


def _read_free_text(
    own: list[_Line], consumed: set[int], found: dict[str, object], first_message: bool
) -> None:
    """Unlabelled values from the client's own words (never from quotes or from us)."""
    client = [i for i, line in enumerate(own) if not line.quoted and not line.ours]
    mine = [own[i] for i in client]
    unlabelled = [own[i] for i in client if i not in consumed]
    text = "\n".join(line.text for line in mine)
    code = _ERROR_CODE_RE.search(text)
    guesses = {
        "version": _find_version(text, labelled=False),
        "frequency": _own_frequency(mine, unlabelled),
        "error_code": code.group(0) if code else None,
        "scenario": _fallback_scenario(own, consumed) if first_message else None,
    }
    for field, value in guesses.items():
        if value is not None:
            found.setdefault(field, value)  # a labelled value always wins


def _own_frequency(mine: list[_Line], unlabelled: list[_Line]) -> str | None:
    """A bare answer line (not the answer to another label), else a sentence in free text."""
    for line in unlabelled:
        if code := _bare_frequency(line.folded):
            return code
    return _free_frequency("\n".join(line.folded for line in mine))


def _fallback_scenario(own: list[_Line], consumed: set[int]) -> str | None:
    """The first message's own text when it describes something, minus greeting and sign-off."""
    kept: list[str] = []
    for index, line in enumerate(own):
        if _BREAK_RE.match(line.folded) or _is_closing(line):
            break  # everything below is signature or history
        if index in consumed or line.quoted or line.ours:
            continue
        greeting = _GREETING_RE.match(line.folded)
        rest = line.text[greeting.end() :] if greeting else line.text
        if greeting and not _ends_with_text(rest):
            continue  # "Dzień dobry," or "Dear John,"
        kept.append(rest.strip())
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    words = re.findall(r"\w+", body)
    if len(words) >= _MIN_SCENARIO_WORDS and len(body) >= _MIN_SCENARIO_CHARS:
        return body
    return None


def _ends_with_text(rest: str) -> bool:
    """Whether a greeting line goes on with a sentence ("Dzień dobry, mamy problem")."""
    return len(re.findall(r"\w+", rest)) >= 3


# ---------------------------------------------------------------- attachments

_LOG_EXTENSIONS = (".log", ".zip", ".7z", ".rar", ".gz", ".tgz", ".tar", ".evtx", ".etl")
_ARCHIVE_TYPES = frozenset(
    {
        "application/zip",
        "application/x-zip-compressed",
        "application/x-7z-compressed",
        "application/vnd.rar",
        "application/x-rar-compressed",
        "application/x-rar",
        "application/gzip",
        "application/x-gzip",
        "application/x-tar",
    }
)
_NOT_LOG_WORDS = ("dialog", "catalog", "katalog", "blog", "logo", "login")
_IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")
_TINY_IMAGE = 3 * 1024  # smaller than any useful screenshot
_INLINE_LOGO = 10 * 1024  # inline images under this are signature logos


def _is_log(attachment: Attachment) -> bool:
    name = attachment.filename.lower()
    if name.endswith(_LOG_EXTENSIONS) or re.search(r"\.log\.", name):
        return True  # "app.log.1", "server.log.2024-05-06" are rotated logs
    if name.endswith(".txt"):
        stem = name
        for word in _NOT_LOG_WORDS:
            stem = stem.replace(word, "")
        return "log" in stem
    has_extension = "." in name.rsplit("/", 1)[-1]
    return not has_extension and attachment.content_type.lower() in _ARCHIVE_TYPES


def _is_screenshot(attachment: Attachment) -> bool:
    kind = attachment.content_type.lower()
    is_image = kind.startswith("image/") or attachment.filename.lower().endswith(_IMAGE_EXTENSIONS)
    if not is_image or attachment.size < _TINY_IMAGE:
        return False
    return not (attachment.inline and attachment.size < _INLINE_LOGO)


def _read_attachments(attachments: Sequence[Attachment], found: dict[str, object]) -> None:
    logs = [a.filename for a in attachments if _is_log(a)]
    shots = [a.filename for a in attachments if not _is_log(a) and _is_screenshot(a)]
    if logs:
        found["logs"] = list(dict.fromkeys(logs))
    if shots:
        found["screenshots"] = list(dict.fromkeys(shots))


# ---------------------------------------------------------------- values


def _is_empty(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | set | frozenset | dict):
        return not value
    return False


def _copy(value: object) -> object:
    return list(value) if isinstance(value, list | tuple) else value
