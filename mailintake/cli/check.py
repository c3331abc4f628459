"""`mailintake check`: validate the configuration and reach every outside system once.

Owns: one probe per system (database and its schema, OAuth2 token endpoint,
mailbox, SMTP) and of the sender check's assumption (the newest mail is stamped
by our border MTA), one `OK`/`FAIL` line each with the reason in words operators
search for, and the exit code (non-zero when any failed). Must not build an
`App`, change anything or stop at the first failure.
"""

from __future__ import annotations

import argparse
import smtplib
import ssl
from collections.abc import Callable

from imapclient.exceptions import LoginError

from mailintake.adapters import db, migrate
from mailintake.adapters.oauth2 import TokenProvider, make_token_provider
from mailintake.adapters.parse.summary import summarise
from mailintake.bootstrap import inbox_for, mailer_for
from mailintake.cli.shared import first_line
from mailintake.config import Settings
from mailintake.domain import staffauth
from mailintake.errors import MailintakeError

# A probe returns a note for its OK line ("" for none) or raises with the reason.
Probe = Callable[[Settings, TokenProvider | None], str]


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub.add_parser(
        "check",
        help="validate configuration, connect to mailbox, SMTP and database",
        description="Validate the configuration and connect to the mailbox, the SMTP server "
        "and the database; one line per check, OK or the reason.",
    ).set_defaults(func=cmd_check)


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    """One line per check, OK or the precise reason; non-zero when any fails."""
    print("OK   configuration")
    tokens = make_token_provider(settings)
    results = [run_probe(name, probe, settings, tokens) for name, probe in probes(tokens)]
    return 0 if all(results) else 1


def probes(tokens: TokenProvider | None) -> list[tuple[str, Probe]]:
    """Database first; the OAuth2 endpoint before the mailbox and SMTP that need its token."""
    found: list[tuple[str, Probe]] = [
        ("database", database), ("mailbox", mailbox), ("smtp", smtp), ("sender check", stamps),
    ]  # fmt: skip
    if tokens is not None:
        found.insert(1, (f"oauth2 ({tokens.provider})", oauth2))
    return found


def run_probe(name: str, probe: Probe, settings: Settings, tokens: TokenProvider | None) -> bool:
    try:
        note = probe(settings, tokens)
        print(f"OK   {name}{note or ''}")
    except Exception as exc:  # every failure is reported, none stops the other checks
        print(f"FAIL {name}: {check_reason(exc)}")
        return False
    return True


def database(settings: Settings, tokens: TokenProvider | None) -> str:
    """Reachable and migrated; on SQLite pending migrations are only noted (`run` applies them)."""
    pending = pending_migrations(settings)
    if pending and settings.is_sqlite:
        return f" ({len(pending)} migrations pending; `mailintake run` applies them on SQLite)"
    if pending:
        raise MailintakeError(
            f"migrations pending: {', '.join(pending)} (run: mailintake db upgrade)"
        )
    return ""


def pending_migrations(settings: Settings) -> list[str]:
    if settings.is_sqlite:
        settings.state_dir.mkdir(parents=True, exist_ok=True)  # as `run` would
    engine = db.make_engine(settings.database_url)
    try:
        return migrate.pending(engine)
    finally:
        engine.dispose()


def oauth2(settings: Settings, tokens: TokenProvider | None) -> str:
    assert tokens is not None
    tokens.token()  # raises TransientError naming the endpoint and its answer
    return ""


def mailbox(settings: Settings, tokens: TokenProvider | None) -> str:
    inbox = inbox_for(settings, tokens)
    try:
        inbox.check()
    finally:
        inbox.close()
    return ""


def smtp(settings: Settings, tokens: TokenProvider | None) -> str:
    mailer = mailer_for(settings, tokens)
    try:
        mailer.check()
    finally:
        mailer.close()
    return ""


NEWEST = 20


def stamps(settings: Settings, tokens: TokenProvider | None) -> str:
    """The sender check's assumption, read from the newest mail (issue 10, README Security).

    `authres:<id>`: every mail carries an Authentication-Results from `<id>`; `exchange`:
    every mail carries X-MS-Exchange-Organization-AuthSource. Else the border MTA is not
    stamping or was bypassed, and a forged staff command could not be told from a real one.
    """
    mode = staffauth.parse_auth_mode(settings.staff_auth)
    if mode.kind is staffauth.AuthKind.NONE:
        return " (MAILINTAKE_STAFF_AUTH=none: staff trusted on From alone, development only)"
    inbox = inbox_for(settings, tokens)
    try:
        heads = inbox.newest_heads(NEWEST)
    finally:
        inbox.close()
    missing = [m for h in heads if (m := staffauth.missing_stamp(mode, summarise(h).headers or {}))]
    if missing:
        raise MailintakeError(
            f"{len(missing)} of the {len(heads)} newest messages have {missing[0]}: the border "
            f"MTA is not stamping or was bypassed ({mode})"
        )
    return f" ({mode}: {len(heads)} newest messages stamped)" if heads else " (no mail yet)"


def check_reason(exc: BaseException) -> str:
    """What went wrong in words ops search for, then the server's own message."""
    detail = first_line(exc)
    causes = _causes(exc)
    if any(isinstance(c, (LoginError, smtplib.SMTPAuthenticationError)) for c in causes):
        return f"authentication failed: {detail}"
    if any(isinstance(c, ssl.SSLError) for c in causes):
        return f"TLS error: {detail}"
    if "cannot open folder" in detail:
        return f"folder missing: {detail}"
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return f"connection refused: {detail}"
    if any(isinstance(c, TimeoutError) for c in causes):
        return f"timed out: {detail}"
    return detail


def _causes(exc: BaseException) -> list[BaseException]:
    """`exc` and everything it was raised from (adapters wrap library errors)."""
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in found:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found
