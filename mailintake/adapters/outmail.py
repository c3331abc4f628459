"""Outgoing messages as bytes on the wire (SPEC section 5).

Owns: headers of our mail — threading (`Message-ID` with the ticket key,
`In-Reply-To`, `References`), RFC 3834 `Auto-Submitted`,
`X-Auto-Response-Suppress`, our loop header, `Cc` — the text + HTML body
and the attached files (`multipart/mixed`, base64, names as RFC 2231
parameters). Must not decide whether to send, to whom, or which files go.

Why the bytes are built here and not by the `email` package: Python's `email`
folds or RFC 2047-encodes long `References`/`In-Reply-To` values, which breaks
threading in Outlook, and its header machinery cost ~2.7 ms per reply (issue 7).
Message-ID lists are written bare and unfolded (the list is trimmed, as
RFC 5322 section 3.6.4 allows; only a list too long for one 998-byte line is
folded, and then between ids), and any CR/LF in a value given to us (a
client's subject) is flattened so it can never inject a header.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, quote
from urllib.parse import quote as percent_encode

from mailintake.domain.mail import Attachment
from mailintake.domain.mailrules import LOOP_HEADER

MAX_REFERENCES = 10
_SOFT_LIMIT = 78  # RFC 5322 section 2.1.1: SHOULD
_HARD_LIMIT = 998  # RFC 5322 section 2.1.1: MUST, without the CRLF
_FOLD = "\r\n "
_WHITESPACE = re.compile(r"\s+")
# A Message-ID's id-left "@" id-right as we accept it: printable ASCII without
# white space or angle brackets (RFC 5322 section 3.6.4), short enough for one line.
_MSGID = re.compile(r"[!-;=?-~]{1,900}@[!-;=?-~]{1,900}")
_PLAIN_HEADER_TEXT = re.compile(r"[ -~]*")
_LINE_START_FROM = re.compile(rb"^From ", re.MULTILINE)
_SPECIALS = re.compile(r'[][\\()<>@,:;".]')  # as email.utils.formataddr quotes
# A MIME type we pass on: `type/subtype` tokens (RFC 2045 section 5.1), not a composite one
# (message/*, multipart/* may not be base64-encoded, RFC 2046 sections 5.1 and 5.2.1).
_MIME_TYPE = re.compile(r"(?!message/|multipart/)[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")
_PLAIN_PARAM = re.compile(r"[ !#-\[\]-~]{1,60}")  # short printable ASCII, no '"' or '\\'
_ATTRIBUTE_CHARS = "!#$&+-.^_`|~"  # RFC 2231 attribute-char besides letters and digits
_PARAM_CHUNK = 56  # encoded characters per RFC 2231 continuation line (78 with its prefix)


@dataclass(frozen=True)
class Outgoing:
    sender: str
    to: tuple[str, ...]
    subject: str
    text: str
    html: str
    message_id: str
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    auto_submitted: str | None = "auto-replied"
    sender_name: str = "LOG Systems Support"
    date: datetime | None = None
    # PNG pictures the HTML part shows as <img src="cid:…">: (Content-ID, bytes).
    images: tuple[tuple[str, bytes], ...] = ()
    cc: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()


def new_message_id(ticket_key: str | None, domain: str) -> str:
    """A bare Message-ID carrying the ticket key, so any reply finds its ticket."""
    prefix = f"{ticket_key}." if ticket_key else "mailintake."
    return f"{prefix}{uuid.uuid4().hex}@{domain}"


def one_line(value: str) -> str:
    """A header value with every line break and run of white space made one space."""
    return _WHITESPACE.sub(" ", value or "").strip()


def compose(out: Outgoing) -> bytes:
    """The message as bytes with CRLF line ends, ready for SMTP.

    Text and HTML are a `multipart/alternative`; with attachments that goes first in a
    `multipart/mixed`, each file after it base64-encoded under its name (RFC 2045, 2231).
    """
    content_type, body = _alternative(out)
    if out.attachments:
        content_type, body = _mixed(content_type, body, out.attachments)
    head = "".join(_headers(out)) + f"MIME-Version: 1.0\r\nContent-Type: {content_type}\r\n"
    return head.encode("utf-8", errors="replace") + b"\r\n" + body


def _alternative(out: Outgoing) -> tuple[str, bytes]:
    text = _qp(out.text)
    html = _part_body("html", _qp(out.html))
    if out.images:  # RFC 2387: the HTML and the pictures it shows travel as one related part
        html = _related(html, out.images)
    boundary = _boundary(text, html)
    body = b"".join(
        (
            _part(boundary, "plain", text),
            f"--{boundary}\r\n".encode("ascii") + html + b"\r\n",
            f"--{boundary}--\r\n".encode("ascii"),
        )
    )
    return f'multipart/alternative; boundary="{boundary}"', body


def _mixed(first_type: str, first: bytes, attachments: tuple[Attachment, ...]) -> tuple[str, bytes]:
    """The message body, then each file: a `multipart/mixed` (RFC 2046 section 5.1.3)."""
    files = [_file(a) for a in attachments]
    boundary = _boundary(first, *files)
    parts = [f"--{boundary}\r\nContent-Type: {first_type}\r\n\r\n".encode("ascii") + first]
    parts += [f"--{boundary}\r\n".encode("ascii") + f for f in files]
    return f'multipart/mixed; boundary="{boundary}"', b"".join(
        parts
    ) + f"--{boundary}--\r\n".encode()


def _file(attachment: Attachment) -> bytes:
    """One attached file: its type and name as parameters, its bytes in base64 lines."""
    kind = attachment.content_type.lower().strip()
    kind = kind if _MIME_TYPE.fullmatch(kind) else "application/octet-stream"
    name = attachment.filename or "attachment"
    head = (
        f"Content-Type: {kind};\r\n{_parameter('name', name)}\r\n"
        f"Content-Disposition: attachment;\r\n{_parameter('filename', name)}\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
    )
    data = base64.encodebytes(attachment.data).rstrip(b"\n").replace(b"\n", b"\r\n")
    # The CRLF before the next delimiter belongs to the delimiter (RFC 2046 5.1.1).
    return head.encode("ascii") + data + b"\r\n"


def _parameter(name: str, value: str) -> str:
    """` name="value"`, or RFC 2231 `name*=utf-8''…` (continued as `name*0*=`, `name*1*=` …).

    Continuations are cut between characters, never inside one's UTF-8 bytes, so a
    reader that decodes each piece on its own still gets the name; lines stay ≤ 78.
    """
    if _PLAIN_PARAM.fullmatch(value):
        return f' {name}="{value}"'
    chunks = [""]
    for char in value:
        encoded = percent_encode(char.encode("utf-8", "replace"), safe=_ATTRIBUTE_CHARS)
        if len(chunks[-1]) + len(encoded) > _PARAM_CHUNK:
            chunks.append("")
        chunks[-1] += encoded
    if len(chunks) == 1:
        return f" {name}*=utf-8''{chunks[0]}"
    first, *rest = chunks
    return ";\r\n".join(
        [f" {name}*0*=utf-8''{first}"]
        + [f" {name}*{i}*={chunk}" for i, chunk in enumerate(rest, start=1)]
    )


def _related(html: bytes, images: tuple[tuple[str, bytes], ...]) -> bytes:
    """multipart/related: the HTML part first, then each PNG by its Content-ID (RFC 2392)."""
    encoded = [(cid, base64.encodebytes(data).replace(b"\n", b"\r\n")) for cid, data in images]
    boundary = _boundary(html, *(data for _, data in encoded))
    pictures = [
        (
            f"--{boundary}\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"
            f'Content-ID: <{cid}>\r\nContent-Disposition: inline; filename="{cid.partition("@")[0]}.png"'
            "\r\n\r\n"
        ).encode("ascii")
        + data
        for cid, data in encoded
    ]
    head = f'Content-Type: multipart/related; type="text/html"; boundary="{boundary}"\r\n\r\n'
    return b"".join(
        (head.encode("ascii"), f"--{boundary}\r\n".encode("ascii"), html, b"\r\n", *pictures,
         f"--{boundary}--\r\n".encode("ascii"))
    )  # fmt: skip


def _headers(out: Outgoing) -> list[str]:
    sender = one_line(out.sender)
    lines = [
        _from(one_line(out.sender_name), sender),
        _fold_list("To", [one_line(a) for a in out.to if one_line(a)], ", "),
        _unstructured("Subject", one_line(out.subject)),
    ]
    if cc := [one_line(a) for a in out.cc if one_line(a)]:
        lines.insert(2, _fold_list("Cc", cc, ", "))
    if out.date is not None:
        lines.append(f"Date: {format_datetime(out.date)}\r\n")
    lines.append(f"Message-ID: <{one_line(out.message_id).strip('<>')}>\r\n")
    in_reply_to = one_line(out.in_reply_to or "").strip("<>")
    if _is_msgid(in_reply_to):
        lines.append(f"In-Reply-To: <{in_reply_to}>\r\n")
    refs = _trim(out.references)
    if refs:
        # One line while it fits (Outlook threads on it), else folded between ids.
        lines.append(_fold_list("References", [f"<{r}>" for r in refs], " ", _HARD_LIMIT))
    if out.auto_submitted:
        lines.append(f"Auto-Submitted: {one_line(out.auto_submitted)}\r\n")  # RFC 3834 sec. 5
    lines.append("X-Auto-Response-Suppress: OOF, AutoReply\r\n")  # Exchange: no out-of-office
    lines.append(f"{LOOP_HEADER}: {sender}\r\n")
    return lines


def _from(name: str, address: str) -> str:
    """`From:` with the display name quoted when ASCII, else RFC 2047-encoded."""
    if not name:
        return f"From: {address}\r\n"
    if _needs_encoding(name) or len(name) > _SOFT_LIMIT - len("From: "):
        shown = _encoded("From", name)
    else:
        shown = f'"{quote(name)}"' if _SPECIALS.search(name) else name  # RFC 5322 3.2.4
    last = shown.rsplit("\r\n", 1)[-1]
    sep = _FOLD if len(last) + len(address) + 3 > _SOFT_LIMIT else " "
    return f"From: {shown}{sep}<{address}>\r\n"


def _unstructured(name: str, value: str) -> str:
    """An unstructured header (RFC 5322 section 3.2.5), encoded only from where it must be.

    The plain ASCII words in front stay readable (`[LOG-000123] Raport …`), so mail
    rules and filters still match the key in the raw header; from the first word
    that needs it on, the text is one run of RFC 2047 words with its spaces inside,
    because decoders drop white space between adjacent encoded words (the stdlib
    policy's folder puts it outside and loses it).
    """
    if _needs_encoding(value) or any(len(w) > _HARD_LIMIT - 40 for w in value.split(" ")):
        return f"{name}: {_encoded(name, value)}\r\n"
    return _fold_list(name, value.split(" "), " ")


def _needs_encoding(value: str) -> bool:
    """Non-ASCII or control characters, or text a reader would take for an encoded word."""
    return not _PLAIN_HEADER_TEXT.fullmatch(value) or "=?" in value


def _encoded(name: str, value: str) -> str:
    """RFC 2047 encoded words after the plain ASCII words in front, folded to 78 characters."""
    value = value.encode("utf-8", errors="replace").decode("utf-8")  # no lone surrogates
    words = value.split(" ")
    plain = next((i for i, w in enumerate(words) if _needs_encoding(w) or len(w) > 70), len(words))
    header = Header(maxlinelen=_SOFT_LIMIT, header_name=name)
    if plain:
        header.append(" ".join(words[:plain]), "us-ascii")
    if plain < len(words):
        header.append(" ".join(words[plain:]), "utf-8")
    return header.encode(linesep="\r\n")


def _fold_list(name: str, items: list[str], sep: str, limit: int = _SOFT_LIMIT) -> str:
    """`name: ` and the items joined by `sep`, folded between items only (never inside one).

    Lines stay within `limit` characters where the items allow; an item is
    never split, so a Message-ID keeps threading (it is at most 900 characters).
    """
    lines: list[str] = []
    line = f"{name}:"
    for i, item in enumerate(items):
        piece = item + (sep.rstrip() if i < len(items) - 1 else "")
        if len(line) + 1 + len(piece) > limit and line != f"{name}:":
            lines.append(line)
            line = ""
        line = f"{line} {piece}"
    lines.append(line)
    # Every continuation line already starts with the one space that separated the items,
    # so unfolding (removing CRLF, RFC 5322 section 2.2.3) gives back the value exactly.
    return "\r\n".join(lines) + "\r\n"


def _qp(text: str) -> bytes:
    """UTF-8 quoted-printable (RFC 2045 section 6.7) with CRLF line ends."""
    data = (text or "").replace("\r\n", "\n").replace("\r", "\n").encode("utf-8", "replace")
    encoded = binascii.b2a_qp(data, istext=True)
    # A line starting "From " is mangled to ">From " by mbox-style relays: encode the F.
    encoded = _LINE_START_FROM.sub(b"=46rom ", encoded)
    return encoded.replace(b"\n", b"\r\n")


def _boundary(*parts: bytes) -> str:
    """A random boundary; "=_" never occurs in quoted-printable text (RFC 2045 6.7)."""
    while True:
        boundary = f"=_mailintake_{uuid.uuid4().hex}"
        if not any(boundary.encode("ascii") in part for part in parts):
            return boundary


def _part(boundary: str, subtype: str, body: bytes) -> bytes:
    # The CRLF before the next delimiter belongs to the delimiter (RFC 2046 5.1.1).
    return f"--{boundary}\r\n".encode("ascii") + _part_body(subtype, body) + b"\r\n"


def _part_body(subtype: str, body: bytes) -> bytes:
    """A text part's headers and its quoted-printable body."""
    head = (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    )
    return head.encode("ascii") + body


def _trim(references: tuple[str, ...]) -> tuple[str, ...]:
    """Keep the thread's root and the newest ids (RFC 5322 section 3.6.4)."""
    clean = tuple(r for r in (one_line(x).strip("<>") for x in references) if _is_msgid(r))
    if len(clean) <= MAX_REFERENCES:
        return clean
    return (clean[0], *clean[-(MAX_REFERENCES - 1) :])


def _is_msgid(value: str) -> bool:
    return bool(_MSGID.fullmatch(value))
