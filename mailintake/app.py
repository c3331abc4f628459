"""The `App` every use case receives: settings and the adapters picked for them.

Owns: the handles a service may use (database engine, blob store, renderer,
business calendar, this process's liveness lock, clock, OAuth2 token provider) and the lazily connected
mail transport and the mailbox, both made by factories injected by the
composition root. Must not pick or build an adapter itself, read
configuration or import `bootstrap`, `cli` or `daemon`: services import this
module, never the composition root.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from mailintake.adapters.blobs import BlobStore
from mailintake.adapters.inbox import Inbox
from mailintake.adapters.liveness import Liveness
from mailintake.adapters.mailer import Mailer
from mailintake.adapters.oauth2 import TokenProvider
from mailintake.adapters.render import Renderer
from mailintake.domain.businessdays import BusinessCalendar

if TYPE_CHECKING:
    from mailintake.config import Settings

MailerFactory = Callable[["Settings", TokenProvider | None], Mailer]
InboxFactory = Callable[["Settings", TokenProvider | None], Inbox]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    settings: Settings
    engine: sa.Engine
    blobs: BlobStore
    renderer: Renderer
    calendar: BusinessCalendar
    # The lock whose holder's death frees the outbox rows it claimed (`adapters.liveness`).
    liveness: Liveness
    # Chosen by the composition root (`bootstrap.mailer_for`, `bootstrap.inbox_for`).
    mailer_factory: MailerFactory = field(repr=False)
    inbox_factory: InboxFactory = field(repr=False)
    clock: Callable[[], datetime] = utc_now
    # OAuth2 (XOAUTH2) for IMAP and SMTP; its `healthy`/`last_error` feed /healthz and check.
    token_provider: TokenProvider | None = None
    # When a warning logged at most once an hour was last logged (kind → instant).
    warned_at: dict[str, datetime] = field(default_factory=dict)
    _mailer: Mailer | None = field(default=None, repr=False)

    @property
    def mailer(self) -> Mailer:
        """The mail transport, connected on first use (the outbox is its only caller)."""
        if self._mailer is None:
            self._mailer = self.mailer_factory(self.settings, self.token_provider)
        return self._mailer

    def open_inbox(self) -> Inbox:
        return self.inbox_factory(self.settings, self.token_provider)

    def close(self) -> None:
        if self._mailer is not None:
            self._mailer.close()
            self._mailer = None
        self.liveness.release()
        self.engine.dispose()
