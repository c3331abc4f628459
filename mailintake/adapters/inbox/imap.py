"""An IMAP folder as the inbox (imapclient): UIDs, BODY.PEEK[], MOVE, IDLE.

Owns: connecting to the account (`account.ImapAccount`) with
TLS or STARTTLS and a password or XOAUTH2 token, listing the folder oldest
first (refs carry UIDVALIDITY, RFC 3501 §2.3.1.1), reading without setting the
Seen flag, moving with MOVE (RFC 6851) or COPY + expunge, waiting with IDLE (RFC
2177), and one reconnect when a stale link fails.

Must not: decide what happens to a message, delete mail other than by moving
it (SPEC §5), or log a password. Connection faults and refused commands (NO or
BAD: quota, permissions, a folder missing or in use) raise `TransientError`,
a bad URL `ConfigError`.
"""

from __future__ import annotations

import ast
import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import structlog
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from mailintake.adapters.inbox import folders as held
from mailintake.adapters.inbox.account import ImapAccount
from mailintake.adapters.inbox.protocol import InboxItem
from mailintake.adapters.oauth2 import TokenProvider
from mailintake.errors import TransientError

log = structlog.get_logger()
T = TypeVar("T")


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
IMAP_TIMEOUT = 30  # seconds any one IMAP exchange may block (systemd's TimeoutStopSec allows it)

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
                timeout=IMAP_TIMEOUT,
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
                f"IMAP login refused for {self.account} (check MAILINTAKE_IMAP_PASSWORD): "
                f"{server_words(exc)}"
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
                reason = (
                    f"IMAP XOAUTH2 login refused for {self.account} with a fresh token: "
                    f"{server_words(exc)}"
                )
                tokens.login_failed(reason)
                raise TransientError(reason) from exc
        tokens.login_succeeded()

    def _select(self, client: IMAPClient) -> dict[bytes, Any]:
        """The SELECT response (imapclient is untyped): UIDVALIDITY and UIDNEXT come as ints."""
        try:
            info: dict[bytes, Any] = client.select_folder(self.account.folder)
        except IMAPClientError as exc:
            if isinstance(exc, IMAPClientAbortError):
                raise
            # Transient: a folder deleted under a running daemon may come back (`check` says so).
            raise TransientError(
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
            except IMAPClientError as exc:
                raise self._refused(action, exc) from exc
        raise AssertionError("unreachable")

    def _refused(self, action: str, exc: IMAPClientError) -> TransientError:
        """A command answered NO or BAD (quota, permissions, a folder deleted, a mailbox in
        use): transient, so the message stays where it is and the caller backs off."""
        if "TRYCREATE" in str(exc):  # RFC 3501 §7.1: the target folder is gone; make it again
            self._known_folders.clear()
        return TransientError(f"IMAP {action} on {self.account} refused: {exc}")

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
        _count_log(listed)("inbox.listed", mailbox=str(self.account), count=len(listed))
        uidvalidity = self._uidvalidity
        for start in range(0, len(listed), batch):
            chunk = listed[start : start + batch]
            wanted = [uid for _, uid, size in chunk if size <= max_bytes]
            bodies = self._call("fetch", self._bodies, wanted) if wanted else {}
            big = [uid for _, uid, size in chunk if size > max_bytes]
            heads = self._call("fetch", held.header_blocks, big) if big else {}
            if self._uidvalidity != uidvalidity:  # reconnected to a renumbered folder
                raise TransientError(f"UIDVALIDITY of {self.account} changed while reading")
            for received_at, uid, size in chunk:
                raw = bodies.get(uid) if size <= max_bytes else None
                if size <= max_bytes and raw is None:
                    continue  # expunged by someone else since we listed it
                yield InboxItem(f"imap:{uidvalidity}:{uid}", raw, size, received_at, heads.get(uid))
        _count_log(listed)("inbox.fetched", mailbox=str(self.account), count=len(listed))

    @staticmethod
    def _bodies(client: IMAPClient, uids: list[int]) -> dict[int, bytes]:
        # BODY.PEEK[] leaves \Seen alone (RFC 3501 §6.4.5): a human may share this mailbox.
        data = client.fetch(uids, ["BODY.PEEK[]"])
        return {uid: d[b"BODY[]"] for uid, d in data.items() if b"BODY[]" in d}

    # moving -------------------------------------------------------------------------

    def mark_processed(self, refs: Sequence[str]) -> None:
        self._move(refs, self._processed)

    def quarantine(self, refs: Sequence[str]) -> dict[str, str]:
        """Move to the quarantine folder; RFC 4315 COPYUID tells each message's new UID."""
        return held.held_refs(refs, self._move(refs, self._quarantine))

    def _move(self, refs: Sequence[str], folder: str) -> str | None:
        """Move the messages; the server's COPYUID answer (RFC 4315), when it gave one."""
        if not refs:
            return None
        self._session()  # learn the current UIDVALIDITY before judging refs
        uids = self._uids_of(refs)
        copyuid = self._call("move", self._move_uids, uids, folder) if uids else None
        log.info("inbox.moved", mailbox=str(self.account), folder=folder, count=len(uids))
        return copyuid

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

    def _move_uids(self, client: IMAPClient, uids: list[int], folder: str) -> str | None:
        self._ensure_folder(client, folder)
        uids_text = uid_set(uids)
        client._imap.untagged_responses.pop("COPYUID", None)
        if client.has_capability("MOVE"):
            client.move(uids_text, folder)  # RFC 6851
            return held.copyuid(client)
        copied = client.copy(uids_text, folder)
        found = held.copyuid(client) or held.copyuid_text(copied)
        client.add_flags(uids, [b"\\Deleted"], silent=True)
        if client.has_capability("UIDPLUS"):
            client.uid_expunge(uids_text)  # RFC 4315: expunge exactly these UIDs
        else:
            client.expunge()
        return found

    def _ensure_folder(self, client: IMAPClient, folder: str) -> None:
        if folder in self._known_folders:
            return
        if not client.folder_exists(folder):
            client.create_folder(folder)
            log.info("inbox.folder_created", mailbox=str(self.account), folder=folder)
        self._known_folders.add(folder)

    # held messages (quarantine retry) ------------------------------------------------------

    def fetch_held(self, held_ref: str | None, message_id: str | None) -> bytes | None:
        body = lambda client, uid: self._bodies(client, [uid]).get(uid)  # noqa: E731
        raw = self._call("fetch held", self._held, (held_ref, message_id), body)
        return raw if isinstance(raw, bytes) else None

    def release(self, held_ref: str | None, message_id: str | None) -> bool:
        move = lambda client, uid: self._move_uids(client, [uid], self._processed) or True  # noqa: E731
        return bool(self._call("release", self._held, (held_ref, message_id), move))

    def newest_heads(self, count: int) -> list[bytes]:
        where = (self.account.folder, self._processed)
        return self._call("read headers", held.newest_heads, where, self.account.folder, count)

    def _held(self, client: IMAPClient, locate: tuple[str | None, str | None], action: Any) -> Any:
        return held.in_folder(client, self._quarantine, self.account.folder, locate, action)

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


def _count_log(items: Sequence[object]) -> Callable[..., Any]:
    """Info when there was mail; an empty wake-up (IDLE or poll) is only worth debug."""
    method: Callable[..., Any] = log.info if items else log.debug
    return method


def server_words(exc: BaseException) -> str:
    """The server's response in an imapclient error as text: imaplib hands it over as bytes,
    and `str()` of the error reads "b'[AUTHENTICATIONFAILED] Authentication failed.'"."""
    text = str(exc)
    if len(text) > 2 and text[0] == "b" and text[1] in "'\"" and text[-1] == text[1]:
        with contextlib.suppress(ValueError, SyntaxError):
            value = ast.literal_eval(text)
            if isinstance(value, bytes):
                return value.decode("utf-8", errors="replace")
    return text


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:  # RFC 3501 INTERNALDATE always has a zone; be safe anyway
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
