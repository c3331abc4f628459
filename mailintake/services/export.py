"""Use case: a ticket's files and raw messages written into a folder for staff (issue 13).

Owns: `export_ticket(app, key, target)` — every attachment of the ticket under its stored
(sanitised) name, and every message as an RFC 5322 `.eml`: incoming mail as the raw bytes
we received, our own as the bytes we composed; names are made unique in the folder
(`name (2).log`) and never leave it. Read-only for the database and the blob store.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from pathlib import Path

from sqlmodel import Session

from mailintake.adapters import db
from mailintake.adapters.files import write_atomically
from mailintake.adapters.timefmt import WARSAW
from mailintake.app import App
from mailintake.errors import Refusal

Content = Callable[[], bytes | None]


def export_ticket(app: App, key: str, target: Path) -> list[Path]:
    """Write the ticket's attachments and messages into `target` (made when missing).

    Returns the files written; raises `Refusal` for an unknown ticket (nothing written)
    and for a folder that cannot be made or written ("Not a directory: …").
    """
    with db.reading(app.engine) as session:
        ticket = db.ticket_by_key(session, key, for_update=False)
        if ticket is None:
            raise Refusal(f"no ticket {key}")
        wanted = [*_attachments(app, session, ticket), *_messages(app, session, ticket)]
    try:
        return _write(target, wanted)
    except OSError as exc:
        raise Refusal(f"cannot write into {target}: {exc.strerror or exc}") from exc


def _write(target: Path, wanted: list[tuple[str, Content]]) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in wanted:
        data = content()
        if data is not None:
            path = _free_name(target, Path(name).name or "attachment")
            write_atomically(path, data)
            written.append(path)
    return written


def _attachments(app: App, session: Session, ticket: db.Ticket) -> list[tuple[str, Content]]:
    return [(row.filename, _blob(app, "attachments", row.sha256))
            for row in db.attachments_of(session, db.id_of(ticket))]  # fmt: skip


def _messages(app: App, session: Session, ticket: db.Ticket) -> list[tuple[str, Content]]:
    found: list[tuple[str, Content]] = []
    for index, row in enumerate(db.messages_of(session, db.id_of(ticket)), 1):
        if row.direction == "out":
            found.append((_eml_name(index, row), _known(db.outgoing_raw(session, db.id_of(row)))))
        elif row.raw_sha256:
            found.append((_eml_name(index, row), _blob(app, "raw", row.raw_sha256)))
    return found


def _known(data: bytes | None) -> Content:
    return lambda: data


def _blob(app: App, kind: str, sha256: str) -> Content:
    return lambda: app.blobs.get(kind, sha256) if app.blobs.has(kind, sha256) else None


def _eml_name(index: int, row: db.MessageRow) -> str:
    """`03-20261202-1000-in.eml`: order, Warsaw local time (as `tickets show`), direction."""
    at = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)  # SQLite keeps UTC, naive
    return f"{index:02d}-{at.astimezone(WARSAW).strftime('%Y%m%d-%H%M')}-{row.direction}.eml"


def _free_name(target: Path, name: str) -> Path:
    path = target / name
    stem, suffix, n = path.stem, path.suffix, 2
    while path.exists():
        path = target / f"{stem} ({n}){suffix}"
        n += 1
    return path
