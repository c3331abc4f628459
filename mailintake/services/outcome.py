"""The values every intake route takes and gives: `Incoming` and `Outcome` (SPEC section 9)."""

from __future__ import annotations

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
