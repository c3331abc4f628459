"""The composition root: settings in, a ready `App` out.

Owns: the only place that picks concrete adapters (database engine, blob
store, renderer, calendar, mailbox and mail transport) and re-reading the
settings files on SIGHUP. Services receive the `App` (`mailintake.app`) and
never import this module or build adapters themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

import sqlalchemy as sa

from mailintake.adapters import db, migrate
from mailintake.adapters.blobs import BlobStore
from mailintake.adapters.inbox import Inbox, open_inbox
from mailintake.adapters.liveness import liveness_for
from mailintake.adapters.mailer import Mailer, open_mailer
from mailintake.adapters.oauth2 import TokenProvider, make_token_provider, smtp_uses_oauth2
from mailintake.adapters.render import Renderer
from mailintake.app import App, utc_now
from mailintake.clients import load_clients
from mailintake.config import Settings
from mailintake.domain.businessdays import BusinessCalendar
from mailintake.errors import StateError


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


def build_app(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utc_now,
    migrate_db: bool | None = None,
    read_only: bool = False,
) -> App:
    """Build the app; SQLite databases are migrated on the spot unless told otherwise.

    `read_only` (the commands that only show things) never creates state: without an
    SQLite database file it raises `StateError` saying where it looked.
    """
    if read_only:
        require_database_file(settings)
    else:
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
        liveness=liveness_for(engine, settings.state_dir),
        mailer_factory=mailer_for,
        inbox_factory=inbox_for,
        clock=clock,
        token_provider=make_token_provider(settings),
    )


def require_database_file(settings: Settings) -> None:
    """An SQLite database must exist already; raises `StateError` naming where it looked."""
    path = db.sqlite_path(settings.database_url)
    if path is not None and not path.is_file():
        raise StateError(
            f"no database at {path.resolve()}: set MAILINTAKE_STATE_DIR to the daemon's state "
            "directory (or MAILINTAKE_DATABASE_URL), or run where its ./var is"
        )


def require_current_schema(engine: sa.Engine) -> None:
    """The schema must be at the newest migration; raises `StateError` saying what to run."""
    pending = migrate.pending(engine)
    if pending:
        raise StateError(
            f"database schema is not current ({len(pending)} migrations pending): "
            "run `mailintake db upgrade`"
        )


def reload(app: App) -> None:
    """Re-read the notice templates and the clients file (SIGHUP); a bad file raises first."""
    clients = load_clients(app.settings.clients_file)  # ConfigError: nothing changed yet
    app.renderer.reload()
    app.settings = replace(app.settings, clients=clients)
