"""The one guard around every message, whichever way it came in (issue 10, SPEC section 5).

Owns: `guarded` — for the daemon, `ingest` and `quarantine retry` alike:

- the message is recorded *in hand*, committed, before its work starts; one found
  still in hand (the process died with it: killed, crashed, over `WatchdogSec`), or
  that started `MAX_PASSES` passes without an outcome, is quarantined instead of
  tried again, so no poison message loops forever;
- only real transients are transient (`adapters.dbvalues.is_transient`: connection
  loss, deadlock, serialisation failure, lock timeout) and raise `TransientError`,
  leaving the message where it is; any other error quarantines that one message
  with its reason and the next message goes on (STYLE: Mailman's runner).

Opens its own transactions. Must not decide what a message means (the intake's
routes do) or move it in the mailbox (the daemon does).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
import structlog
from sqlmodel import col, select

from mailintake.adapters import db
from mailintake.adapters.dbvalues import is_transient
from mailintake.app import App
from mailintake.errors import TransientError, Unprocessable
from mailintake.services import holding
from mailintake.services.outcome import Outcome

log = structlog.get_logger()

MAX_PASSES = 3
Handler = Callable[[], Outcome]


def guarded(
    app: App, raw: bytes, handle: Handler, *, source_ref: str | None, received_at: datetime
) -> Outcome:
    """`handle()`'s outcome; a poison or failing message quarantined; transients raised."""
    sha256 = hashlib.sha256(raw).hexdigest()
    try:
        poison = _take_in_hand(app, sha256, source_ref)
    except sa.exc.IntegrityError as exc:  # another process took the same bytes in hand just now
        raise TransientError("the message is in hand elsewhere; later") from exc
    except sa.exc.SQLAlchemyError as exc:
        if is_transient(exc):
            raise _transient(exc) from exc
        raise
    if poison is not None:
        return _hold(app, raw, sha256, poison, source_ref, received_at)
    try:
        outcome = handle()
    except TransientError:
        _put_down(app, sha256, "transient")
        raise
    except sa.exc.SQLAlchemyError as exc:
        if is_transient(exc):
            _put_down(app, sha256, "transient")
            raise _transient(exc) from exc
        return _hold(app, raw, sha256, f"database refused it: {_first_line(exc)}", source_ref,
                     received_at)  # fmt: skip
    except Unprocessable as exc:
        return _hold(app, raw, sha256, str(exc), source_ref, received_at)
    except Exception as exc:  # one bad message must not stop the rest (STYLE: Mailman runner)
        log.exception("message.failed", source=source_ref)
        return _hold(app, raw, sha256, f"{type(exc).__name__}: {exc}", source_ref, received_at)
    _done(app, sha256)
    return outcome


def _take_in_hand(app: App, sha256: str, source_ref: str | None) -> str | None:
    """Record the message in hand (committed); the reason to quarantine it instead, if any."""
    with db.transaction(app.engine) as session:
        if db.intake_by_hash(session, sha256) is not None:
            return None  # handled before: the intake says "duplicate" and it is moved
        row = session.exec(select(db.InHandRow).where(db.InHandRow.raw_sha256 == sha256)).first()
        if row is not None and row.in_hand:
            return "was in hand when the process stopped (killed, crashed or over WatchdogSec)"
        if row is not None and row.passes >= MAX_PASSES:
            return f"failed {row.passes} passes (last: {row.last_error or 'unknown'})"
        if row is None:
            row = db.InHandRow(raw_sha256=sha256, source_ref=source_ref, started_at=app.clock())
            session.add(row)
        row.passes += 1
        row.in_hand = True
        row.started_at = app.clock()
    return None


def _put_down(app: App, sha256: str, error: str) -> None:
    """The pass ended without an outcome: no longer in hand, the pass stays counted."""
    try:
        with db.transaction(app.engine) as session:
            query = select(db.InHandRow).where(db.InHandRow.raw_sha256 == sha256)
            row = session.exec(query).first()
            if row is not None:
                row.in_hand = False
                row.last_error = error[:1000]
    except sa.exc.SQLAlchemyError:  # the database is away: the next pass sees it in hand
        log.warning("inhand.not_recorded", sha256=sha256)


def _done(app: App, sha256: str) -> None:
    with db.transaction(app.engine) as session:
        session.execute(sa.delete(db.InHandRow).where(col(db.InHandRow.raw_sha256) == sha256))


def _hold(
    app: App,
    raw: bytes,
    sha256: str,
    reason: str,
    source_ref: str | None,
    received_at: datetime,
) -> Outcome:
    outcome = holding.quarantine(app, raw, reason, source_ref, received_at)
    _done(app, sha256)
    return outcome


def _transient(exc: BaseException) -> TransientError:
    return TransientError(f"database: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
