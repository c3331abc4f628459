"""Bytes → text in whatever charset a mailer declared, or guessed when the label lies.

Owns: the aliases for charset labels seen in real mail, the guessing order for
undeclared 8-bit text (UTF-8, a hint, Polish Windows, Latin-1) and undoing the
stdlib's surrogateescape of raw 8-bit header bytes (PEP 383, RFC 6532).

Must not: raise on any input (the worst case is text with U+FFFD), parse MIME
structure or headers, or know where the bytes came from beyond the `hint`.
Every guess or replacement is recorded through `defects.add_defect`.
"""

from __future__ import annotations

import codecs
import re

from mailintake.adapters.parse.defects import add_defect

# Labels seen in real mail that Python does not know, or knows as a too-narrow
# subset (gb2312 ⊂ gb18030, euc-kr ⊂ cp949, shift_jis ⊂ cp932).
_CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "iso-gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "x-sjis": "cp932",
    "windows-874": "cp874",
    "x-mac-ce": "mac_latin2",
    "cp-850": "cp850",
    "iso-8859-8-i": "iso8859-8",
    "uft-8": "utf-8",
    "utf8": "utf-8",
    "big5": "big5hkscs",
    "unicode-1-1-utf-7": "utf-7",
}
# Declared labels that say nothing about the bytes: guess instead.
_NO_CHARSET = {"", "us-ascii", "ascii", "x-unknown", "unknown", "unknown-8bit", "x-user-defined"}
# Guessing order for undeclared 8-bit text: UTF-8 is self-validating; then the
# Polish Windows code page (most of our clients), then Latin-1 which never fails.
_GUESSES = ("utf-8", "windows-1250", "latin-1")


def _codec(charset: str | None) -> str | None:
    """The Python codec name for a declared charset, or None when it must be guessed."""
    label = (charset or "").strip().strip("\"'").lower()
    if label in _NO_CHARSET:
        return None
    label = _CHARSET_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def decode_bytes(
    data: bytes, charset: str | None, defects: list[str] | None = None, hint: str | None = None
) -> str:
    """Text of `data` in `charset`; else guessed: UTF-8, `hint`, Polish Windows, Latin-1."""
    codec = _codec(charset)
    if codec and codec.startswith("iso2022") and max(data, default=0) > 0x7F:
        # ISO-2022 is a 7-bit code: 8-bit bytes mean the label lies (often Shift_JIS).
        add_defect(defects, f"charset {charset!r} on 8-bit data: guessed")
        hint, codec = ("cp932" if codec.startswith("iso2022_jp") else hint), None
    if codec is not None:
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            add_defect(defects, f"charset {charset!r}: undecodable bytes replaced")
            return data.decode(codec, errors="replace")
        except (UnicodeError, LookupError):  # e.g. a codec that refuses decoding
            pass
    if charset and charset.strip().lower() not in _NO_CHARSET:
        add_defect(defects, f"charset {charset!r} unknown: guessed")
    return _guess(data, _codec(hint))


def _guess(data: bytes, hint: str | None) -> str:
    # UTF-8 first: it almost never decodes text that is not UTF-8.
    for guess in ("utf-8", hint, *_GUESSES[1:]):
        if guess is None or (guess.startswith("iso2022") and max(data, default=0) > 0x7F):
            continue
        try:
            return data.decode(guess)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1", errors="replace")  # pragma: no cover - latin-1 never fails


# The stdlib's surrogateescape of a raw 8-bit byte (PEP 383).
_SURROGATES = re.compile("[\udc80-\udcff]")


def unsurrogate(value: str, defects: list[str] | None = None, hint: str | None = None) -> str:
    """Undo the stdlib's surrogateescape of raw 8-bit header bytes (RFC 6532 or worse).

    `hint` is the message's body charset: mailers that put raw 8-bit bytes in
    headers use the same code page there.
    """
    if not _SURROGATES.search(value):
        return value
    raw = value.encode("utf-8", errors="surrogateescape")
    return decode_bytes(raw, None, defects, hint)


def has_8bit(value: str) -> bool:
    """`value` holds raw 8-bit bytes the stdlib escaped as surrogates (see `unsurrogate`)."""
    return _SURROGATES.search(value) is not None
