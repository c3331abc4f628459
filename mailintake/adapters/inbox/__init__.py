"""The mailbox we read client mail from: IMAP (imapclient) or a local Maildir.

This module owns listing the waiting messages oldest first, reading them without
marking them seen, moving them to the processed or quarantine folder, and waiting
for new mail (IMAP IDLE or a sleep). It must not decide anything about a message:
what is processed, quarantined or kept is the services' call. Nothing here ever
deletes mail (SPEC §5): handled messages are moved, never expunged elsewhere.

Connection faults raise `TransientError` so the caller retries with its own
backoff; the next call reconnects. Passwords never reach the log.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TypeVar
from urllib.parse import unquote, urlsplit

import structlog
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from mailintake.adapters.oauth2 import TokenProvider
from mailintake.adapters.tls import client_context
from mailintake.errors import ConfigError, TransientError

log = structlog.get_logger()
T = TypeVar("T")


@dataclass(frozen=True)
class InboxItem:
    """One waiting message; `raw` is None when it is larger than the caller's limit."""

    ref: str  # stable id: IMAP "imap:<uidvalidity>:<uid>", Maildir the unique file name part
    raw: bytes | None
    size: int
    received_at: datetime  # aware UTC: IMAP INTERNALDATE, Maildir delivery (file mtime)


class Inbox(Protocol):
    def fetch(self, max_bytes: int, batch: int = 100) -> Iterator[InboxItem]:
        """Every waiting message, oldest first; oversize ones with `raw=None`."""
        ...

    def mark_processed(self, refs: Sequence[str]) -> None:
        """Move the messages to the processed folder (created if missing)."""
        ...

    def quarantine(self, refs: Sequence[str]) -> None:
        """Move the messages to the quarantine folder (created if missing)."""
        ...

    def wait(self, timeout: float, stop: threading.Event) -> None:
        """Return when new mail may be waiting, *stop* is set, or *timeout* passed."""
        ...

    def check(self) -> None:
        """Connect and open the mailbox; raise with a precise reason when that fails."""
        ...

    def close(self) -> None: ...


def open_inbox(
    url: str,
    *,
    password: str | None = None,
    starttls: bool = False,
    tls_verify: bool = True,
    processed_folder: str = "Processed",
    quarantine_folder: str = "Quarantine",
    idle: bool = True,
    token_provider: TokenProvider | None = None,
) -> Inbox:
    """The inbox for *url*: `imap://user@host:port/FOLDER`, `imaps://…` or `maildir://path`.

    With *token_provider* the IMAP login is XOAUTH2 with its token instead of the password.
    """
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "maildir":
        return MaildirInbox(Path(url[len("maildir://") :]), processed_folder, quarantine_folder)
    if scheme in ("imap", "imaps"):
        return ImapInbox(
            _imap_account(url, password),
            ssl_context=client_context(tls_verify),
            starttls=starttls,
            folders=(processed_folder, quarantine_folder),
            idle=idle,
            token_provider=token_provider,
        )
    raise ConfigError(f"MAILINTAKE_INBOX_URL: unsupported scheme in {url!r} (imap, imaps, maildir)")


# --- IMAP ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImapAccount:
    host: str
    port: int
    tls: bool
    user: str
    password: str
    folder: str

    def __str__(self) -> str:  # used in logs and errors: never the password
        scheme = "imaps" if self.tls else "imap"
        return f"{scheme}://{self.user}@{self.host}:{self.port}/{self.folder}"


def _imap_account(url: str, password: str | None) -> ImapAccount:
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


def uid_set(uids: Sequence[int]) -> str:
    """A compact IMAP sequence set (RFC 3501 §9 `sequence-set`): [1,2,3,7] -> "1:3,7"."""
    ordered = sorted(set(uids))
    runs: list[str] = []
    start = prev = ordered[0]
    for uid in [*ordered[1:], None]:
        if uid is not None and uid == prev + 1:
            prev = uid
            continue
        runs.append(str(start) if start == prev else f"{start}:{prev}")
        if uid is not None:
            start = prev = uid
    return ",".join(runs)


LIST_CHUNK = 2000

# Faults of the link or the server, as opposed to a refused command (IMAPClientError).
_CONNECTION_ERRORS = (OSError, IMAPClientAbortError, socket.timeout)


class ImapInbox:
    """An IMAP folder read with UIDs; refs carry UIDVALIDITY (RFC 3501 §2.3.1.1)."""

    def __init__(
        self,
        account: ImapAccount,
        *,
        ssl_context: ssl.SSLContext,
        starttls: bool,
        folders: tuple[str, str],
        idle: bool,
        token_provider: TokenProvider | None = None,
    ) -> None:
        self.account = account
        self._tokens = token_provider
        self._ssl_context = ssl_context
        self._starttls = starttls
        self._processed, self._quarantine = folders
        self._idle = idle
        self._client: IMAPClient | None = None
        self._uidvalidity = 0
        self._uidnext_seen = 0  # UIDNEXT when we last listed the folder: newer mail wakes wait()
        self._known_folders: set[str] = set()

    # connection -----------------------------------------------------------------

    def _connect(self) -> IMAPClient:
        try:
            client = IMAPClient(
                self.account.host,
                self.account.port,
                ssl=self.account.tls,
                ssl_context=self._ssl_context,
                timeout=30,
            )
        except _CONNECTION_ERRORS as exc:
            raise TransientError(f"cannot connect to {self.account}: {exc}") from exc
        client._imap.debug = 0  # imapclient sets 5, which makes bulk FETCH 5-7 times slower
        client.normalise_times = False  # keep INTERNALDATE's zone: we convert to UTC ourselves
        try:
            self._login(client)
            self._select(client)
        except _CONNECTION_ERRORS as exc:
            client.shutdown()
            raise TransientError(f"IMAP connection to {self.account} failed: {exc}") from exc
        except BaseException:
            client.shutdown()
            raise
        return client

    def _login(self, client: IMAPClient) -> None:
        try:
            if self._starttls:
                client.starttls(self._ssl_context)
            if self._tokens is not None:
                self._oauth2_login(client, self._tokens)
            else:
                client.login(self.account.user, self.account.password)
        except LoginError as exc:
            raise TransientError(
                f"IMAP login refused for {self.account} (check MAILINTAKE_IMAP_PASSWORD): {exc}"
            ) from exc
        except _CONNECTION_ERRORS as exc:
            raise TransientError(f"IMAP connection to {self.account} failed: {exc}") from exc
        except IMAPClientError as exc:  # e.g. STARTTLS not offered
            raise TransientError(f"IMAP session setup for {self.account} failed: {exc}") from exc

    def _oauth2_login(self, client: IMAPClient, tokens: TokenProvider) -> None:
        """XOAUTH2 login; a refused cached token (revoked, expired early) is renewed once."""
        try:
            client.oauth2_login(self.account.user, tokens.token())
        except LoginError:
            tokens.invalidate()
            try:
                client.oauth2_login(self.account.user, tokens.token())
            except LoginError as exc:
                reason = f"IMAP XOAUTH2 login refused for {self.account} with a fresh token: {exc}"
                tokens.login_failed(reason)
                raise TransientError(reason) from exc
        tokens.login_succeeded()

    def _select(self, client: IMAPClient) -> dict[bytes, object]:
        try:
            info = client.select_folder(self.account.folder)
        except IMAPClientError as exc:
            if isinstance(exc, IMAPClientAbortError):
                raise
            raise ConfigError(
                f"MAILINTAKE_INBOX_URL: cannot open folder {self.account.folder!r}: {exc}"
            ) from exc
        uidvalidity = int(info[b"UIDVALIDITY"])
        if self._uidvalidity and uidvalidity != self._uidvalidity:
            log.warning("inbox.uidvalidity_changed", old=self._uidvalidity, new=uidvalidity)
        self._uidvalidity = uidvalidity
        return info

    def _session(self) -> IMAPClient:
        if self._client is None:
            self._client = self._connect()
            self._known_folders = set()
        return self._client

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(*_CONNECTION_ERRORS):  # the link is gone already
                client.shutdown()

    def _call(self, action: str, fn: Callable[..., T], *args: object) -> T:
        """Run fn(client, *args); a stale link is retried once on a fresh connection."""
        for attempt in (1, 2):
            fresh = self._client is None
            client = self._session()
            try:
                return fn(client, *args)
            except _CONNECTION_ERRORS as exc:
                self._drop()
                if fresh or attempt == 2:
                    raise TransientError(f"IMAP {action} on {self.account} failed: {exc}") from exc
                log.info("inbox.reconnect", action=action, reason=str(exc))
        raise AssertionError("unreachable")

    # reading ----------------------------------------------------------------------

    def _list(self, client: IMAPClient) -> list[tuple[datetime, int, int]]:
        info = self._select(client)
        self._uidnext_seen = int(info.get(b"UIDNEXT", 0))
        # Everything in the folder is waiting: handled mail is moved away (SPEC §5).
        uids = client.search("ALL")
        if not uids:
            return []
        items = []
        # Chunks keep the command line short (Dovecot's imap_max_line_length is 64 kB).
        for start in range(0, len(uids), LIST_CHUNK):
            data = client.fetch(uids[start : start + LIST_CHUNK], ["RFC822.SIZE", "INTERNALDATE"])
            items += [
                (_as_utc(d[b"INTERNALDATE"]), uid, int(d[b"RFC822.SIZE"]))
                for uid, d in data.items()
            ]
        return sorted(items)

    def fetch(self, max_bytes: int, batch: int = 100) -> Iterator[InboxItem]:
        listed = self._call("list", self._list)
        log.info("inbox.listed", mailbox=str(self.account), count=len(listed))
        uidvalidity = self._uidvalidity
        for start in range(0, len(listed), batch):
            chunk = listed[start : start + batch]
            wanted = [uid for _, uid, size in chunk if size <= max_bytes]
            bodies = self._call("fetch", self._bodies, wanted) if wanted else {}
            if self._uidvalidity != uidvalidity:  # reconnected to a renumbered folder
                raise TransientError(f"UIDVALIDITY of {self.account} changed while reading")
            for received_at, uid, size in chunk:
                raw = bodies.get(uid) if size <= max_bytes else None
                if size <= max_bytes and raw is None:
                    continue  # expunged by someone else since we listed it
                yield InboxItem(f"imap:{uidvalidity}:{uid}", raw, size, received_at)
        log.info("inbox.fetched", mailbox=str(self.account), count=len(listed))

    @staticmethod
    def _bodies(client: IMAPClient, uids: list[int]) -> dict[int, bytes]:
        # BODY.PEEK[] leaves \Seen alone (RFC 3501 §6.4.5): a human may share this mailbox.
        data = client.fetch(uids, ["BODY.PEEK[]"])
        return {uid: d[b"BODY[]"] for uid, d in data.items() if b"BODY[]" in d}

    # moving -------------------------------------------------------------------------

    def mark_processed(self, refs: Sequence[str]) -> None:
        self._move(refs, self._processed)

    def quarantine(self, refs: Sequence[str]) -> None:
        self._move(refs, self._quarantine)

    def _move(self, refs: Sequence[str], folder: str) -> None:
        if not refs:
            return
        self._session()  # learn the current UIDVALIDITY before judging refs
        uids = self._uids_of(refs)
        if uids:
            self._call("move", self._move_uids, uids, folder)
        log.info("inbox.moved", mailbox=str(self.account), folder=folder, count=len(uids))

    def _uids_of(self, refs: Sequence[str]) -> list[int]:
        uids = []
        for ref in refs:
            kind, uidvalidity, uid = ref.split(":")
            if kind != "imap":
                raise ValueError(f"not an IMAP ref: {ref!r}")
            if int(uidvalidity) != self._uidvalidity:
                # A UID from another UIDVALIDITY names a different message now (RFC 3501 §2.3.1.1).
                log.warning("inbox.stale_ref", ref=ref, uidvalidity=self._uidvalidity)
                continue
            uids.append(int(uid))
        return uids

    def _move_uids(self, client: IMAPClient, uids: list[int], folder: str) -> None:
        self._ensure_folder(client, folder)
        uids_text = uid_set(uids)
        if client.has_capability("MOVE"):
            client.move(uids_text, folder)  # RFC 6851
            return
        client.copy(uids_text, folder)
        client.add_flags(uids, [b"\\Deleted"], silent=True)
        if client.has_capability("UIDPLUS"):
            client.uid_expunge(uids_text)  # RFC 4315: expunge exactly these UIDs
        else:
            client.expunge()

    def _ensure_folder(self, client: IMAPClient, folder: str) -> None:
        if folder in self._known_folders:
            return
        if not client.folder_exists(folder):
            client.create_folder(folder)
            log.info("inbox.folder_created", mailbox=str(self.account), folder=folder)
        self._known_folders.add(folder)

    # waiting ---------------------------------------------------------------------------

    def wait(self, timeout: float, stop: threading.Event) -> None:
        deadline = time.monotonic() + timeout
        client = self._session()
        if not (self._idle and client.has_capability("IDLE")):
            stop.wait(timeout)
            return
        self._call("idle", self._idle_until, deadline, stop)

    def _idle_until(self, client: IMAPClient, deadline: float, stop: threading.Event) -> None:
        info = self._select(client)
        if int(info.get(b"UIDNEXT", 0)) > self._uidnext_seen:
            return  # mail arrived after the last fetch: no need to idle
        client.idle()  # RFC 2177
        try:
            self._idle_loop(client, deadline, stop)
        finally:
            client.idle_done()

    @staticmethod
    def _idle_loop(client: IMAPClient, deadline: float, stop: threading.Event) -> None:
        early_empty = 0
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            step = min(left, 1.0)  # check the stop event at least every second
            started = time.monotonic()
            responses = client.idle_check(timeout=step)
            if any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                return
            # idle_check swallows EOF and returns at once: a dead link looks like that.
            early_empty = (
                early_empty + 1 if not responses and (time.monotonic() - started < step / 2) else 0
            )
            if early_empty >= 3:
                raise ConnectionError("connection closed during IDLE")

    # health ------------------------------------------------------------------------------

    def check(self) -> None:
        self._drop()
        self._session()
        log.info("inbox.checked", mailbox=str(self.account), uidvalidity=self._uidvalidity)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except (*_CONNECTION_ERRORS, IMAPClientError):
            client.shutdown()


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:  # RFC 3501 INTERNALDATE always has a zone; be safe anyway
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# --- Maildir -------------------------------------------------------------------------------


class MaildirInbox:
    """A Maildir (new/ and cur/); processed and quarantine are Maildir++ subfolders."""

    def __init__(self, path: Path, processed_folder: str, quarantine_folder: str) -> None:
        self.path = path
        self._processed = path / f".{processed_folder}"
        self._quarantine = path / f".{quarantine_folder}"
        _make_maildir(path)

    def _files(self) -> dict[str, Path]:
        files = {}
        for sub in ("new", "cur"):
            for entry in os.scandir(self.path / sub):
                if entry.is_file() and not entry.name.startswith("."):
                    # The unique part is the name before ":2,flags" (Maildir spec "info").
                    files[entry.name.split(":", 1)[0]] = Path(entry.path)
        return files

    def fetch(self, max_bytes: int, batch: int = 100) -> Iterator[InboxItem]:
        listed = []
        for key, path in self._files().items():
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue  # moved by a concurrent reader
            listed.append((stat.st_mtime, key, stat.st_size, path))
        listed.sort()
        log.info("inbox.listed", mailbox=str(self.path), count=len(listed))
        for mtime, key, size, path in listed:
            raw = path.read_bytes() if size <= max_bytes else None
            yield InboxItem(key, raw, size, datetime.fromtimestamp(mtime, UTC))
        log.info("inbox.fetched", mailbox=str(self.path), count=len(listed))

    def mark_processed(self, refs: Sequence[str]) -> None:
        self._move(refs, self._processed)

    def quarantine(self, refs: Sequence[str]) -> None:
        self._move(refs, self._quarantine)

    def _move(self, refs: Sequence[str], folder: Path) -> None:
        if not refs:
            return
        _make_maildir(folder, subfolder=True)
        files = self._files()
        moved = 0
        for ref in refs:
            path = files.get(ref)
            if path is None:
                log.warning("inbox.unknown_ref", ref=ref)
                continue
            # rename(2) is atomic on one file system: the message is never in both or neither.
            path.rename(folder / path.parent.name / path.name)
            moved += 1
        log.info("inbox.moved", mailbox=str(self.path), folder=folder.name, count=moved)

    def wait(self, timeout: float, stop: threading.Event) -> None:
        stop.wait(timeout)

    def check(self) -> None:
        for sub in ("new", "cur", "tmp"):
            if not os.access(self.path / sub, os.R_OK | os.W_OK | os.X_OK):
                raise ConfigError(f"MAILINTAKE_INBOX_URL: {self.path / sub} is not writable")

    def close(self) -> None:
        return None


def _make_maildir(path: Path, subfolder: bool = False) -> None:
    try:
        for sub in ("tmp", "new", "cur"):
            (path / sub).mkdir(parents=True, exist_ok=True)
        if subfolder:
            (path / "maildirfolder").touch()  # marks a Maildir++ subfolder for MUAs/Dovecot
    except OSError as exc:
        raise ConfigError(f"MAILINTAKE_INBOX_URL: cannot create Maildir {path}: {exc}") from exc
