"""The MIME walk: body texts and attachments of one message tree (RFC 2045, RFC 2046).

Owns: which leaf is body text (unnamed text/plain and text/html) and which is a
file, decoded payloads, enclosed messages kept whole as `.eml` files (RFC 2046
§5.2.1), delivery reports as text files (RFC 3464), TNEF parts unpacked, a
depth limit, and the body text (HTML converted when there is no plain part).

Our own walk rather than mail-parser's: it descends into attached messages,
drops unknown charsets and has no TNEF support.

Must not: read the top-level headers (`headers`, `addresses`), decide what a
message means, or raise: a part that fails is skipped and recorded in
`defects`, the others are kept.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import email.policy
import io
import quopri
import re
from email.generator import BytesGenerator
from email.message import Message

from mailintake.adapters.parse.bounds import check_bounds
from mailintake.adapters.parse.charsets import decode_bytes
from mailintake.adapters.parse.defects import add_defect
from mailintake.adapters.parse.filenames import sanitize_filename
from mailintake.adapters.parse.headers import header_text, one_line
from mailintake.adapters.parse.htmltext import html_to_text
from mailintake.adapters.parse.params import (
    described_name,
    fallback_name,
    has_8bit_params,
    part_content_id,
    part_filename,
    part_param,
)
from mailintake.adapters.parse.tnef import is_tnef, tnef_contents
from mailintake.domain.mail import Attachment

_BODY_TYPES = ("text/plain", "text/html")
_MAX_DEPTH = 50  # mail-parser guards recursion in its parser; we guard our walk
MAX_PARTS = 1000  # parts read per message; the rest stays in the raw copy (issue 10)


class PartBudget:
    """How many more parts one message's walk may read; notes the cut once."""

    def __init__(self, parts: int = MAX_PARTS) -> None:
        self.left = parts

    def take(self, defects: list[str]) -> bool:
        self.left -= 1
        if self.left == -1:
            defects.append(f"over {MAX_PARTS} MIME parts: the rest not read, kept in the raw copy")
        return self.left >= 0


class Body:
    """Collects body texts and attachments while walking one message tree."""

    def __init__(
        self, defects: list[str], hint: str | None, linesep: bytes, budget: PartBudget | None = None
    ) -> None:
        self.budget = budget or PartBudget()
        self.defects = defects
        self.hint = hint  # charset for raw 8-bit file names
        self.linesep = linesep  # enclosed messages are re-serialised as they came
        self.plain: list[str] = []
        self.htmls: list[str] = []
        self.attachments: list[Attachment] = []

    def text(self) -> str:
        """The plain parts joined by a blank line; the HTML parts as text when none has text."""
        plain = "\n\n".join(t for t in self.plain if t.strip())
        if plain.strip():
            return plain
        return "\n\n".join(html_to_text(h) for h in self.htmls if h.strip())

    def html(self) -> str | None:
        """The HTML parts joined, or None when there is none."""
        joined = "\n".join(h for h in self.htmls if h.strip())
        return joined or None

    def walk(self, part: Message, depth: int = 0) -> None:
        """Collect from `part` and below; a part that fails is skipped and recorded."""
        if depth > _MAX_DEPTH:
            add_defect(self.defects, "MIME nesting too deep: rest ignored")
            return
        if not self.budget.take(self.defects):
            return
        try:
            self._visit(part, depth)
        except Exception as exc:  # noqa: BLE001 - one bad part must not lose the others
            self.defects.append(f"part skipped: {type(exc).__name__}: {exc}")

    def _visit(self, part: Message, depth: int) -> None:
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "message/global") and part.is_multipart():
            self._attach_message(part, depth, _transfer_decoded(part, self.defects))
        elif ctype.startswith("message/") and part.is_multipart():
            self._attach_report(part, ctype)
        elif part.is_multipart():
            for sub in subparts(part):
                self.walk(sub, depth + 1)
        else:
            self._visit_leaf(part, ctype, depth)

    def _visit_leaf(self, part: Message, ctype: str, depth: int) -> None:
        # The file name is read once (issue 7); the charset hint only matters
        # for raw 8-bit parameters, so only then is the hint-free name read apart.
        notes: list[str] = []
        name = part_filename(part, notes, self.hint)
        bare = part_filename(part, None, None) if has_8bit_params(part) else name
        if is_tnef(ctype, bare):
            self._unpack_tnef(part)
        elif (enclosed := _eml_file(part, ctype, name, self.defects)) is not None:
            self._attach_message(part, depth, enclosed)
        elif ctype.startswith("multipart/"):
            # RFC 2046 §5.1.1 boundary missing or wrong: the parser could not split it.
            self.defects.append(f"{ctype} not split (bad boundary): kept as text")
            self.plain.append(self._decoded(part))
        elif ctype in _BODY_TYPES and not _named(part, name):
            target = self.plain if ctype == "text/plain" else self.htmls
            target.append(self._decoded(part))
        else:
            for note in notes:
                add_defect(self.defects, note)
            self._attach(part, ctype, name)

    def _decoded(self, part: Message) -> str:
        data = _payload(part, self.defects)
        charset = part_param(part, "charset")
        text = decode_bytes(data, charset, self.defects)
        return text.replace("\r\n", "\n").replace("\r", "\n")

    def _attach(self, part: Message, ctype: str, name: str | None) -> None:
        content_id = part_content_id(part)
        disposition = (part.get_content_disposition() or "").lower()
        self.attachments.append(
            Attachment(
                filename=sanitize_filename(name, fallback=fallback_name(ctype, content_id)),
                content_type=ctype,
                data=_payload(part, self.defects),
                inline=bool(content_id) and disposition != "attachment",
                content_id=content_id,
                # Named, disposition attachment, not shown by the HTML (no Content-ID).
                attached=disposition == "attachment"
                and bool(name and name.strip())
                and not content_id,
            )
        )

    def _attach_message(self, part: Message, depth: int, inner: Message | None = None) -> None:
        """RFC 2046 §5.2.1: keep the enclosed message whole, as a `.eml` file, and its files.

        The files inside (a client's logs forwarded by a colleague) are also listed,
        marked `enclosed`, so they count for the ticket (issue 10). `inner` is the message
        when it had to be read apart (base64 around it, or an `.eml` sent as a file).
        """
        inner = inner or subparts(part)[0]
        subject = one_line(header_text(inner, "subject", self.defects, self.hint))
        stem = subject or described_name(part, "") or "message"
        self.attachments.append(
            Attachment(
                filename=sanitize_filename(f"{stem}.eml", fallback="message.eml"),
                content_type=part.get_content_type(),
                data=_flatten(inner, self.linesep, self.defects),
            )
        )
        files = Body(self.defects, self.hint, self.linesep, self.budget)
        files.walk(inner, depth + 1)
        self.attachments += [dataclasses.replace(a, enclosed=True) for a in files.attachments]

    def _attach_report(self, part: Message, ctype: str) -> None:
        """message/delivery-status and kin (RFC 3464): the header blocks as a text file."""
        whole = _flatten(part, self.linesep, self.defects)
        head_end = re.search(rb"\r?\n\r?\n", whole)
        data = whole[head_end.end() :] if head_end else whole
        name = part_filename(part, self.defects, self.hint) or described_name(part, ".txt")
        self.attachments.append(
            Attachment(sanitize_filename(name, fallback=fallback_name(ctype, None)), ctype, data)
        )

    def _unpack_tnef(self, part: Message) -> None:
        data = _payload(part, self.defects)
        found, body, problem = tnef_contents(data)
        self.attachments.extend(found)
        if body is not None and not any(t.strip() for t in (*self.plain, *self.htmls)):
            kind, text = body
            (self.htmls if kind == "html" else self.plain).append(text)
        if problem:
            # Keep the original so nothing is lost when the stream is broken.
            self.defects.append(f"winmail.dat (TNEF) {problem}: kept as is")
            self.attachments.append(Attachment("winmail.dat", part.get_content_type(), data))


def subparts(part: Message) -> list[Message]:
    """The parts of a multipart `part`: the parser makes every one a `Message`."""
    return [sub for sub in part.get_payload() if isinstance(sub, Message)]


def _payload(part: Message, defects: list[str]) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:  # noqa: BLE001 - e.g. broken uuencode
        defects.append(f"payload undecodable: {exc!r}")
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    if isinstance(raw, str):
        return raw.encode("utf-8", errors="surrogateescape")
    return b""


def _named(part: Message, name: str | None) -> bool:
    """A text part with a file name or `attachment` disposition is a file, not the body."""
    disposition = (part.get_content_disposition() or "").lower()
    return disposition == "attachment" or bool(name)


def _transfer_decoded(part: Message, defects: list[str]) -> Message | None:
    """The enclosed message of a message/rfc822 part sent base64 or quoted-printable.

    RFC 2046 §5.2.1 allows only 7bit, 8bit or binary there, so the parser read the
    encoded lines as the message; mailers do it anyway. None when the part is not encoded.
    """
    encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
    if encoding not in ("base64", "quoted-printable"):
        return None
    text = _flatten(subparts(part)[0], b"\n", defects)
    try:
        if encoding == "base64":
            data = base64.b64decode(b"".join(text.split()), validate=False)
        else:
            data = quopri.decodestring(text)
    except (binascii.Error, ValueError) as exc:
        defects.append(f"enclosed message not decodable ({encoding}): {exc}")
        return None
    defects.append(f"enclosed message sent {encoding} (RFC 2046 §5.2.1): decoded")
    return _read_enclosed(data, defects)


def _read_enclosed(data: bytes, defects: list[str]) -> Message | None:
    """`data` as a message, within the limits the whole mail was held to (`bounds`);
    None, with the reason as a defect, when it is over them (it stays a file, unread)."""
    over = check_bounds(data)
    if over is not None:
        defects.append(f"enclosed message {over}")
        return None
    return email.message_from_bytes(data)


def _eml_file(part: Message, ctype: str, name: str | None, defects: list[str]) -> Message | None:
    """A message sent as a plain file (`Raport.eml`, application/octet-stream), else None."""
    if ctype != "application/octet-stream" or not (name or "").lower().endswith(".eml"):
        return None
    data = _payload(part, defects)
    head = email.message_from_bytes(data[:65536])
    if not (head.get("from") or head.get("subject")):
        return None
    return _read_enclosed(data, defects)


def _flatten(part: Message, linesep: bytes, defects: list[str]) -> bytes:
    buffer = io.BytesIO()
    policy = email.policy.compat32.clone(linesep=linesep.decode("ascii"))
    try:
        BytesGenerator(buffer, mangle_from_=False, maxheaderlen=0, policy=policy).flatten(part)
    except Exception as exc:  # noqa: BLE001
        defects.append(f"enclosed message not re-serialisable: {exc!r}")
        return str(part).encode("utf-8", errors="replace")
    return buffer.getvalue()
