"""IMAP folders other than the inbox: held messages in quarantine, the newest header blocks.

Owns: reading the server's RFC 4315 `COPYUID` answer to a MOVE or COPY into held
refs (`imapheld:<uidvalidity>:<uid>` of the quarantine folder), finding a held
message again by that ref, else by its Message-ID (`SEARCH HEADER`), for
`quarantine retry` (issue 13); the header blocks of the newest messages of the
inbox and the processed folder, for `mailintake check` (issue 10). Must not
decide anything about a message, or leave another folder selected than the
inbox it found selected.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from imapclient import IMAPClient

T = TypeVar("T")
_COPYUID = re.compile(r"(\d+) ([\d:,]+) ([\d:,]+)")


def copyuid(client: IMAPClient) -> str | None:
    """The last COPYUID response code of the session (RFC 4315 §3), as text."""
    found: list[Any] = client._imap.untagged_responses.get("COPYUID") or []
    last = found[-1] if found else None
    return last.decode("ascii", "replace") if isinstance(last, bytes) else last


def copyuid_text(response: object) -> str | None:
    """COPYUID from a tagged response text `[COPYUID v src dst] …`, if any."""
    text = response.decode("ascii", "replace") if isinstance(response, bytes) else str(response)
    match = re.search(r"COPYUID ([^\]]+)", text)
    return match.group(1) if match else None


def _expand(uid_set: str) -> list[int]:
    uids: list[int] = []
    for run in uid_set.split(","):
        first, _, last = run.partition(":")
        low, high = sorted((int(first), int(last or first)))
        uids.extend(range(low, high + 1))
    return uids


def held_refs(refs: Sequence[str], answer: str | None) -> dict[str, str]:
    """Inbox ref → held ref of each moved message, from a COPYUID answer (empty without one)."""
    match = _COPYUID.fullmatch((answer or "").strip())
    if match is None:
        return {}
    validity, source, target = match.groups()
    new_uid = dict(zip(_expand(source), _expand(target), strict=False))
    found = {}
    for ref in refs:
        uid = int(ref.rpartition(":")[2])
        if uid in new_uid:
            found[ref] = f"imapheld:{validity}:{new_uid[uid]}"
    return found


def in_folder(
    client: IMAPClient,
    folder: str,
    back_to: str,
    locate: tuple[str | None, str | None],
    action: Callable[[IMAPClient, int], T],
) -> T | None:
    """`action(client, uid)` on the held message in `folder`; None when it is not there."""
    if not client.folder_exists(folder):
        return None
    try:
        info = client.select_folder(folder)
        uid = _find(client, int(info[b"UIDVALIDITY"]), *locate)
        return action(client, uid) if uid is not None else None
    finally:
        client.select_folder(back_to)


def _find(
    client: IMAPClient, validity: int, held_ref: str | None, message_id: str | None
) -> int | None:
    kind, _, rest = (held_ref or "").partition(":")
    ref_validity, _, uid = rest.partition(":")
    ours = kind == "imapheld" and ref_validity == str(validity) and uid.isdigit()
    if ours and client.search(["UID", uid]):
        return int(uid)
    if message_id:
        found = client.search(["HEADER", "Message-ID", message_id])
        return int(found[0]) if found else None
    return None


def header_blocks(client: IMAPClient, uids: list[int]) -> dict[int, bytes]:
    """The header blocks of `uids` in the selected folder, read without setting \\Seen."""
    data = client.fetch(uids, ["BODY.PEEK[HEADER]"])
    return {uid: d[b"BODY[HEADER]"] for uid, d in data.items() if b"BODY[HEADER]" in d}


def newest_heads(
    client: IMAPClient, folders: Sequence[str], back_to: str, count: int
) -> list[bytes]:
    """The header blocks of the newest `count` messages of each folder that exists."""
    heads: list[bytes] = []
    try:
        for folder in folders:
            if not client.folder_exists(folder):
                continue
            client.select_folder(folder, readonly=True)
            uids = sorted(client.search("ALL"))[-count:]
            heads += header_blocks(client, uids).values() if uids else []
    finally:
        client.select_folder(back_to)
    return heads
