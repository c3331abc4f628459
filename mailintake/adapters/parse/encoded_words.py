"""RFC 2047 encoded words ("=?charset?B|Q?…?=") → text, also where mailers wrongly put them.

Owns: finding encoded words in a header value, joining adjacent words of one
charset before decoding (a multi-byte character split across words survives),
the B and Q decodings, and raw 8-bit bytes around them (via `charsets`).

Must not: raise (a bad word is kept as written and recorded in `defects`),
unfold or otherwise reshape the value, or know which header it came from.
RFC 2231 parameter values (`name*=charset''…`) are `params`' business.
"""

from __future__ import annotations

import codecs
import re

from mailintake.adapters.parse.charsets import decode_bytes, unsurrogate
from mailintake.adapters.parse.defects import add_defect

# Text may hold spaces: invalid (RFC 2047 §5) but common, and every client decodes it.
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*?)\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)[ \t\r\n]+(=\?)")


def decode_words(value: str, defects: list[str] | None = None, hint: str | None = None) -> str:
    """Decode RFC 2047 encoded words, also in the places mailers wrongly put them.

    Our own decoder rather than `email.header.decode_header`: that one fails the
    whole value on an unknown charset and mangles non-ASCII plain text around
    encoded words, both common in the corpus.
    """
    value = unsurrogate(value, defects, hint)
    if "=?" not in value:
        return value
    # RFC 2047 §6.2: white space between adjacent encoded words is not displayed.
    value = _BETWEEN_WORDS.sub(r"\1\2", value)
    return _merge_runs(value, defects)


def _merge_runs(value: str, defects: list[str] | None) -> str:
    """Decode encoded words, joining adjacent ones of one charset before decoding.

    Mailers split multi-byte characters across words; decoding each word alone
    would break them.
    """
    out: list[str] = []
    pos = 0
    run: list[bytes] = []
    run_charset: str | None = None
    for match in _ENCODED_WORD.finditer(value):
        if match.start() != pos or (run and match.group(1).lower() != run_charset):
            out.append(_flush(run, run_charset, defects))
            run = []
            out.append(value[pos : match.start()])
        charset = match.group(1).split("*", 1)[0].lower()  # RFC 2231 §5 language tag
        run_charset = charset
        run.append(_word_bytes(match.group(2), match.group(3), defects))
        pos = match.end()
    out.append(_flush(run, run_charset, defects))
    out.append(value[pos:])
    return "".join(out)


def _flush(run: list[bytes], charset: str | None, defects: list[str] | None) -> str:
    return decode_bytes(b"".join(run), charset, defects) if run else ""


def _word_bytes(encoding: str, text: str, defects: list[str] | None) -> bytes:
    if encoding in "qQ":
        return _q_decode(text)
    try:
        padded = text + "=" * (-len(text) % 4)
        return codecs.decode(padded.encode("ascii"), "base64")
    except (ValueError, UnicodeError):
        add_defect(defects, "bad base64 in encoded word")
        return text.encode("ascii", errors="replace")


def _q_decode(text: str) -> bytes:
    data = text.replace("_", " ").encode("ascii", errors="replace")
    return re.sub(rb"=([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), data)
