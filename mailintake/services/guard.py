"""The one guard around every message, whichever way it came in (issue 10, SPEC section 5).

Owns the rules the intake (`services.intake`) applies to each message of a batch, for
the daemon, `ingest` and `quarantine retry` alike:

- the messages are recorded *in hand*, in one commit, before their work starts, with
  the size of the batch they are taken in and the liveness token of the process
  holding them (`take_in_hand`, `adapters.liveness`); one found still in hand alone
  by a process that died with it (killed, crashed, over `WatchdogSec`), or that
  started `MAX_PASSES` passes without an outcome, is quarantined instead of tried
  again, so no poison message loops forever; members of a batch the process died in
  are taken again one at a time (`ALONE`), so only the real culprit is quarantined.
  One in hand by a live process (another daemon, `ingest`, `quarantine retry`; on
  PostgreSQL, one whose session ended less than `liveness.grace` ago) is left to it
  (`ELSEWHERE`: it stays in the mailbox for a later pass, the rest goes on). One this
  very process holds was put down without a record (the database was away): it is
  taken up again, as no crash happened;
- only real transients are transient (`adapters.dbvalues.is_transient`: connection
  loss, deadlock, serialisation failure, lock timeout, resources exhausted) and raise
  `TransientError`, leaving the messages where they are (`put_down`); so do a full
  disk and its kin (`OUTAGE_ERRNOS`). Only the member that met the fault has the pass
  counted against it, and not even it for an outage (the database away, a disk,
  memory or connection table full: `counts`). Any other error quarantines that one
  message with its reason (`hold`, `verdict`) and the next message goes on (STYLE:
  Mailman's runner).

Opens its own transactions, except `done_in` (the intake's). Must not decide what a
message means (the intake's routes do) or move it in the mailbox (the daemon does).
"""

from __future__ import annotations

import errno
from collections.abc import Sequence

import sqlalchemy as sa
import structlog
from sqlmodel import Session, col, select

from mailintake.adapters import db
from mailintake.adapters.dbvalues import is_outage, is_transient
from mailintake.app import App
from mailintake.errors import TransientError, Unprocessable
from mailintake.services import holding
from mailintake.services.outcome import Arrival, Outcome

log = structlog.get_logger()

MAX_PASSES = 3
# The machine, not the message: no space or quota, too many open files, no memory, an I/O
# error, a file system gone read-only or our own files' permissions wrong (after a restore):
# the blob store, the outbox directory, SQLite's file.
OUTAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EMFILE, errno.ENFILE, errno.ENOMEM,
                           errno.EIO, errno.EROFS, errno.EACCES, errno.EPERM})  # fmt: skip
GO = None  # take it in with the others
ALONE = "alone"  # a member of a batch the process died in: take it in on its own
ELSEWHERE = "elsewhere"  # in hand by another live process: leave it in the mailbox for now
Verdict = str | None  # GO, ALONE, ELSEWHERE, or the reason to quarantine it


def take_in_hand(app: App, arrivals: Sequence[Arrival]) -> list[Verdict]:
    """Record the messages in hand (one commit); per message GO, ALONE, ELSEWHERE or why
    to hold it.

    Those with GO are recorded as one batch of their number, held by this process;
    raises `TransientError` when the database is away or another process took one of
    them in hand just now.
    """
    try:
        return _take_in_hand(app, arrivals)
    except sa.exc.IntegrityError as exc:  # another process took the same bytes in hand just now
        raise TransientError("the message is in hand elsewhere; later") from exc
    except sa.exc.SQLAlchemyError as exc:
        if is_transient(exc):
            raise transient(exc) from exc
        raise


def _take_in_hand(app: App, arrivals: Sequence[Arrival]) -> list[Verdict]:
    app.liveness.hold(recheck=False)  # a lost lock is taken again by the next flush
    shas = list(dict.fromkeys(a.sha256 for a in arrivals))
    # Not durable: a power cut that loses it only takes the messages in again (never twice:
    # the intake row is durable), the same as a crash before it.
    with db.transaction(app.engine, durable=False) as session:
        seen = set(session.exec(select(db.IntakeRow.raw_sha256)
                                .where(col(db.IntakeRow.raw_sha256).in_(shas))))  # fmt: skip
        rows = {row.raw_sha256: row for row in session.exec(
            select(db.InHandRow).where(col(db.InHandRow.raw_sha256).in_(shas)))}  # fmt: skip
        alone = len(shas) == 1  # one message on its own: a batch it was in is no reason to wait
        verdicts = {sha: GO if sha in seen else _verdict(app, rows.get(sha), alone) for sha in shas}
        going = [sha for sha in shas if verdicts[sha] is GO and sha not in seen]
        now = app.clock()
        for sha in going:
            row = rows.get(sha)
            if row is None:
                source = next(a.source_ref for a in arrivals if a.sha256 == sha)
                row = db.InHandRow(raw_sha256=sha, source_ref=source, started_at=now)
                session.add(row)
            row.passes += 1
            row.in_hand, row.started_at, row.batch = True, now, len(going)
            row.held_by = app.liveness.token
    return [verdicts[a.sha256] for a in arrivals]


def _verdict(app: App, row: db.InHandRow | None, alone: bool) -> Verdict:
    if row is None:
        return GO
    if row.in_hand and row.held_by != app.liveness.token:  # our own: put down unrecorded
        if _held_by_the_living(app, row):
            return ELSEWHERE
        if row.batch > 1:
            return GO if alone else ALONE
        return "was in hand when the process stopped (killed, crashed or over WatchdogSec)"
    if row.passes >= MAX_PASSES:
        return f"failed {row.passes} passes (last: {row.last_error or 'unknown'})"
    return GO


def _held_by_the_living(app: App, row: db.InHandRow) -> bool:
    """Is the process holding `row` alive, or (PostgreSQL) may it be: within the grace?"""
    if row.held_by is None:
        return False  # taken in hand before holders were recorded
    grace = app.liveness.grace
    recent = bool(grace) and row.started_at > app.clock() - grace
    return recent or app.liveness.alive(row.held_by)


def done_in(session: Session, shas: Sequence[str]) -> None:
    """In the intake's transaction: these messages are no longer in hand (they have an outcome)."""
    if shas:
        session.execute(sa.delete(db.InHandRow).where(col(db.InHandRow.raw_sha256).in_(shas)))


def put_down(
    app: App, culprit: str | None, error: str, others: Sequence[str], *, counted: bool = True
) -> None:
    """The pass ended without an outcome: nothing in hand any more; the pass counts against
    `culprit` only (the message that met the fault), not against `others`, and not even
    against it when the system failed it (`counted=False`: the database away, a disk full)."""
    try:
        with db.transaction(app.engine, durable=False) as session:
            shas = [*others, *([culprit] if culprit else [])]
            query = select(db.InHandRow).where(col(db.InHandRow.raw_sha256).in_(shas))
            for row in session.exec(query):
                row.in_hand = False
                if row.raw_sha256 == culprit:
                    row.last_error = error[:1000]
                if row.raw_sha256 != culprit or not counted:
                    row.passes = max(row.passes - 1, 0)
    except sa.exc.SQLAlchemyError:  # the database is away: the next pass sees them in hand
        log.warning("inhand.not_recorded", messages=len(others) + (culprit is not None))


def hold(app: App, arrival: Arrival, reason: str) -> Outcome:
    """Quarantine the message with `reason` (its own transaction); no longer in hand."""
    outcome = holding.quarantine(app, arrival.raw, reason, arrival.source_ref, arrival.received_at)
    with db.transaction(app.engine, durable=False) as session:
        done_in(session, [arrival.sha256])
    return outcome


def verdict(exc: BaseException, source_ref: str | None) -> str:
    """Why a message that raised `exc` is quarantined; raises `TransientError` for a transient."""
    if isinstance(exc, TransientError):
        raise exc
    if isinstance(exc, OSError) and exc.errno in OUTAGE_ERRNOS:
        raise TransientError(f"{type(exc).__name__}: {exc}") from exc
    if isinstance(exc, sa.exc.SQLAlchemyError):
        if is_transient(exc):
            raise transient(exc) from exc
        return f"database refused it: {first_line(exc)}"
    if isinstance(exc, Unprocessable):
        return str(exc)
    # One bad message must not stop the rest (STYLE: Mailman runner).
    log.error("message.failed", source=source_ref, exc_info=exc)
    return f"{type(exc).__name__}: {exc}"


def counts(exc: BaseException) -> bool:
    """Does the transient `exc` count a pass against its message? Not an outage: the
    database away or out of resources, a disk full (`OUTAGE_ERRNOS`)."""
    if isinstance(exc, OSError):
        return exc.errno not in OUTAGE_ERRNOS
    return not (isinstance(exc, sa.exc.SQLAlchemyError) and is_outage(exc))


def transient(exc: BaseException) -> TransientError:
    return TransientError(f"database: {first_line(exc)}")


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
