"""The one guard around every message, whichever way it came in (issue 10, SPEC section 5).

Owns the rules the intake (`services.intake`) applies to each message of a batch, for
the daemon, `ingest` and `quarantine retry` alike:

- the messages are recorded *in hand*, in one commit, before their work starts, with
  the size of the batch they are taken in (`take_in_hand`); one found still in hand
  alone (the process died with it: killed, crashed, over `WatchdogSec`), or that
  started `MAX_PASSES` passes without an outcome, is quarantined instead of tried
  again, so no poison message loops forever; members of a batch the process died in
  are taken again one at a time (`ALONE`), so only the real culprit is quarantined;
- only real transients are transient (`adapters.dbvalues.is_transient`: connection
  loss, deadlock, serialisation failure, lock timeout) and raise `TransientError`,
  leaving the messages where they are (`put_down`); only the member that met the
  fault has the pass counted against it. Any other error quarantines that one message
  with its reason (`hold`, `verdict`) and the next message goes on (STYLE: Mailman's
  runner).

Opens its own transactions, except `done_in` (the intake's). Must not decide what a
message means (the intake's routes do) or move it in the mailbox (the daemon does).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import structlog
from sqlmodel import Session, col, select

from mailintake.adapters import db
from mailintake.adapters.dbvalues import is_transient
from mailintake.app import App
from mailintake.errors import TransientError, Unprocessable
from mailintake.services import holding
from mailintake.services.outcome import Arrival, Outcome

log = structlog.get_logger()

MAX_PASSES = 3
GO = None  # take it in with the others
ALONE = "alone"  # a member of a batch the process died in: take it in on its own
Verdict = str | None  # GO, ALONE, or the reason to quarantine it


def take_in_hand(app: App, arrivals: Sequence[Arrival]) -> list[Verdict]:
    """Record the messages in hand (one commit); per message GO, ALONE or why to hold it.

    Those with GO are recorded as one batch of their number; raises `TransientError` when
    the database is away or another process took one of them in hand just now.
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
    shas = list(dict.fromkeys(a.sha256 for a in arrivals))
    # Not durable: a power cut that loses it only takes the messages in again (never twice:
    # the intake row is durable), the same as a crash before it.
    with db.transaction(app.engine, durable=False) as session:
        seen = set(session.exec(select(db.IntakeRow.raw_sha256)
                                .where(col(db.IntakeRow.raw_sha256).in_(shas))))  # fmt: skip
        rows = {row.raw_sha256: row for row in session.exec(
            select(db.InHandRow).where(col(db.InHandRow.raw_sha256).in_(shas)))}  # fmt: skip
        alone = len(shas) == 1  # one message on its own: a batch it was in is no reason to wait
        verdicts = {sha: GO if sha in seen else _verdict(rows.get(sha), alone) for sha in shas}
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
    return [verdicts[a.sha256] for a in arrivals]


def _verdict(row: db.InHandRow | None, alone: bool) -> Verdict:
    if row is None:
        return GO
    if row.in_hand and row.batch > 1:
        return GO if alone else ALONE
    if row.in_hand:
        return "was in hand when the process stopped (killed, crashed or over WatchdogSec)"
    if row.passes >= MAX_PASSES:
        return f"failed {row.passes} passes (last: {row.last_error or 'unknown'})"
    return GO


def done_in(session: Session, shas: Sequence[str]) -> None:
    """In the intake's transaction: these messages are no longer in hand (they have an outcome)."""
    if shas:
        session.execute(sa.delete(db.InHandRow).where(col(db.InHandRow.raw_sha256).in_(shas)))


def put_down(app: App, culprit: str | None, error: str, others: Sequence[str]) -> None:
    """The pass ended without an outcome: nothing in hand any more; the pass counts against
    `culprit` only (the message that met the fault), not against `others`."""
    try:
        with db.transaction(app.engine, durable=False) as session:
            shas = [*others, *([culprit] if culprit else [])]
            query = select(db.InHandRow).where(col(db.InHandRow.raw_sha256).in_(shas))
            for row in session.exec(query):
                row.in_hand = False
                if row.raw_sha256 == culprit:
                    row.last_error = error[:1000]
                else:
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
    if isinstance(exc, sa.exc.SQLAlchemyError):
        if is_transient(exc):
            raise transient(exc) from exc
        return f"database refused it: {first_line(exc)}"
    if isinstance(exc, Unprocessable):
        return str(exc)
    # One bad message must not stop the rest (STYLE: Mailman runner).
    log.error("message.failed", source=source_ref, exc_info=exc)
    return f"{type(exc).__name__}: {exc}"


def transient(exc: BaseException) -> TransientError:
    return TransientError(f"database: {first_line(exc)}")


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
