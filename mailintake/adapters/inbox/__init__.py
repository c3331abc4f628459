"""The mailbox we read client mail from: IMAP (imapclient) or a local Maildir.

This package owns listing the waiting messages oldest first, reading them without
marking them seen, moving them to the processed or quarantine folder, and waiting
for new mail (IMAP IDLE or a sleep). It must not decide anything about a message:
what is processed, quarantined or kept is the services' call. Nothing here ever
deletes mail (SPEC §5): handled messages are moved, never expunged elsewhere.

Connection faults raise `TransientError` so the caller retries with its own
backoff; the next call reconnects. Passwords never reach the log.

    protocol   the `InboxItem` value and the `Inbox` Protocol (imports no implementation)
    account    `ImapAccount`: the account URL
    imap       `ImapInbox`
    folders    held mail in the quarantine folder, the newest headers
    maildir    `MaildirInbox`
    __init__   `open_inbox`: the implementation a URL names
"""

from __future__ import annotations

from pathlib import Path

from mailintake.adapters.inbox.account import ImapAccount, imap_account
from mailintake.adapters.inbox.imap import ImapInbox, uid_set
from mailintake.adapters.inbox.maildir import MaildirInbox
from mailintake.adapters.inbox.protocol import Inbox, InboxItem
from mailintake.adapters.oauth2 import TokenProvider
from mailintake.adapters.tls import client_context
from mailintake.errors import ConfigError

__all__ = [
    "ImapAccount",
    "ImapInbox",
    "Inbox",
    "InboxItem",
    "MaildirInbox",
    "open_inbox",
    "uid_set",
]


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
            imap_account(url, password),
            ssl_context=client_context(tls_verify),
            starttls=starttls,
            folders=(processed_folder, quarantine_folder),
            idle=idle,
            token_provider=token_provider,
        )
    raise ConfigError(f"MAILINTAKE_INBOX_URL: unsupported scheme in {url!r} (imap, imaps, maildir)")
