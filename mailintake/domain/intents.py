"""What the client decides or rates in a reply, read from their own words (SPEC sections 4, 5, 7).

Owns: the survey answer (`survey_rating`: a rating 1–5 and a comment) and the client's
decision on a solution (`client_intent`: REKLAMACJA, POTWIERDZAM, AKCEPTUJĘ) and a
request to close the ticket (`asks_to_close`: `[ZAMKNIJ]`, "proszę zamknąć", "please close").

Must not: do I/O, read the clock, look at headers or decide what kind of mail this is
(`domain.mailrules` does). It receives the subject and the client's own text, quotes
already removed by `adapters.parse`.
"""

from __future__ import annotations

import re

from mailintake.domain.lines import without_signature
from mailintake.domain.text import fold

# --- survey (SPEC section 7) --------------------------------------------------------------

# What our mailto: links set: "Ocena N" in Polish mail, "Rating N" in English; both accepted.
_SUBJECT_RATING = re.compile(r"\b(?:ocena|rating)\s*[:=]?\s*([1-5])(?!\d|[.,]\d)", re.IGNORECASE)
# A rating on the first line: "Ocena: 4", "rating 5/5", "5", "4/5 szybko", "3 - ok".
# Also as people write it: "Oceniam na 5", "Daję 4", "Moja ocena: 5", "I rate it 5",
# "I'd give you a 4", "My rating is 5".
_RATING_WORDS = (
    r"(?:moja |nasza )?ocena(?: to)?|oceniam(?: to| was| pracę| prace)?(?: na)?"
    r"|daj[eę](?: (?:wam|państwu|panstwu|ocenę|ocene))?|wystawiam(?: ocenę| ocene)?"
    r"|(?:my |our )?(?:rating|score)(?: is)?|i(?: would|'d|’d)? (?:rate|give)"
    r"(?: (?:it|you|this|the support))?(?: an?)?"
)
_LABELLED_RATING = re.compile(
    rf"^\W*(?:{_RATING_WORDS})\s*[:=-]?\s*([1-5])(?:\s*/\s*5)?(?!\d|[.,]\d)\W*(.*)$",
    re.IGNORECASE,
)
# Stars: "★★★★☆" is 4.
_STAR_RATING = re.compile(r"^\s*([★⭐]{1,5})[☆✩\s]*[\W]*(.*)$")
# Unlabelled, "1." or "1)" followed by text starts a numbered list, and "3,5" is no rating.
# "5 minut temu znowu…", "3 users…": a count, not a rating.
_COUNTED = (
    r"\s*(?:min|minut\w*|godz\w*|h|sek\w*|dni|dzie\w*|tygod\w*|miesi\w*|raz\w*|os[oó]b\w*"
    r"|u[zż]ytkownik\w*|stanowisk\w*|komputer\w*|faktur\w*|minutes?|hours?|days?|weeks?"
    r"|times|users?|people|pcs|computers?|invoices?|x)(?![^\W\d_])"
)
_BARE_RATING = re.compile(
    rf"^([1-5])(?:\s*/\s*5)?(?!\d|[.,]\d|[.)]\s*\S|{_COUNTED})[\s:!.\-–—]*(.*)$",
    re.IGNORECASE,
)


def survey_rating(subject: str, own_text: str) -> tuple[int, str] | None:
    """The survey answer in a reply (SPEC section 7): `(rating 1–5, comment)` or None.

        The rating is read from the subject (`[LOG-000123] Ocena N` or `Rating N`, what our
        `mailto:` links set in Polish and English mail), else from the first non-empty line of
        the client's own text ("5", "Ocena: 4", "4/5 szybko", "Oceniam na 5", "I rate it 4",
    "★★★★☆"; an unlabelled "1." or "1)" before
        text is a numbered list, not a rating). The comment is the rest of the client's own
        text, stripped, without the signature below it ("Pozdrawiam / Jan Kowalski").
    """
    text = own_text.strip()
    match = _SUBJECT_RATING.search(subject)
    if match:
        return int(match.group(1)), without_signature(text)
    first, _, rest = text.partition("\n")
    line = _LABELLED_RATING.match(first.strip()) or _BARE_RATING.match(first.strip())
    if not line and (stars := _STAR_RATING.match(first.strip())):
        comment = "\n".join(p for p in (stars.group(2).strip(), rest.strip()) if p)
        return len(stars.group(1)), without_signature(comment)
    if not line:
        return None
    comment = "\n".join(part for part in (line.group(2).strip(), rest.strip()) if part)
    return int(line.group(1)), without_signature(comment)


# --- client intents (SPEC sections 4 and 5) -----------------------------------------------

_INTENT_WORDS = (
    ("complaint", frozenset({"reklamacja", "complaint"})),
    ("confirm", frozenset({"potwierdzam", "confirm"})),
    ("accept", frozenset({"akceptuje", "accept"})),
)
# A word after one of these is not the client's decision: "nie potwierdzam", "please confirm".
_NOT_A_DECISION = frozenset(
    {
        "nie",
        "not",
        "no",
        "dont",
        "don't",
        "cannot",
        "can't",
        "please",
        "pls",
        "prosze",
        "prosimy",
        "can",
        "could",
        "you",
    }
)


def client_intent(own_text: str, subject: str) -> str | None:
    """What the client decides in a reply: "complaint", "confirm", "accept" or None.

    Whole words, case- and diacritics-insensitive, in the subject or the client's own text
    (the caller passes text without quotes): REKLAMACJA, [REKLAMACJA] or COMPLAINT;
    POTWIERDZAM or CONFIRM; AKCEPTUJĘ, AKCEPTUJE or ACCEPT. A word after a negation or a
    request ("nie potwierdzam", "please confirm") or inside a question does not count.
    A complaint wins over a confirmation, which wins over an acceptance.
    """
    found = _decision_words(subject) | _decision_words(own_text)
    for intent, words in _INTENT_WORDS:
        if found & words:
            return intent
    return None


def _decision_words(text: str) -> set[str]:
    words: set[str] = set()
    for sentence in re.split(r"(?<=[.!?\n])", fold(text)):
        if sentence.rstrip().endswith("?"):
            continue
        tokens = re.findall(r"[a-z0-9']+", sentence)
        words |= {t for i, t in enumerate(tokens) if i == 0 or tokens[i - 1] not in _NOT_A_DECISION}
    return words


# --- a client asking to close (issue 12) ------------------------------------------------

# On folded text. A request, not a description: "program się zamyka" is the fault itself,
# so only the infinitive/imperative ("zamknąć", "zamknij"), "zamknięcie zgłoszenia" and the
# English request forms count; a negation just before ("nie zamykać", "don't close") doesn't.
_CLOSE_TAG = re.compile(r"[\[(]\s*(?:zamknij|close)\s*[\])]")
_CLOSE_REQUEST = re.compile(
    r"(?<!nie )(?<!not )(?<!don't )(?<!dont )\b(?:"
    r"zamkn(?:ac|ij|ijcie)"
    r"|zamkniecie (?:zgloszenia|sprawy|tematu|ticketu)"
    r"|close (?:the |this |my |our )?(?:ticket|case|issue|request|incident)"
    r"|(?:can|may|could) be closed|please close|close it)\b"
)


def asks_to_close(own_text: str, subject: str) -> bool:
    """Does the client ask us to close the ticket (`[ZAMKNIJ]`, "proszę zamknąć zgłoszenie",
    "please close the ticket")? Read from the subject and the client's own text."""
    folded_subject = fold(subject)
    if _CLOSE_TAG.search(folded_subject):
        return True
    return any(_CLOSE_REQUEST.search(" ".join(t.split())) for t in (folded_subject, fold(own_text)))
