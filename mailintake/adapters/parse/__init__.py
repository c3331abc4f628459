"""Raw message bytes → `ParsedMail`: headers, bodies, attachments, the sender's own text.

Owns: turning whatever arrives in the mailbox into the plain values of
`domain.mail` (SPEC §5 "Every incoming message is kept … with its parsed
parts"): RFC 2047/2231 decoding, charset recovery, safe attachment names,
Outlook TNEF unpacking, HTML → text and quoted-history removal.

Must not: make any business decision (classification, tickets, fields), touch
the database or the filesystem, or raise on a malformed message. Every repair
is recorded in `ParsedMail.defects`; only bytes with nothing usable in them
raise `UnparseableMail`. Nothing here imports a service or an entry point.

mail-parser builds the message and supplies addresses, date and its own defect
list; the MIME walk is our own because mail-parser descends into attached
messages, drops unknown charsets and has no TNEF support. Messages above
`LARGE_MESSAGE_BYTES` are parsed with their big base64 attachments cut out
and decoded straight from the raw bytes (same result, a fraction of the memory:
issue 7).

The modules, each importing only modules listed above it (no cycles):

    defects        recording a repair once
    charsets       bytes → text: declared, aliased or guessed charset; raw 8-bit headers
    encoded_words  RFC 2047 encoded words
    headers        unfolding, decoded header values, Message-IDs
    load           bytes → message tree (mail-parser, stdlib fallback, header-block repair)
    addresses      sender and recipient lists
    dates          the Date header
    filenames      safe attachment names
    htmltext       HTML → text
    owntext        quoted history and signature removed (`strip_reply`)
    tnef           winmail.dat unpacking
    params         MIME parameters and part names (RFC 2231, Content-ID, fallbacks)
    mime           the MIME walk: body texts and attachments
    large          the large-message path: big base64 parts cut out and put back
    assemble       `parse()` itself
"""

from __future__ import annotations

from mailintake.adapters.parse.addresses import parse_addresses
from mailintake.adapters.parse.assemble import UnparseableMail, parse
from mailintake.adapters.parse.charsets import decode_bytes
from mailintake.adapters.parse.encoded_words import decode_words
from mailintake.adapters.parse.filenames import sanitize_filename
from mailintake.adapters.parse.htmltext import html_to_text
from mailintake.adapters.parse.large import LARGE_MESSAGE_BYTES
from mailintake.adapters.parse.owntext import strip_reply

__all__ = [
    "LARGE_MESSAGE_BYTES",
    "UnparseableMail",
    "decode_bytes",
    "decode_words",
    "html_to_text",
    "parse",
    "parse_addresses",
    "sanitize_filename",
    "strip_reply",
]
