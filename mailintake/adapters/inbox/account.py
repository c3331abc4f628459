"""The IMAP account named by `MAILINTAKE_INBOX_URL` (`imap[s]://user@host[:port]/FOLDER`).

Owns: reading the URL into host, port, TLS, user, password and folder. Must not
connect (`imap.ImapInbox` does) or show the password in `str()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from mailintake.errors import ConfigError


@dataclass(frozen=True)
class ImapAccount:
    """Where and as whom to read: from `MAILINTAKE_INBOX_URL`; `str()` never shows the password."""

    host: str
    port: int
    tls: bool
    user: str
    password: str
    folder: str

    def __str__(self) -> str:  # used in logs and errors: never the password
        scheme = "imaps" if self.tls else "imap"
        return f"{scheme}://{self.user}@{self.host}:{self.port}/{self.folder}"


def imap_account(url: str, password: str | None) -> ImapAccount:
    """The account of an `imap[s]://user@host[:port]/FOLDER` URL; `password` wins over the URL's.

    Raises `ConfigError` naming the variable when the URL lacks a host or user or has a bad port.
    """
    parts = urlsplit(url)
    tls = parts.scheme.lower() == "imaps"
    try:
        port = parts.port or (993 if tls else 143)
    except ValueError as exc:
        raise ConfigError(f"MAILINTAKE_INBOX_URL: bad port in {url!r}") from exc
    if not parts.hostname or not parts.username:
        raise ConfigError("MAILINTAKE_INBOX_URL: needs imap[s]://user@host[:port]/FOLDER")
    secret = password if password is not None else unquote(parts.password or "")
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    return ImapAccount(parts.hostname, port, tls, unquote(parts.username), secret, folder)
