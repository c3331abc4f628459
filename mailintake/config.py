"""Settings: read once from the environment and a `.env` file, validated (SPEC section 10).

Owns: the names, defaults and checks of every `MAILINTAKE_*` variable (the
client organisations of `config/clients.toml` are read by `clients`). A bad value raises `ConfigError` naming the variable.
Must not connect to anything; `bootstrap` turns settings into adapters.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import sqlalchemy as sa
from dotenv import dotenv_values

from mailintake.clients import Clients, load_clients
from mailintake.domain.recipients import is_deliverable
from mailintake.domain.staffauth import parse_auth_mode
from mailintake.errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent


def default_templates_dir() -> Path:
    """The shipped templates: inside the package when installed, else the checkout's."""
    installed = PACKAGE_DIR / "templates"
    return installed if installed.is_dir() else PACKAGE_DIR.parent / "templates"


@dataclass(frozen=True)
class Settings:
    state_dir: Path
    database_url: str
    inbox_url: str
    imap_password: str | None = None
    imap_starttls: bool = False
    imap_tls_verify: bool = True
    processed_folder: str = "Processed"
    quarantine_folder: str = "Quarantine"
    poll_seconds: float = 30.0
    imap_idle: bool = True
    smtp_url: str = ""
    smtp_user: str | None = None
    smtp_password: str | None = None
    oauth2_provider: str | None = None
    oauth2_tenant: str | None = None
    oauth2_client_id: str | None = None
    oauth2_client_secret: str | None = None
    oauth2_refresh_token: str | None = None
    support_address: str = "support@log-systems.com"
    staff: frozenset[str] = frozenset()
    staff_notify: frozenset[str] = frozenset()  # notices of tickets without an owner
    notify_new: bool = False  # also a notice of every new ticket
    max_attachments_mb: float = 18.0  # files mailed on with one message (~24 MB in base64)
    staff_auth: str = "none"
    ticket_prefix: str = "LOG"
    clients_file: Path = Path("config/clients.toml")
    templates_dir: Path = field(default_factory=default_templates_dir)
    max_message_mb: float = 50.0
    autoreply_per_hour: int = 10
    log_format: str = "auto"
    metrics_address: str | None = None
    business_opens: time = time(8)
    business_closes: time = time(16)
    closures: tuple[date, ...] = ()
    digest_time: time = time(7, 30)
    kb_logs_url: str | None = None
    clients: Clients = field(default_factory=Clients)

    @property
    def max_message_bytes(self) -> int:
        return int(self.max_message_mb * 1024 * 1024)

    @property
    def max_attachments_bytes(self) -> int:
        return int(self.max_attachments_mb * 1024 * 1024)

    @property
    def internal(self) -> frozenset[str]:
        """Addresses of our own people: staff and whoever gets staff notices."""
        return self.staff | self.staff_notify

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


DEFAULT_ENV_FILE = Path(".env")


def load_settings(
    env_file: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Settings from `environ` (default `os.environ`) over the settings file.

    `env_file` is `--env-file`: it must exist (`ConfigError` naming it otherwise); without
    it `./.env` is read when there is one.
    """
    if env_file is not None and not Path(env_file).exists():
        raise ConfigError(f"--env-file: no such file: {env_file}")
    path = Path(env_file) if env_file is not None else DEFAULT_ENV_FILE
    values: dict[str, str] = {}
    if env_file is not None or path.is_file():
        values.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    return settings_from(values)


def settings_from(env: Mapping[str, str]) -> Settings:
    r = _Reader(env)
    state_dir = Path(r.text("STATE_DIR", "./var")).expanduser()
    clients_file = r.clients_file("CLIENTS_FILE", Path("config/clients.toml"))
    staff = frozenset(r.addresses("STAFF"))
    settings = Settings(
        state_dir=state_dir,
        database_url=r.database_url("DATABASE_URL", f"sqlite:///{state_dir / 'mailintake.db'}"),
        inbox_url=r.url(
            "INBOX_URL", f"maildir://{state_dir / 'inbox'}", ("imap", "imaps", "maildir")
        ),
        imap_password=r.optional("IMAP_PASSWORD"),
        imap_starttls=r.boolean("IMAP_STARTTLS", False),
        imap_tls_verify=r.boolean("IMAP_TLS_VERIFY", True),
        processed_folder=r.text("PROCESSED_FOLDER", "Processed"),
        quarantine_folder=r.text("QUARANTINE_FOLDER", "Quarantine"),
        poll_seconds=r.number("POLL_SECONDS", 30.0, minimum=0.1),
        imap_idle=r.boolean("IMAP_IDLE", True),
        smtp_url=r.url(
            "SMTP_URL", f"file://{state_dir / 'outbox'}", ("smtp", "smtp+starttls", "smtps", "file")
        ),
        smtp_user=r.optional("SMTP_USER"),
        smtp_password=r.optional("SMTP_PASSWORD"),
        oauth2_provider=r.choice("OAUTH2_PROVIDER", None, ("microsoft", "google")),
        oauth2_tenant=r.optional("OAUTH2_TENANT"),
        oauth2_client_id=r.optional("OAUTH2_CLIENT_ID"),
        oauth2_client_secret=r.optional("OAUTH2_CLIENT_SECRET"),
        oauth2_refresh_token=r.optional("OAUTH2_REFRESH_TOKEN"),
        support_address=r.address("SUPPORT_ADDRESS", "support@log-systems.com"),
        staff=staff,
        staff_notify=_notified(r, staff),
        notify_new=r.boolean("NOTIFY_NEW", False),
        max_attachments_mb=r.number("MAX_ATTACHMENTS_MB", 18.0, minimum=0.001),
        staff_auth=r.staff_auth("STAFF_AUTH", "none"),
        ticket_prefix=r.prefix("TICKET_PREFIX", "LOG"),
        clients_file=clients_file,
        templates_dir=Path(r.text("TEMPLATES_DIR", str(default_templates_dir()))),
        max_message_mb=r.number("MAX_MESSAGE_MB", 50.0, minimum=0.001),
        autoreply_per_hour=int(r.number("AUTOREPLY_PER_HOUR", 10, minimum=0)),
        log_format=r.choice("LOG_FORMAT", "auto", ("auto", "json", "console")) or "auto",
        metrics_address=r.host_port("METRICS_ADDRESS"),
        business_opens=r.clock("BUSINESS_OPENS", time(8)),
        business_closes=r.clock("BUSINESS_CLOSES", time(16)),
        closures=tuple(r.dates("CLOSURES")),
        digest_time=r.clock("DIGEST_TIME", time(7, 30)),
        kb_logs_url=r.web_link("KB_LOGS_URL"),
        clients=load_clients(clients_file),
    )
    if settings.business_closes <= settings.business_opens:
        raise ConfigError("MAILINTAKE_BUSINESS_CLOSES must be later than MAILINTAKE_BUSINESS_OPENS")
    if not settings.templates_dir.is_dir():
        raise ConfigError(f"MAILINTAKE_TEMPLATES_DIR: no such directory: {settings.templates_dir}")
    _check_oauth2(settings)
    return settings


# What each MAILINTAKE_OAUTH2_PROVIDER needs: Microsoft's client credentials name the
# tenant; Google's refresh-token flow needs the mailbox user's refresh token.
_OAUTH2_REQUIRED = {
    "microsoft": ("TENANT", "CLIENT_ID", "CLIENT_SECRET"),
    "google": ("CLIENT_ID", "CLIENT_SECRET", "REFRESH_TOKEN"),
}


def _check_oauth2(settings: Settings) -> None:
    if settings.oauth2_provider is None:
        return
    for name in _OAUTH2_REQUIRED[settings.oauth2_provider]:
        if getattr(settings, f"oauth2_{name.lower()}") is None:
            raise ConfigError(
                f"MAILINTAKE_OAUTH2_{name}: required with "
                f"MAILINTAKE_OAUTH2_PROVIDER={settings.oauth2_provider}"
            )


class _Reader:
    """Reads `MAILINTAKE_<NAME>` values and names the variable in every error."""

    def __init__(self, env: Mapping[str, str]):
        self.env = env

    def optional(self, name: str) -> str | None:
        value = self.env.get(f"MAILINTAKE_{name}", "").strip()
        return value or None

    def text(self, name: str, default: str) -> str:
        return self.optional(name) or default

    def fail(self, name: str, problem: str) -> NoReturn:
        raise ConfigError(f"MAILINTAKE_{name}: {problem}")

    def boolean(self, name: str, default: bool) -> bool:
        value = self.optional(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        self.fail(name, f"expected true or false, got {value!r}")

    def number(self, name: str, default: float, minimum: float) -> float:
        value = self.optional(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            self.fail(name, f"expected a number, got {value!r}")
        if number < minimum:
            self.fail(name, f"must be at least {minimum:g}, got {value!r}")
        return number

    def choice(self, name: str, default: str | None, allowed: tuple[str, ...]) -> str | None:
        value = self.optional(name)
        if value is None:
            return default
        if value.lower() not in allowed:
            self.fail(name, f"expected one of {', '.join(allowed)}, got {value!r}")
        return value.lower()

    def url(self, name: str, default: str, schemes: tuple[str, ...]) -> str:
        value = self.text(name, default)
        scheme = value.partition("://")[0].lower()
        if "://" not in value or scheme not in schemes:
            self.fail(
                name, f"expected a URL starting with {' or '.join(s + '://' for s in schemes)}"
            )
        return value

    def web_link(self, name: str) -> str | None:
        """An optional http(s) URL people click in a mail, with a host."""
        value = self.optional(name)
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname or " " in value:
            self.fail(name, f"expected an http:// or https:// link, got {value!r}")
        return value

    def address(self, name: str, default: str) -> str:
        value = self.text(name, default).strip().lower()
        if not _looks_like_address(value):
            self.fail(name, f"not an e-mail address: {value!r}")
        return value

    def addresses(self, name: str) -> list[str]:
        """A list joined by commas or semicolons (Outlook's separator), lower-cased."""
        written = re.split(r"[,;]", self.optional(name) or "")
        found = [a.strip(" \t").lower() for a in written if a.strip(" \t")]
        for address in found:
            if not is_deliverable(address) or address.count("@") != 1:
                self.fail(name, f"not an e-mail address: {address!r}")
        return found

    def staff_auth(self, name: str, default: str) -> str:
        """Read by the rule the sender check itself uses (`domain.staffauth.parse_auth_mode`)."""
        value = self.text(name, default)
        try:
            parse_auth_mode(value)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        return value

    def host_port(self, name: str) -> str | None:
        value = self.optional(name)
        if value is not None:
            try:
                split_host_port(value)
            except ValueError as exc:
                self.fail(name, str(exc))
        return value

    def database_url(self, name: str, default: str) -> str:
        """Any SQLAlchemy URL whose dialect and driver are installed; the password never shown."""
        value = self.text(name, default)
        try:
            url = sa.engine.make_url(value)
        except sa.exc.ArgumentError:
            self.fail(name, "not a database URL (e.g. postgresql+psycopg://user@host/db)")
        try:
            url.get_dialect().import_dbapi()
        except (sa.exc.NoSuchModuleError, ImportError) as exc:
            shown = url.render_as_string(hide_password=True)
            self.fail(name, f"cannot use {shown}: {exc} (PostgreSQL: postgresql+psycopg://…)")
        return value

    def clients_file(self, name: str, default: Path) -> Path:
        """A file named on purpose must exist; the default may be missing (default plan)."""
        value = self.optional(name)
        if value is None:
            return default
        path = Path(value).expanduser()
        if not path.is_file():
            self.fail(name, f"no such file: {path}")
        return path

    def prefix(self, name: str, default: str) -> str:
        value = self.text(name, default)
        if not value.isalnum() or not value.isascii():
            self.fail(name, f"expected letters and digits only, got {value!r}")
        return value.upper()

    def clock(self, name: str, default: time) -> time:
        value = self.optional(name)
        if value is None:
            return default
        try:
            return time.fromisoformat(value)
        except ValueError:
            self.fail(name, f"expected a time like 08:00, got {value!r}")

    def dates(self, name: str) -> list[date]:
        found = []
        for item in (self.optional(name) or "").split(","):
            if item.strip():
                try:
                    found.append(date.fromisoformat(item.strip()))
                except ValueError:
                    self.fail(name, f"expected dates like 2026-12-31, got {item.strip()!r}")
        return found


def split_host_port(address: str) -> tuple[str, int]:
    """`host:port` or `[v6]:port` → (host, port); `ValueError` saying what is wrong."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"expected host:port (port 0-65535), got {address!r}")
    return host, int(port)


def _notified(r: _Reader, staff: frozenset[str]) -> frozenset[str]:
    """MAILINTAKE_STAFF_NOTIFY, else all staff. Each must be staff: a notice's reader
    answers it into the ticket, which only staff can (anyone else opens a ticket)."""
    notified = frozenset(r.addresses("STAFF_NOTIFY"))
    outside = sorted(notified - staff)
    if outside:
        r.fail("STAFF_NOTIFY", f"not in MAILINTAKE_STAFF, so they could not answer: "
                               f"{', '.join(outside)}")  # fmt: skip
    return notified or staff


def _looks_like_address(value: str) -> bool:
    local, at, domain = value.partition("@")
    return bool(local and at and "." in domain and " " not in value)
