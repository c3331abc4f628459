"""The one guard around every message, whichever way it came in (issue 10, SPEC section 5).

Owns: `guarded` — for the daemon, `ingest` and `quarantine retry` alike:

- the message is recorded *in hand*, committed, before its work starts, with the
  liveness token of the process holding it (`adapters.liveness`); one found still
  in hand by a process that died with it (killed, crashed, over `WatchdogSec`), or
  that started `MAX_PASSES` passes without an outcome, is quarantined instead of
  tried again, so no poison message loops forever. One in hand by a live process
  (another daemon, `ingest`, `quarantine retry`; on PostgreSQL, one whose session
  ended less than `liveness.grace` ago) is left to it: transient, later. One this
  very process holds was put down without a record (the database was away): it is
  taken up again, as no crash happened;
- only real transients are transient (`adapters.dbvalues.is_transient`: connection
  loss, deadlock, serialisation failure, lock timeout, resources exhausted) and
  raise `TransientError`, leaving the message where it is; so do a full disk and
  its kin (`OUTAGE_ERRNOS`). An outage (the database away, a disk, memory or
  connection table full) is no fault of the message: its pass does not count
  towards `MAX_PASSES`. Any other error quarantines that one message with its
  reason and the next message goes on (STYLE: Mailman's runner).

Opens its own transactions. Must not decide what a message means (the intake's
routes do) or move it in the mailbox (the daemon does).
"""

from __future__ import annotations

import errno
import hashlib
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
import structlog
from sqlmodel import col, select

from mailintake import testhooks
from mailintake.adapters import db
from mailintake.adapters.dbvalues import is_outage, is_transient
from mailintake.app import App
from mailintake.errors import InHandElsewhere, TransientError, Unprocessable
from mailintake.services import holding
from mailintake.services.outcome import Outcome

log = structlog.get_logger()

MAX_PASSES = 3
# The machine, not the message: no space or quota, too many open files, no memory, an I/O
# error, a file system gone read-only or our own files' permissions wrong (after a restore):
# the blob store, the outbox directory, SQLite's file.
OUTAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EMFILE, errno.ENFILE, errno.ENOMEM,
                           errno.EIO, errno.EROFS, errno.EACCES, errno.EPERM})  # fmt: skip
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
    testhooks.pause("intake.in_hand")
    try:
        outcome = handle()
    except TransientError:
        _put_down(app, sha256, "transient")
        raise
    except OSError as exc:
        if exc.errno not in OUTAGE_ERRNOS:
            return _failed(app, raw, sha256, exc, source_ref, received_at)
        _put_down(app, sha256, _first_line(exc), counted=False)
        raise TransientError(f"{type(exc).__name__}: {exc}") from exc
    except sa.exc.SQLAlchemyError as exc:
        if is_transient(exc):
            _put_down(app, sha256, "transient", counted=not is_outage(exc))
            raise _transient(exc) from exc
        return _hold(app, raw, sha256, f"database refused it: {_first_line(exc)}", source_ref,
                     received_at)  # fmt: skip
    except Unprocessable as exc:
        return _hold(app, raw, sha256, str(exc), source_ref, received_at)
    except Exception as exc:  # one bad message must not stop the rest (STYLE: Mailman runner)
        return _failed(app, raw, sha256, exc, source_ref, received_at)
    _done(app, sha256)
    return outcome


def _failed(
    app: App, raw: bytes, sha256: str, exc: Exception, source_ref: str | None, at: datetime
) -> Outcome:
    log.exception("message.failed", source=source_ref)
    return _hold(app, raw, sha256, f"{type(exc).__name__}: {exc}", source_ref, at)


def _take_in_hand(app: App, sha256: str, source_ref: str | None) -> str | None:
    """Record the message in hand (committed); the reason to quarantine it instead, if any.

    Raises `InHandElsewhere` (transient) while another live process holds it."""
    app.liveness.hold(recheck=False)  # a lost lock is taken again by the next flush
    with db.transaction(app.engine) as session:
        if db.intake_by_hash(session, sha256) is not None:
            return None  # handled before: the intake says "duplicate" and it is moved
        row = session.exec(select(db.InHandRow).where(db.InHandRow.raw_sha256 == sha256)).first()
        if row is not None and row.in_hand and row.held_by != app.liveness.token:
            if _held_by_the_living(app, row):
                raise InHandElsewhere("the message is in hand in another process; later")
            return "was in hand when the process stopped (killed, crashed or over WatchdogSec)"
        if row is not None and row.passes >= MAX_PASSES:
            return f"failed {row.passes} passes (last: {row.last_error or 'unknown'})"
        if row is None:
            row = db.InHandRow(raw_sha256=sha256, source_ref=source_ref, started_at=app.clock())
            session.add(row)
        row.passes += 1
        row.in_hand = True
        row.held_by = app.liveness.token
        row.started_at = app.clock()
    return None


def _held_by_the_living(app: App, row: db.InHandRow) -> bool:
    """Is the process holding `row` alive, or (PostgreSQL) may it be: within the grace?"""
    if row.held_by is None:
        return False  # taken in hand before holders were recorded
    grace = app.liveness.grace
    recent = bool(grace) and row.started_at > app.clock() - grace
    return recent or app.liveness.alive(row.held_by)


def _put_down(app: App, sha256: str, error: str, *, counted: bool = True) -> None:
    """The pass ended without an outcome: no longer in hand; the pass stays counted unless
    the system failed it (`counted=False`: the database away, a disk full)."""
    try:
        with db.transaction(app.engine) as session:
            query = select(db.InHandRow).where(db.InHandRow.raw_sha256 == sha256)
            row = session.exec(query).first()
            if row is not None:
                row.in_hand = False
                row.passes -= 0 if counted else 1
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
