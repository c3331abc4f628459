"""The composition root: settings in, a ready `App` out.

Owns: the only place that picks concrete adapters (database engine, blob
store, renderer, calendar, mailbox and mail transport). Services receive the
`App` and never build adapters themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import sqlalchemy as sa

from mailintake.adapters import db, migrate
from mailintake.adapters.blobs import BlobStore
from mailintake.adapters.inbox import Inbox, open_inbox
from mailintake.adapters.mailer import Mailer, open_mailer
from mailintake.adapters.oauth2 import TokenProvider, make_token_provider, smtp_uses_oauth2
from mailintake.adapters.render import Renderer
from mailintake.config import Settings, load_clients
from mailintake.domain.businessdays import BusinessCalendar


def utc_now() -> datetime:
    return datetime.now(UTC)


def inbox_for(s: Settings, token_provider: TokenProvider | None) -> Inbox:
    """The mailbox named by the settings (IMAP or Maildir)."""
    return open_inbox(
        s.inbox_url,
        password=s.imap_password,
        starttls=s.imap_starttls,
        tls_verify=s.imap_tls_verify,
        processed_folder=s.processed_folder,
        quarantine_folder=s.quarantine_folder,
        idle=s.imap_idle,
        token_provider=token_provider,
    )


def mailer_for(s: Settings, token_provider: TokenProvider | None) -> Mailer:
    """The mail transport named by the settings (SMTP or .eml files)."""
    return open_mailer(
        s.smtp_url,
        user=s.smtp_user,
        password=s.smtp_password,
        token_provider=token_provider if smtp_uses_oauth2(s) else None,
    )


@dataclass
class App:
    settings: Settings
    engine: sa.Engine
    blobs: BlobStore
    renderer: Renderer
    calendar: BusinessCalendar
    clock: Callable[[], datetime] = utc_now
    # OAuth2 (XOAUTH2) for IMAP and SMTP; its `healthy`/`last_error` feed /healthz and check.
    token_provider: TokenProvider | None = None
    _mailer: Mailer | None = field(default=None, repr=False)

    @property
    def mailer(self) -> Mailer:
        """The mail transport, connected on first use (the outbox is its only caller)."""
        if self._mailer is None:
            self._mailer = mailer_for(self.settings, self.token_provider)
        return self._mailer

    def open_inbox(self) -> Inbox:
        return inbox_for(self.settings, self.token_provider)

    def reload(self) -> None:
        """Re-read the notice templates and the clients file (SIGHUP); a bad file raises first."""
        clients = load_clients(self.settings.clients_file)  # ConfigError: nothing changed yet
        self.renderer.reload()
        self.settings = replace(self.settings, clients=clients)

    def close(self) -> None:
        if self._mailer is not None:
            self._mailer.close()
            self._mailer = None
        self.engine.dispose()


def build_app(
    settings: Settings, *, clock: Callable[[], datetime] = utc_now, migrate_db: bool | None = None
) -> App:
    """Build the app; SQLite databases are migrated on the spot unless told otherwise."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    engine = db.make_engine(settings.database_url)
    if migrate_db if migrate_db is not None else settings.is_sqlite:
        migrate.upgrade(engine)
    return App(
        settings=settings,
        engine=engine,
        blobs=BlobStore(settings.state_dir / "blobs"),
        renderer=Renderer(settings.templates_dir),
        calendar=BusinessCalendar(
            opens=settings.business_opens,
            closes=settings.business_closes,
            closures=settings.closures,
        ),
        clock=clock,
        token_provider=make_token_provider(settings),
    )
