"""Sending mail: SMTP (smtplib) or a directory of `.eml` files.

This module owns handing one finished message to the outside world and telling
the caller whether a retry can help: a refused recipient (SMTP 5xx) raises
`PermanentSendError`; a server that is down or answers 4xx raises
`TransientError`. It must not build, render or queue messages: the outbox service
is its only caller and owns retries and backoff (SPEC §5). Passwords never reach
the log.
"""

from __future__ import annotations

import hashlib
import os
import smtplib
import ssl
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn, Protocol
from urllib.parse import urlsplit

import structlog

from mailintake.adapters.files import write_atomically
from mailintake.adapters.oauth2 import TokenProvider, xoauth2_string
from mailintake.adapters.tls import client_context
from mailintake.errors import ConfigError, TransientError

log = structlog.get_logger()


class PermanentSendError(Exception):
    """A recipient or the message was refused (5xx): retrying will not help."""

    def __init__(self, message: str, refused: dict[str, tuple[int, bytes]] | None = None) -> None:
        super().__init__(message)
        self.refused = refused or {}


class Mailer(Protocol):
    def send(self, sender: str, recipients: Sequence[str], raw: bytes) -> None:
        """Deliver *raw* unchanged; raise PermanentSendError or TransientError."""
        ...

    def check(self) -> None:
        """Reach the server (or directory); raise with a precise reason when that fails."""
        ...

    def close(self) -> None: ...


def open_mailer(
    url: str,
    *,
    user: str | None = None,
    password: str | None = None,
    tls_verify: bool = True,
    token_provider: TokenProvider | None = None,
) -> Mailer:
    """The mailer for *url*: `smtp://`, `smtp+starttls://`, `smtps://host:port` or `file://dir`.

    With *token_provider* (and *user*) the SMTP login is XOAUTH2 instead of the password.
    """
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "file":
        return FileMailer(Path(url[len("file://") :]))
    if scheme in SMTP_PORTS:
        parts = urlsplit(url)
        try:
            port = parts.port or SMTP_PORTS[scheme]
        except ValueError as exc:
            raise ConfigError(f"MAILINTAKE_SMTP_URL: bad port in {url!r}") from exc
        if not parts.hostname:
            raise ConfigError(f"MAILINTAKE_SMTP_URL: no host in {url!r}")
        return SmtpMailer(
            scheme,
            parts.hostname,
            port,
            user=user,
            password=password,
            ssl_context=client_context(tls_verify),
            token_provider=token_provider,
        )
    raise ConfigError(
        f"MAILINTAKE_SMTP_URL: unsupported scheme in {url!r} (smtp, smtp+starttls, smtps, file)"
    )


# Submission defaults: RFC 8314 (465 implicit TLS), RFC 6409 (587 submission).
SMTP_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
SMTP_TIMEOUT = 30  # seconds any one SMTP exchange may block (systemd's TimeoutStopSec allows it)
IDLE_CHECK_AFTER = 10.0  # seconds a kept SMTP connection may rest before a NOOP checks it


# --- SMTP ----------------------------------------------------------------------------------


# "Log in first" (530, RFC 4954 section 6), "mechanism too weak" (534), "encryption required"
# (538): about our account and the relay's policy, the same for every message, so no message
# fails for it; the outbox retries until the login or the URL is fixed.
ACCOUNT_CODES = frozenset({530, 534, 538})


def _is_permanent(code: int) -> bool:
    if code in ACCOUNT_CODES:
        return False
    return 500 <= code < 600  # RFC 5321 §4.2.1: 5yz is a permanent negative completion


def _xoauth2(smtp: smtplib.SMTP, user: str, token: str) -> None:
    # A 334 after the initial response carries a JSON error; the client answers it with an
    # empty line and the server then sends 535 (Google's XOAUTH2 protocol description).
    smtp.auth(
        "XOAUTH2",
        lambda challenge=None: xoauth2_string(user, token) if challenge is None else "",
        initial_response_ok=True,
    )


class SmtpMailer:
    """One kept-open SMTP connection, reopened when the server dropped it."""

    def __init__(
        self,
        scheme: str,
        host: str,
        port: int,
        *,
        user: str | None,
        password: str | None,
        ssl_context: ssl.SSLContext,
        token_provider: TokenProvider | None = None,
    ) -> None:
        self.scheme, self.host, self.port = scheme, host, port
        self._user, self._password = user, password
        self._tokens = token_provider
        self._ssl_context = ssl_context
        self._smtp: smtplib.SMTP | None = None
        self._last_used = 0.0

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def _connect(self) -> smtplib.SMTP:
        try:
            return self._open()
        except smtplib.SMTPAuthenticationError as exc:
            # Not permanent for the message: the outbox keeps it until the login is fixed.
            raise TransientError(
                f"SMTP login refused by {self} (check MAILINTAKE_SMTP_USER/PASSWORD): "
                f"{exc.smtp_code} {exc.smtp_error!r}"
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientError(f"cannot connect to {self}: {exc}") from exc

    def _open(self) -> smtplib.SMTP:
        if self.scheme == "smtps":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=SMTP_TIMEOUT, context=self._ssl_context
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT)
        try:
            smtp.ehlo()
            if self.scheme == "smtp+starttls":
                smtp.starttls(context=self._ssl_context)
                smtp.ehlo()
            if self._user and self._tokens is not None:
                self._oauth2_login(smtp, self._user, self._tokens)
            elif self._user:
                smtp.login(self._user, self._password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _oauth2_login(self, smtp: smtplib.SMTP, user: str, tokens: TokenProvider) -> None:
        """AUTH XOAUTH2 with the initial response; a refused token is renewed once."""
        try:
            _xoauth2(smtp, user, tokens.token())
        except smtplib.SMTPAuthenticationError:
            tokens.invalidate()
            try:
                _xoauth2(smtp, user, tokens.token())
            except smtplib.SMTPAuthenticationError as exc:
                reason = (
                    f"SMTP XOAUTH2 login refused for {user} by {self} with a fresh token: "
                    f"{exc.smtp_code} {exc.smtp_error!r}"
                )
                tokens.login_failed(reason)
                raise TransientError(reason) from exc
        tokens.login_succeeded()

    def _session(self) -> smtplib.SMTP:
        """The open connection; after a pause it is checked with NOOP so a send never runs on a
        link the server closed meanwhile (a NOOP before every message would cost a round trip)."""
        if self._smtp is not None:
            if time.monotonic() - self._last_used < IDLE_CHECK_AFTER:
                return self._smtp
            try:
                if self._smtp.noop()[0] == 250:
                    return self._smtp
            except (OSError, smtplib.SMTPException):
                pass  # the server closed an idle connection: open a new one below
            self._drop()
        self._smtp = self._connect()
        return self._smtp

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    def send(self, sender: str, recipients: Sequence[str], raw: bytes) -> None:
        for attempt in (1, 2):
            reused = self._smtp is not None
            smtp = self._session()
            try:
                refused = smtp.sendmail(sender, list(recipients), raw)
                break
            except smtplib.SMTPRecipientsRefused as exc:
                self._refused(exc.recipients, delivered=False)
            except smtplib.SMTPResponseException as exc:  # MAIL FROM or DATA refused
                self._rejected(exc)
            except (OSError, smtplib.SMTPException) as exc:
                self._drop()
                if reused and attempt == 1:
                    continue  # the server closed a kept connection: once more on a new one
                raise TransientError(f"sending through {self} failed: {exc}") from exc
        self._last_used = time.monotonic()
        if refused:
            self._refused(refused, delivered=True)
        log.info("mailer.sent", server=str(self), recipients=len(recipients), size=len(raw))

    def _rejected(self, exc: smtplib.SMTPResponseException) -> NoReturn:
        text = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        reason = f"{self} answered {exc.smtp_code} {text}"
        if exc.smtp_code in ACCOUNT_CODES:
            self._drop()  # the next attempt connects and logs in afresh
            reason += " (check MAILINTAKE_SMTP_URL/USER/PASSWORD)"
        if _is_permanent(exc.smtp_code):
            raise PermanentSendError(reason) from exc
        raise TransientError(reason) from exc

    def _refused(self, refused: dict[str, tuple[int, bytes]], *, delivered: bool) -> NoReturn:
        codes = ", ".join(f"{rcpt}: {code}" for rcpt, (code, _) in refused.items())
        log.warning("mailer.refused", server=str(self), refused=codes, delivered=delivered)
        if delivered:
            # The others already have it: a retry would send them a second copy.
            raise PermanentSendError(f"refused ({codes}); delivered to the others", refused)
        if all(_is_permanent(code) for code, _ in refused.values()):
            raise PermanentSendError(f"all recipients refused ({codes})", refused)
        raise TransientError(f"recipients deferred ({codes})")

    def check(self) -> None:
        self._drop()
        self._session()
        log.info("mailer.checked", server=str(self))

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


# --- file:// -------------------------------------------------------------------------------


class FileMailer:
    """Writes each message unchanged to `<dir>/<UTC time>-<sha12>.eml` (development, tests)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, sender: str, recipients: Sequence[str], raw: bytes) -> None:
        self._ensure_dir()
        envelope = "\0".join([sender, *recipients]).encode() + b"\0"
        digest = hashlib.sha256(envelope + raw).hexdigest()[:12]
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = self.directory / f"{stamp}-{digest}.eml"
        try:
            write_atomically(target, raw, suffix=".eml")
        except OSError as exc:
            raise TransientError(f"cannot write {target}: {exc}") from exc
        log.info("mailer.written", path=str(target), recipients=len(recipients), size=len(raw))

    def _ensure_dir(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TransientError(f"cannot create {self.directory}: {exc}") from exc

    def check(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = f"MAILINTAKE_SMTP_URL: cannot create {self.directory}: {exc}"
            raise ConfigError(reason) from exc
        if not os.access(self.directory, os.W_OK | os.X_OK):
            raise ConfigError(f"MAILINTAKE_SMTP_URL: {self.directory} is not writable")

    def close(self) -> None:
        return None
