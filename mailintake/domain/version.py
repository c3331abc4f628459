"""Recognising the software version in a client's words (SPEC §3, field `version`).

Owns: `find_version` — a version number like `6.1.111.111` (four numeric parts; three are
accepted), written after the field's label or, in free text, shortly after the word
wersja / version (or "LOG System", "build", "v."). Dates (`15.05.2024`) and parts of
addresses (URLs, e-mail, `host:port`) are never versions; in free text, neither is an IP
address after an IP-ish word ("adres", "IP", "serwer").

Must not: find labels or read lines (`domain.answers`, `domain.freetext` call this), do
I/O or read the clock.
"""

from __future__ import annotations

import re

from mailintake.domain.text import fold

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
    return bool(_IPISH_RE.search(fold(text[max(0, match.start() - 30) : match.start()])))


def find_version(text: str, *, labelled: bool) -> str | None:
    """The first version number in `text`; unlabelled ones need wersja/version before them."""
    for match in _VERSION_RE.finditer(text):
        if _is_date(match.group(1).split(".")) or _in_address(text, match):
            continue
        if labelled:
            return match.group(1)
        window = fold(text[max(0, match.start() - _VERSION_WINDOW) : match.start()])
        if _VERSION_WORD_RE.search(window) and not _looks_like_ip(text, match):
            return match.group(1)
    return None
