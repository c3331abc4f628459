"""The values every intake route takes and gives: `Arrival`, `Incoming`, `Outcome` (SPEC §9)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from mailintake.domain import mailrules
from mailintake.domain.mail import ParsedMail

OUTCOMES = (
    "created",
    "updated",
    "note",
    "bounce",
    "ignored",
    "survey",
    "command",
    "refused",
    "duplicate",
    "quarantined",
)


@dataclass(frozen=True)
class Outcome:
    """What became of one message (the `ingest --json` line)."""

    outcome: str
    ticket: str | None = None
    message_id: str | None = None
    reason: str | None = None
    unstamped: bool = False  # our border MTA did not stamp it (services.deployment)


# `Outcome.reason`s staff notices read (`staffnotice`).
CLOSE_REQUEST = "close_request"  # a client asks to close: staff decide
REPLY_TO_CLOSED = "reply_to_closed"  # a new ticket opened by a reply to a closed one


@dataclass(frozen=True)
class Arrival:
    """One message as it came in: its bytes, when (UTC) and from where (`imap:…`, `file:…`)."""

    raw: bytes = field(repr=False)
    received_at: datetime
    source_ref: str | None = None
    sha256: str = field(init=False, repr=False)  # hex SHA-256 of `raw`: what identifies it

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha256", hashlib.sha256(self.raw).hexdigest())


@dataclass(frozen=True)
class Incoming:
    """One message on its way through the rules."""

    mail: ParsedMail
    raw: bytes = field(repr=False)
    raw_sha256: str
    received_at: datetime
    now: datetime
    classification: mailrules.Classification | None  # None until classified

    @property
    def classified(self) -> mailrules.Classification:
        """The classification: every route gets the message after `intake` classified it."""
        if self.classification is None:
            raise ValueError("the message has not been classified yet")
        return self.classification
