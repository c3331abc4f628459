"""Recognising how often the error occurs (SPEC §3, field `frequency`).

Owns: the four answers `once`, `sometimes`, `often`, `always` with their form labels
(`FREQUENCY_LABELS`), the Polish and English wordings of each (folded: no case, no
diacritics), and reading one from a labelled value (`labelled_frequency`), a bare answer
line ("Zawsze.", `bare_frequency`), the client's free text (`free_frequency`) or our
form's option list answered in place (`marked_option`: "[X] Często", the others deleted).

Free text is read sentence by sentence, each cut into clauses at commas, semicolons and
dashes. A clause that is nothing but an answer ("Wersja 6.1.114.207, zawsze.") counts,
unless a subordinate clause follows it in a sentence that is not about the error ("Zawsze,
gdy mamy pytania, piszemy"). Any other clause counts only when it is itself about the error
occurring ("błąd występuje zawsze", "it crashes every time"), so "zawsze działało do
wczoraj" or "we have always used it without problems" give nothing. Questions never answer.
Text that names no answer, or several that disagree, gives none.

Must not: find labels or read lines (`domain.answers`, `domain.freetext` call this), do
I/O or read the clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from mailintake.domain.text import fold

FREQUENCY_LABELS: dict[str, dict[str, str]] = {
    "once": {"pl": "Jednorazowy", "en": "Once"},
    "sometimes": {"pl": "Czasami", "en": "Sometimes"},
    "often": {"pl": "Często", "en": "Often"},
    "always": {"pl": "Zawsze", "en": "Always"},
}

# Regular expressions over folded text; a space stands for any white space, " ?" for none
# or some ("every ?time": "everytime" too).
_PHRASES: dict[str, tuple[str, ...]] = {
    "once": (
        r"jednorazow\w*",
        r"jednokrotn\w*",
        r"(?:tylko|jedynie) (?:jeden )?raz",
        r"jeden raz",
        r"(?:only|just) once",
        r"(?:jak )?(?:dotad|dotychczas|do tej pory|na razie) (?:tylko |jedynie )?(?:jeden )?raz",
        r"one time",
        r"one-time",
        r"one-off",
        # "wystąpiło raz", "happened once": once only right after the error occurred.
        r"(?:wystapil\w*|zdarzyl\w*|pojawil\w*|happened|occurr?ed|appeared)"
        r"(?: (?:sie|to|nam|only|just|so far|dotychczas|dotad))* (?:raz|once)",
    ),
    "sometimes": (
        r"czasami",
        r"czasem",
        r"sporadyczn\w*",
        r"niekiedy",
        r"od czasu do czasu",
        r"co jakis czas",
        r"raz na jakis czas",
        r"nie zawsze",
        r"rzadko",
        r"raz (?:na|w) (?:tydzien|tygodniu|miesiac|miesiacu)",
        r"(?:kilka|pare|dwa|trzy) razy (?:w|na) miesiac\w*",
        r"raz na (?:kilka|pare) (?:dni|tygodni|godzin)",
        r"(?:wystapil\w*|zdarzyl\w*|pojawil\w*|happened|occurr?ed)"
        r"(?: (?:sie|to|nam|juz|only|just|so far))* (?:dwa|trzy|kilka|pare) razy",
        r"(?:happened|occurr?ed)(?: (?:only|just))* (?:twice|(?:two|three|a few|several) times)",
        r"losowo",
        r"nieregularn\w*",
        r"random\w*",
        r"at random",
        r"co (?:tydzien|miesiac)",
        r"nie (?:za kazdym razem|zawsze)",
        r"not every ?time",
        r"(?:a few|several) times a month",
        r"every (?:week|month)",
        r"co (?:drugi|trzeci|kilka) raz\w*",
        r"co (?:drugie|trzecie|czwarte) \w+(?:ie|nie)",
        r"nie jest powtarzaln\w*",
        r"niepowtarzaln\w*",
        r"sometimes",
        r"occasional\w*",
        r"intermittent\w*",
        r"sporadic\w*",
        r"from time to time",
        r"once in a while",
        r"once a (?:week|month)",
        r"not always",
        r"rarely",
        r"not reproducible",
    ),
    "often": (
        r"(?:bardzo )?czest(?:o|y|e|a|ych|ym|ymi)",
        r"wielokrotnie",
        r"regularnie",
        r"codziennie",
        r"(?:kilka|pare|wiele) razy (?:dziennie|w tygodniu|na dzien)",
        r"raz dziennie",
        r"co (?:drugi|trzeci|kilka|pare) (?:dzien|dni)",
        r"nagminn\w*",
        r"(?:prawie|niemal) (?:za kazdym razem|codziennie)",
        r"(?:almost|nearly) every ?time",
        r"every (?:other |second |few )?days?",
        r"every (?:morning|evening|night)",
        r"co (?:rano|wieczor|dzien|noc)",
        r"kazdego (?:dnia|ranka|rana|wieczoru)",
        r"(?:prawie|niemal) zawsze",
        r"(?:very )?often",
        r"frequent\w*",
        r"regularly",
        r"daily",
        r"many times",
        r"(?:several|a few|many) times a (?:day|week)",
        r"once a day",
        r"almost always",
        r"nearly always",
    ),
    "always": (
        r"zawsze",
        r"za kazdym razem",
        r"przy kazd\w+ (?!z\s)\w+(?: (?!(?:gdy|kiedy|jak|po|w)\s)\w+u)?",
        r"kazdorazowo",
        r"notoryczn\w*",
        r"permanentn\w*",
        r"nieustann\w*",
        r"non ?stop",
        r"bez przerwy",
        r"every single time",
        r"caly czas",
        r"ciagle",
        r"powtarzaln\w*",
        r"always",
        r"ev(?:er|re)y ?time",
        r"allways",
        r"each time",
        r"whenever",
        r"all the time",
        r"constantly",
        r"consistently",
        r"(?:100%|fully|always) reproducible",
        r"reproducible",
    ),
    # Questions and idioms, not answers ("as always" says nothing about the error).
    "": (
        r"jak czesto",
        r"how often",
        r"as often as",
        r"(?:tak )?jak zawsze",
        r"jak zwykle",
        r"as always",
        r"as usual",
        r"raz jeszcze",
        r"jeszcze raz",
        r"(?:pierwszy|kolejny|drugi|ostatni|nastepny|ten) raz",
        r"przez (?:caly czas|ten czas)",
    ),
}
# Answers that run over a comma ("raz działa, raz nie"): read from the whole sentence.
_ACROSS_CLAUSES = re.compile(
    r"(?<![a-z])(?:(?:raz|czasem|czasami)\s+(?:dziala|tak)\W+(?:raz|czasem|czasami)\s+nie"
    r"|sometimes\s+it\s+works\W+sometimes(?:\s+it)?\s+(?:does\s?n[o']t|fails))(?![a-z])"
)
# Too ambiguous in running text ("once I click…", "stale data"): a label or a bare line only.
_LABEL_ONLY: dict[str, tuple[str, ...]] = {
    "once": (r"raz", r"once", r"single"),
    "sometimes": (r"dwa razy", r"twice", r"kilka razy"),
    "always": (r"stale",),
}
# A clause about the error occurring; not after "bez"/"without"/"no" ("without problems").
_CONTEXT = re.compile(
    r"(?<![a-z])(?<!bez )(?<!without )(?<!no )(?<!nie )(?<!nic sie )"
    r"(?:bl[ae]d\w*|problem\w*|wystep\w*|wystap\w*|pojawi\w*|zdarz\w*|dzieje|powtarza\w*"
    r"|wywal\w*|zawies\w*|wiesza\w*|sypie|crash\w*|nie dziala|nie (?:otwiera|startuje|uruchamia|drukuje|zapisuje|laduje)\w*|przestaj\w*|wyjat\w*|awari\w*|zamyka\w*"
    r"|czestotliwosc\w*|error\w*|issue\w*|bug\w*|happen\w*|occur\w*|fail\w*|hang\w*"
    r"|freez\w*|exception\w*|frequency|reproduc\w*)(?![a-z])"
)
# What may stand around a bare answer: "- tak, zawsze", "raczej często", "yes, always".
_FILLER = (
    r"(?:(?:tak|to|i|a|ale|lecz|raczej|niestety|bardzo|dosc|no|yes|and|but|unfortunately"
    r"|rather|quite|pretty|very|about|okolo|mniej wiecej|srednio) )*"
)
# What may follow a bare answer and still leave it an answer: "tylko raz do tej pory".
_TRAIL = r"(?: (?:so far|until now|do tej pory|dotad|jak dotad|na razie|for now))?"
# Words that open a qualifier of an answer: "zawsze po zalogowaniu", "every time when …".
_QUALIFIER = (
    r"(?:po|przy|podczas|w trakcie|gdy|kiedy|jak|jesli|jezeli|after|on|during|while|when"
    r"|whenever|if)"
)
_PRONOUN = r"(?:i|we|you|they|the user|users|uzytkownik\w*)"
_SUBORDINATE = re.compile(
    r"^(?:gdy|kiedy|jak|jesli|jezeli|gdzie|ktor\w*|when|whenever|if|where|which|that)(?![a-z])"
)
_SENTENCE = re.compile(r"(?:[^.!?\n]|(?<=\d)\.(?=\d))+[.!?]*")  # "6.1.114.207" is one word
_CLAUSE_BREAK = re.compile(r"\s*(?:[,;:()]|\s[-–—]\s)\s*")


def _alternatives(patterns: tuple[str, ...]) -> str:
    return "|".join(p.replace(" ?", r"\s*").replace(" ", r"\s+") for p in patterns)


def _compile(*, label: bool) -> tuple[re.Pattern[str], dict[str, re.Pattern[str]]]:
    """One scanner over every phrase, and per code a pattern that tells which code a hit is."""
    per_code = {
        code: (*phrases, *(_LABEL_ONLY.get(code, ()) if label else ()))
        for code, phrases in _PHRASES.items()
    }
    ordered = sorted((p for ps in per_code.values() for p in ps), key=len, reverse=True)
    scanner = re.compile(rf"(?<![a-z0-9])(?:{_alternatives(tuple(ordered))})(?![a-z0-9])")
    codes = {code: re.compile(rf"(?:{_alternatives(ps)})") for code, ps in per_code.items()}
    return scanner, codes


_LABEL_SCAN, _LABEL_CODES = _compile(label=True)
_FREE_SCAN, _FREE_CODES = _compile(label=False)


def _codes(folded: str, *, label: bool) -> Iterator[str]:
    """The code of every phrase in `folded`, idioms as ""."""
    scanner, codes = (_LABEL_SCAN, _LABEL_CODES) if label else (_FREE_SCAN, _FREE_CODES)
    for match in scanner.finditer(folded):
        hit = match.group(0)
        yield next((code for code, pattern in codes.items() if pattern.fullmatch(hit)), "")


def _single(found: Iterator[str]) -> str | None:
    """The one answer named; None when none or several."""
    codes = set(found) - {""}
    return codes.pop() if len(codes) == 1 else None


# A mark next to one option of our form: "[X] Często", "*Często*", "Często <--", "Często ✔".
_MARK = re.compile(r"\[\s*[xXvV✓✔]\s*\]|\*+|<-+|←|[✓✔☒☑■●]|(?:^|\s)[xX](?=\s|$)")


def marked_option(hint: str) -> str | None:
    """The option the client chose in our "(Jednorazowy / Czasami / Często / Zawsze)".

    One option carrying a mark, or the only option left when the others were deleted;
    None for the list as we sent it, several marks, or text that names no option.
    """
    options = [o for o in re.split(r"\s*[/|]\s*", hint.strip()) if o.strip()]
    marked = [_MARK.sub(" ", o) for o in options if _MARK.search(o)]
    chosen = marked if marked else options if len(options) == 1 else []
    if len(chosen) != 1 or labelled_frequency(chosen[0]) is None:
        return None
    return chosen[0].strip()


def labelled_frequency(value: str) -> str | None:
    """The frequency a value written after the field's label names, every word allowed."""
    return _single(_codes(fold(value), label=True))


def bare_frequency(folded: str) -> str | None:
    """A line that is nothing but a frequency answer ("Zawsze.", "- czasami")."""
    return _bare(folded.strip(" \t*_-•.!,;:"), label=True)


def _bare(clause: str, *, label: bool) -> str | None:
    scanner = _LABEL_SCAN if label else _FREE_SCAN
    core = re.sub(rf"^{_FILLER}", "", " ".join(clause.split()))
    if not core or not re.fullmatch(rf"(?:{scanner.pattern}){_TRAIL}", core):
        return None
    return _single(_codes(core, label=label))


def free_frequency(unlabelled: str, everything: str) -> str | None:
    """The frequency of the client's free text: the first sentence that states one.

    Both texts are folded. A bare answer counts only in `unlabelled` (a line that is the
    value of another label, "Stan usługi: Czasami", answers that label); a sentence about
    the error counts anywhere in `everything`, labelled values included.
    """
    for folded, bare in ((unlabelled, True), (everything, False)):
        for sentence in _sentences(folded):
            if code := _of_sentence(sentence, bare=bare):
                return code
    return None


def _sentences(folded_text: str) -> Iterator[str]:
    for match in _SENTENCE.finditer(folded_text):
        sentence = match.group(0).strip()
        if sentence and not sentence.endswith("?"):  # a question states nothing
            yield sentence.rstrip(".!")


def _of_sentence(sentence: str, *, bare: bool) -> str | None:
    """A bare answer clause (when `bare`) or a clause about the error; disagreeing: None."""
    if _ACROSS_CLAUSES.search(sentence):
        return "sometimes"
    clauses = [c for c in _CLAUSE_BREAK.split(sentence) if c.strip()]
    about_error = bool(_CONTEXT.search(sentence))
    if bare:
        answers = [
            code
            for i, clause in enumerate(clauses)
            if (code := _bare(clause, label=True)) and (about_error or not _leads(clauses, i))
        ]
        if answers:
            return _single(iter(answers))
    qualified = [
        code
        for clause in clauses
        if (code := _qualified(clause, about_error=about_error))
        and (about_error or (bare and len(clauses) == 1 and len(clause.split()) <= _SHORT))
    ]
    if qualified:
        return _single(iter(qualified))
    if bare:
        return None
    told = [c for c in clauses if _CONTEXT.search(c) and _single(_codes(c, label=False))]
    return _single(_codes(" ".join(told), label=False)) if told else None


_SHORT = 7  # words: "Za każdym razem, jak klikam Zapisz." is an answer on its own


def _qualified(clause: str, *, about_error: bool) -> str | None:
    """An answer opening the clause, then when it happens: "zawsze po zalogowaniu".

    A pronoun may open the qualifier ("every time I print") only in a sentence about the
    error: "every time we call, nobody answers" is not.
    """
    opener = rf"{_QUALIFIER}|{_PRONOUN}" if about_error else _QUALIFIER
    core = re.sub(rf"^{_FILLER}", "", " ".join(clause.split()))
    match = _FREE_SCAN.match(core)
    if not match or not re.match(rf" (?:{opener})(?![a-z])", core[match.end() :]):
        return None
    return _single(_codes(match.group(0), label=False))


def _leads(clauses: list[str], index: int) -> bool:
    """Whether a subordinate clause ("gdy …", "when …") follows the clause at `index`."""
    return index + 1 < len(clauses) and bool(_SUBORDINATE.match(clauses[index + 1].strip()))
