"""The sender's own words: a message's text without quoted history and signature.

Owns: our rules for Polish and English replies (history openers such as
"Wiadomość oryginalna", Outlook header blocks, "W dniu … pisze:" attributions
above `>` quotes, Polish closings like "Pozdrawiam"), then mail-parser-reply's
English rules, skipped when none of its patterns can match (issue 7) and only
while its patterns are the pinned version.

Must not: read MIME or headers (it gets plain text), decide anything from what
it removed, or raise: a library fault keeps our own result.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from mailparser_reply.parser import EmailMessage

# Lines that start the quoted history in Outlook and webmail replies. After
# any of these, everything is history (top-posting).
_HISTORY_STARTS = {
    "pl": [
        r"-{2,}\s*Wiadomo(?:ść|sc) oryginalna\s*-{2,}",
        r"-{2,}\s*Wiadomo(?:ść|sc) przekazana dalej\s*-{2,}",
        r"-{2,}\s*Oryginalna wiadomo(?:ść|sc)\s*-{2,}",
    ],
    "en": [
        r"-{2,}\s*Original Message\s*-{2,}",
        r"-{2,}\s*Forwarded message\s*-{2,}",
        r"Begin forwarded message:",
    ],
}
# Outlook header blocks: the first label followed within three lines by a second.
_HEADER_PAIRS = {
    "pl": (r"\*?Od\s*:", r"\*?(?:Wys[łl]ane|Wys[łl]ano|Data|Do|Temat)\s*:"),
    "en": (r"\*?From\s*:", r"\*?(?:Sent|Date|To|Subject)\s*:"),
}
# Attribution lines ("On … wrote:") in any of our languages.
_ATTRIBUTIONS = {
    "pl": [
        r"W dniu .+ pisze:",
        r".+ napisa(?:ł|l|ła|la|ł\(a\)|l\(a\))\s*:",
        r"Dnia .+ napisa.+:",
        r".+ pisze:",
    ],
    "en": [r"On .+ wrote:", r".+ wrote:"],
}
# Closing lines after which only the signature follows. English ones are the
# library's; it has Polish ones too, but see `_library_reply` for why not used.
_CLOSINGS = {
    "pl": [
        r"(?:(?:Serdecznie|Ciep[łl]o|Mi[łl]ego dnia)[,.!]?\s*)?"
        r"Pozdrawiam(?: serdecznie| ciep[łl]o)?",
        r"Pozdrowienia|Pozdr\.?|Z powa[żz]aniem|Z wyrazami szacunku",
        r"(?:Wys[łl]ane|Wys[łl]ano) z .{1,40}",
    ],
    "en": [],
}


OWN_TEXT_CHARS = 200_000


def strip_reply(text: str, languages: Iterable[str] = ("pl", "en")) -> str:
    """The sender's own text: quoted history and signature removed.

    mail-parser-reply finds headers and signatures; our rules add what it lacks
    for Polish clients (Thunderbird "W dniu … pisze:", Outlook "Wysłane:",
    "Wiadomość oryginalna") and keep text written below or between `>` quotes.
    """
    langs = [lang for lang in languages if lang in _HISTORY_STARTS] or ["en"]
    # The sender's own words stand at the top: only the first OWN_TEXT_CHARS are read, so
    # 2 MB of short lines cost what 200 kB do (issue 10); the whole body stays in `text`.
    text = text[:OWN_TEXT_CHARS].replace("\r\n", "\n").replace("\r", "\n")
    lines = _cut_history(text.split("\n"), langs)
    lines = _drop_quotes(lines, langs)
    lines = _cut_closing(lines, langs)
    own = "\n".join(lines).strip()
    if not own:
        return ""
    return _library_reply(own) or own


def strip_forward(text: str, languages: Iterable[str] = ("pl", "en")) -> str:
    """A forward's own text: the forwarder's words, then the forwarded message's own words.

    Outlook puts the forwarded message below a `____` rule and an `Od:`/`Wysłano:`/`Do:`/
    `Temat:` block, which `strip_reply` takes for quoted history; in a forward it is the
    point of the mail (issue 12). The header block itself is left out; the forwarded
    message loses its own quoted history and signature like any reply.
    """
    langs = [lang for lang in languages if lang in _HISTORY_STARTS] or ["en"]
    lines = text[:OWN_TEXT_CHARS].replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = _history_start(lines, langs)
    if start is None:
        return strip_reply(text, languages)
    end = start
    while end < len(lines) and (_RULE.fullmatch(lines[end]) or not lines[end].strip()):
        end += 1
    while end < len(lines) and lines[end].strip() and _HEADER_LINE.match(lines[end]):
        end += 1
    above = strip_reply("\n".join(lines[:start]), languages)
    below = strip_reply("\n".join(lines[end:]), languages)
    return "\n\n".join(part for part in (above, below) if part)


_HEADER_LINE = re.compile(r"^\s*\*?[^\W\d][\w -]{0,30}\*?\s*:", re.UNICODE)


def _cut_history(lines: list[str], langs: list[str]) -> list[str]:
    start = _history_start(lines, langs)
    return lines if start is None else _trim_separator(lines[:start])


def _history_start(lines: list[str], langs: list[str]) -> int | None:
    """The first line of the quoted history (a history opener or an Outlook header block)."""
    starts = [
        re.compile(rf"^\s*{p}\s*$", re.IGNORECASE) for lang in langs for p in _HISTORY_STARTS[lang]
    ]
    pairs = [
        tuple(re.compile(rf"^\s*{p}", re.IGNORECASE) for p in _HEADER_PAIRS[lang]) for lang in langs
    ]
    for i, line in enumerate(lines):
        if line.lstrip().startswith(">"):
            continue
        if any(s.match(line) for s in starts):
            return i
        for first, second in pairs:
            if first.match(line) and any(second.match(x) for x in lines[i + 1 : i + 4]):
                return i
    return None


_RULE = re.compile(r"\s*[_-]{5,}\s*")


def _trim_separator(lines: list[str]) -> list[str]:
    """Drop the Outlook underscore rule that stands above its header block (linear time)."""
    end = len(lines)
    while end and (not lines[end - 1].strip() or _RULE.fullmatch(lines[end - 1])):
        end -= 1
    return lines[:end]


def _drop_quotes(lines: list[str], langs: list[str]) -> list[str]:
    """Remove `>` lines and the attribution line above each quoted block."""
    attributions = [
        re.compile(rf"^\s*{p}\s*$", re.IGNORECASE) for lang in langs for p in _ATTRIBUTIONS[lang]
    ]
    kept: list[str] = []
    opens = _quote_follows(lines)
    for i, line in enumerate(lines):
        if line.lstrip().startswith(">"):
            continue
        if opens[i] and _is_attribution(line, attributions):
            _drop_wrapped_start(line, kept)
            continue
        kept.append(line)
    return kept


def _quote_follows(lines: list[str]) -> list[bool]:
    """For each line: the next non-blank line after it is a `>` quote, or none follows.

    One pass from the end, so 100,000 short lines cost linear time (issue 10).
    """
    follows = [True] * len(lines)
    after = True  # what the nearest non-blank line below says
    for i in range(len(lines) - 1, -1, -1):
        follows[i] = after
        if lines[i].strip():
            after = lines[i].lstrip().startswith(">")
    return follows


def _is_attribution(line: str, patterns: list[re.Pattern[str]]) -> bool:
    if not line.rstrip().endswith(":"):
        return False
    if any(p.match(line) for p in patterns):
        return True
    # Any language: an address or a date on a line ending in ":" above a quote.
    return bool(re.search(r"@|\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|\d{1,2}:\d{2}", line))


def _drop_wrapped_start(line: str, kept: list[str]) -> None:
    """A long attribution wrapped inside its address ("… <" / "addr> wrote:")."""
    if ">" in line.split("<", 1)[0] and kept and kept[-1].rstrip().endswith("<"):
        kept.pop()


def _cut_closing(lines: list[str], langs: list[str]) -> list[str]:
    """Drop a Polish closing ("Pozdrawiam") and the signature below it.

    Never the first line: a message that is only "Pozdrawiam" keeps it.
    """
    closing = re.compile(
        "|".join(rf"(?:{p})" for lang in langs for p in _CLOSINGS.get(lang, [])) or r"(?!)",
        re.IGNORECASE,
    )
    seen_text = False
    for i, line in enumerate(lines):
        if seen_text and closing.fullmatch(line.strip().rstrip(",.!")):
            return _trim_separator(lines[:i])
        seen_text = seen_text or bool(line.strip())
    return lines


def _library_reply(text: str) -> str | None:
    """mail-parser-reply's latest reply without headers and signature.

    Only its English rules: its Polish ones take a single "Data:" or "Do:" line
    for a quoted header and an "Uwaga:" sentence for a disclaimer, which cuts
    a client's own description (test_plain_text_without_history_is_kept_whole).
    `keep_hyphen_lists`: a "- step" list in a bug report is content, not a signature.
    """
    normalized = "\n".join(line.strip() for line in text.split("\n"))
    if _LIBRARY_PINNED and not _could_match_library(normalized):
        # What the library returns when none of its patterns matches (issue 7:
        # its regexes cost ~0.2 ms a message and match almost no client mail).
        return normalized.strip() or None
    try:
        message = EmailMessage(text=text, languages=["en"], keep_hyphen_lists=True).read()
    except Exception:  # noqa: BLE001 - a regex library must not stop intake
        return None
    if not message.replies:
        return None
    return message.replies[0].body.strip() or None


# Literals without which none of mail-parser-reply's English patterns (header,
# disclaimer, signature; version 1.36) can match, on its line-stripped text.
# Checked on the lower-cased text: plain `in` is ~10x faster than one
# IGNORECASE regex over a 5 KB body.
_LIBRARY_WORDS = (
    "wrote:", "original message", "--", "__", "-_", "_-", "sent from my", "get outlook for",
    "regards", "thanks,", "thank you,", "best,", "all the best",
)  # fmt: skip
_LIBRARY_HEADER_LINE = re.compile(
    r"^(?:> ?)*[* ]*(?:from|sent|to|subject|date|cc|organization):", re.MULTILINE
)
_DISCLAIMER_WORDS = (
    "caution:", "disclaimer", "warning:", "confidential", "privileged", "private", "sensitive",
    "important",
)  # fmt: skip
# Characters IGNORECASE matches to an ASCII letter that str.lower() does not map
# to it (İ ı ſ K): with any of them present, only the library itself can tell.
_CASE_ODDITIES = frozenset("\u0130\u0131\u017f\u212a")
# The shortcut is exact only for the patterns above: any other library version
# (a changed pattern) always runs the library.
_LIBRARY_FINGERPRINT = "7cca80675734aba6f620e93832787b63dfa5b58568c87a09b413b20623c149b5"


def _library_patterns_fingerprint() -> str:
    probe = EmailMessage(text="", languages=["en"], keep_hyphen_lists=True)
    patterns = (probe.HEADER_REGEX, probe.DISCLAIMERS_REGEX, probe.SIGNATURE_REGEX)
    return hashlib.sha256("\0".join(p.pattern for p in patterns).encode()).hexdigest()


_LIBRARY_PINNED = _library_patterns_fingerprint() == _LIBRARY_FINGERPRINT


def _could_match_library(normalized: str) -> bool:
    """False only when no header, signature or disclaimer pattern of the library can match."""
    if not _CASE_ODDITIES.isdisjoint(normalized):
        return True
    low = normalized.lower()
    if any(word in low for word in _LIBRARY_WORDS) or _LIBRARY_HEADER_LINE.search(low):
        return True
    return "mail" in low and any(word in low for word in _DISCLAIMER_WORDS)
