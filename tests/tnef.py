"""Outlook TNEF (`winmail.dat`) streams built byte by byte for tests ([MS-OXTNEF]).

A stream is the signature 0x223E9F78, a 16-bit key, then attributes: a level
byte (1 message, 2 attachment), the attribute id as a 16-bit name and a 16-bit
type, a 32-bit length, the data and a 16-bit checksum (the sum of the data
bytes). Each attachment starts with `attAttachRendData`, then carries its 8.3
title, its data and optionally MAPI properties with the long file name.
Everything is little-endian. Only what Outlook writes for a plain message with
files is built; `tnefparse` reads it back.
"""

from __future__ import annotations

import struct

SIGNATURE = 0x223E9F78
LVL_MESSAGE, LVL_ATTACHMENT = 0x01, 0x02

# Attribute names and types ([MS-OXTNEF] 2.1.3.2, 2.1.3.3).
ATT_TNEF_VERSION, ATT_OEM_CODEPAGE, ATT_MESSAGE_CLASS = 0x9006, 0x9007, 0x8008
ATT_BODY, ATT_ATTACH_REND_DATA, ATT_ATTACH_TITLE = 0x800C, 0x9002, 0x8010
ATT_ATTACH_DATA, ATT_ATTACHMENT = 0x800F, 0x9005
ATP_TEXT, ATP_STRING, ATP_BYTE, ATP_DWORD = 0x0002, 0x0007, 0x0006, 0x0008

PT_UNICODE, PR_ATTACH_LONG_FILENAME = 0x001F, 0x3707


def attribute(
    level: int, name: int, kind: int, data: bytes, *, checksum: int | None = None
) -> bytes:
    """One TNEF attribute: level, id, length, data and checksum."""
    total = sum(data) & 0xFFFF if checksum is None else checksum
    return struct.pack("<BHHI", level, name, kind, len(data)) + data + struct.pack("<H", total)


def long_filename(name: str) -> bytes:
    """A MAPI property list holding PR_ATTACH_LONG_FILENAME as a UTF-16 string."""
    text = name.encode("utf-16-le") + b"\0\0"
    padded = text + b"\0" * (-len(text) % 4)
    return struct.pack("<IHHII", 1, PT_UNICODE, PR_ATTACH_LONG_FILENAME, 1, len(text)) + padded


def stream(
    files: list[tuple[str, bytes]] = (),  # type: ignore[assignment]
    *,
    body: str | None = None,
    long_names: bool = True,
    bad_checksum: bool = False,
) -> bytes:
    """A winmail.dat with `files` as (long name, data) and an optional plain-text body.

    The 8.3 title of each file is "FILE{n}.DAT", as Outlook shortens names it cannot
    keep; with `long_names` the real name follows as a MAPI property. `bad_checksum`
    spoils the checksum of the first file's data.
    """
    parts = [
        struct.pack("<IH", SIGNATURE, 0x5A3C),
        attribute(LVL_MESSAGE, ATT_TNEF_VERSION, ATP_DWORD, struct.pack("<I", 0x00010000)),
        attribute(LVL_MESSAGE, ATT_OEM_CODEPAGE, ATP_BYTE, struct.pack("<II", 1250, 0)),
        attribute(LVL_MESSAGE, ATT_MESSAGE_CLASS, ATP_STRING, b"IPM.Microsoft Mail.Note\0"),
    ]
    if body is not None:
        parts.append(attribute(LVL_MESSAGE, ATT_BODY, ATP_TEXT, body.encode("cp1250") + b"\0"))
    for n, (name, data) in enumerate(files, start=1):
        spoil = bad_checksum and n == 1
        parts += [
            attribute(LVL_ATTACHMENT, ATT_ATTACH_REND_DATA, ATP_BYTE, b"\x01\0" + b"\xff" * 12),
            attribute(LVL_ATTACHMENT, ATT_ATTACH_TITLE, ATP_STRING, f"FILE{n}.DAT\0".encode()),
            attribute(
                LVL_ATTACHMENT,
                ATT_ATTACH_DATA,
                ATP_BYTE,
                data,
                checksum=(sum(data) + 1) & 0xFFFF if spoil else None,
            ),
        ]
        if long_names:
            parts.append(attribute(LVL_ATTACHMENT, ATT_ATTACHMENT, ATP_BYTE, long_filename(name)))
    return b"".join(parts)
