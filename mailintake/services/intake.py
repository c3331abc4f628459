"""Use case: one incoming message, from raw bytes to committed effects (SPEC sections 1, 3 and 5).

Owns: `handle_message` — the single entry for every way mail comes in (IMAP,
Maildir, `ingest` files and pipes, `quarantine retry`), inside `guard`: size
limit, duplicates (the same bytes, or the same Message-ID with the same
sender, subject, body and attachments), parsing, classification and the route by kind
(client mail to `clientmail`, staff mail to `staff`; auto-replies, reports,
bounces, spam and our own loops here). What cannot be handled raises
`Unprocessable` and the guard quarantines it (`holding`). Each call is one
transaction: the message, its attachments, the ticket change, history and the
outbox rows of the answers are committed together, or nothing is. Must not talk to the
mailbox or the mail server (the daemon and the outbox do).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime

import sqlalchemy as sa
import structlog
from sqlmodel import Session, select

from mailintake import testhooks
from mailintake.adapters import bounces, db
from mailintake.adapters.dbvalues import is_transient
from mailintake.adapters.parse import UnparseableMail, parse
from mailintake.app import App
from mailintake.domain import mailrules
from mailintake.domain.mailrules import Bounce, Kind
from mailintake.errors import InHandElsewhere, TransientError, Unprocessable
from mailintake.services import clientmail, deployment, guard, notices, staff, threads
from mailintake.services import tickets as t
from mailintake.services.outcome import Arrival, Incoming, Outcome
from mailintake.services.seen import Seen, content_sha256

log = structlog.get_logger()


BATCH = 50  # messages per transaction: a lock is held briefly, a crash redoes at most these


def handle_message(
    app: App,
    raw: bytes,
    *,
    received_at: datetime | None = None,
    source_ref: str | None = None,
    size_limit: bool = True,
) -> Outcome:
    """Process one raw message; a second call with the same message has no effect.

    `handle_batch` of this one message. `size_limit=False` handles a message over
    `MAILINTAKE_MAX_MESSAGE_MB` (an operator's retry). Raises `InHandElsewhere`
    (transient) while another live process holds the same message.
    """
    arrival = Arrival(raw, received_at or app.clock(), source_ref)
    return _alone(app, arrival, size_limit)


def _alone(app: App, arrival: Arrival, size_limit: bool) -> Outcome:
    outcome = handle_batch(app, [arrival], size_limit=size_limit)[0]
    if outcome is None:
        raise InHandElsewhere("the message is in hand in another process; later")
    return outcome


def handle_batch(
    app: App,
    arrivals: Sequence[Arrival],
    *,
    size_limit: bool = True,
    progress: Callable[[], None] = lambda: None,
) -> list[Outcome | None]:
    """Process messages together (at most `BATCH`): their outcomes, in their order; None
    for one another live process holds (`guard.ELSEWHERE`: leave it in the mailbox).

    Every way in (daemon, `ingest`, `quarantine retry`) comes through here, inside the
    one guard (`services.guard`): a message that cannot be handled is quarantined with
    its reason and the next goes on; only a real transient fault raises `TransientError`
    (then none of them has an effect). All of them are committed in one durable
    transaction, each in its own SAVEPOINT so a bad one rolls back alone; the caller
    moves them out of the mailbox only after this returns. `progress()` is called after
    each message is parsed and after each is handled (the daemon's watchdog).
    """
    for _ in arrivals:
        testhooks.pause("intake.received")
    verdicts = guard.take_in_hand(app, arrivals)
    outcomes: dict[int, Outcome | None] = {}
    together = [i for i, v in enumerate(verdicts) if v is guard.GO]
    if together:
        testhooks.pause("intake.in_hand")
        taken = [arrivals[i] for i in together]
        outcomes.update(_together(app, taken, together, size_limit, progress))
    for i, verdict in enumerate(verdicts):
        if verdict == guard.ALONE:  # a member of a batch the process died in
            outcomes[i] = handle_batch(app, [arrivals[i]], size_limit=size_limit)[0]
        elif verdict == guard.ELSEWHERE:  # its holder is alive: it stays for a later pass
            outcomes[i] = None
            log.info("intake.in_hand_elsewhere", source=arrivals[i].source_ref)
        elif verdict is not guard.GO:  # poison: in hand at a crash, or too many passes
            outcomes[i] = guard.hold(app, arrivals[i], verdict)
    return [outcomes[i] for i in range(len(arrivals))]


def _together(
    app: App,
    arrivals: list[Arrival],
    places: list[int],
    size_limit: bool,
    progress: Callable[[], None],
) -> dict[int, Outcome]:
    """The messages taken in hand as one batch: prepared, then committed in one transaction.

    A transient fault puts all of them down (counted against the one that met it) and is
    raised; a commit the database refuses for another reason is retried message by message.
    """
    ready: list[tuple[int, Arrival, Incoming]] = []
    failed: dict[int, tuple[Arrival, str]] = {}
    try:
        with app.blobs.deferred():  # one sync for the batch's files, before its commit
            for place, arrival in zip(places, arrivals, strict=True):
                try:
                    ready.append((place, arrival, _prepare(app, arrival, size_limit)))
                except Exception as exc:
                    failed[place] = (arrival, _reason(exc, arrival))
                progress()
            outcomes = _commit(app, ready, failed, progress)
    except _Halt as halt:
        others = [a.sha256 for a in arrivals if a.sha256 != halt.culprit]
        guard.put_down(app, halt.culprit, str(halt.error), others, counted=halt.counted)
        raise halt.error from halt.error.__cause__
    except sa.exc.SQLAlchemyError as exc:
        guard.put_down(app, None, "", [a.sha256 for a in arrivals])
        if is_transient(exc):
            raise guard.transient(exc) from exc
        if len(arrivals) == 1:
            return {places[0]: guard.hold(app, arrivals[0], guard.verdict(exc, None))}
        log.warning("intake.batch_refused", error=guard.first_line(exc), messages=len(arrivals))
        return {p: _alone(app, a, size_limit) for p, a in zip(places, arrivals, strict=True)}
    except OSError as exc:  # the batch's files could not be synced: none of it is committed
        guard.put_down(app, None, "", [a.sha256 for a in arrivals])
        if not guard.counts(exc):
            raise TransientError(f"{type(exc).__name__}: {exc}") from exc
        raise
    for place, (arrival, reason) in failed.items():
        outcomes[place] = guard.hold(app, arrival, reason)
    return outcomes


class _Halt(Exception):
    """A transient fault met while handling the message `culprit` (its SHA-256)."""

    def __init__(self, culprit: str, error: TransientError, counted: bool) -> None:
        super().__init__(str(error))
        self.culprit, self.error, self.counted = culprit, error, counted


def _reason(exc: BaseException, arrival: Arrival) -> str:
    """Why `arrival` is held; `_Halt` when `exc` is a transient fault."""
    try:
        return guard.verdict(exc, arrival.source_ref)
    except TransientError as transient:
        raise _Halt(arrival.sha256, transient, guard.counts(exc)) from exc


def _prepare(app: App, arrival: Arrival, size_limit: bool) -> Incoming:
    """Size limit, parse and the raw copy: the work before any transaction."""
    if size_limit and len(arrival.raw) > app.settings.max_message_bytes:
        raise Unprocessable(f"message over {app.settings.max_message_mb:g} MB")
    try:
        mail = parse(arrival.raw)
    except UnparseableMail as exc:
        raise Unprocessable(f"cannot be parsed: {exc}") from exc
    app.blobs.put("raw", arrival.raw)
    return Incoming(mail, arrival.raw, arrival.sha256, arrival.received_at, app.clock(), None)


def _commit(
    app: App,
    ready: list[tuple[int, Arrival, Incoming]],
    failed: dict[int, tuple[Arrival, str]],
    progress: Callable[[], None],
) -> dict[int, Outcome]:
    """One transaction for the batch, a SAVEPOINT per message; `failed` gets those refused."""
    outcomes: dict[int, Outcome] = {}
    with db.transaction(app.engine) as session:
        mids = [msg.mail.message_id for _, _, msg in ready if msg.mail.message_id]
        seen = Seen(session, [msg.raw_sha256 for _, _, msg in ready], mids)
        for place, arrival, msg in ready:
            try:
                with session.begin_nested():
                    outcomes[place], row = _one(session, app, msg, seen, arrival.source_ref)
                if row is not None:
                    seen.add(row)
            except Exception as exc:
                outcomes.pop(place, None)
                elsewhere = _committed_elsewhere(session, msg, exc)
                if elsewhere is not None:
                    outcomes[place] = elsewhere
                else:
                    failed[place] = (arrival, _reason(exc, arrival))
            progress()
        guard.done_in(session, [a.sha256 for p, a, _ in ready if p not in failed])
        app.blobs.sync()  # the raw mail and attachments the rows name are on disk first
    for place, arrival, msg in ready:
        if place in outcomes:
            outcomes[place] = _processed(msg, outcomes[place], arrival.source_ref)
    return outcomes


def _one(
    session: Session, app: App, msg: Incoming, seen: Seen, source_ref: str | None
) -> tuple[Outcome, db.IntakeRow | None]:
    """The message's effects and its intake row; nothing for bytes seen."""
    same = seen.same_bytes(msg.raw_sha256)
    if same is not None:
        return Outcome("duplicate", same.ticket_key, msg.mail.message_id, "same bytes seen"), None
    outcome = _handle(session, app, msg, seen)
    stamp = deployment.note_stamp(session, app, msg.mail, msg.now)
    outcome = dataclasses.replace(outcome, unstamped=stamp is not None)
    row = _intake_row(msg, outcome, source_ref)
    row.unstamped_warned = stamp == "warned"
    session.add(row)
    return outcome, row


def _committed_elsewhere(session: Session, msg: Incoming, exc: BaseException) -> Outcome | None:
    """Another instance committed the same message first (SPEC section 5) — but only if its
    intake row is really there: any other constraint failure must not pass as a duplicate,
    or the message would leave the inbox with no effect at all."""
    if not isinstance(exc, sa.exc.IntegrityError):
        return None
    seen = db.intake_by_hash(session, msg.raw_sha256)
    if seen is None:
        return None
    return Outcome("duplicate", seen.ticket_key, msg.mail.message_id,
                   "committed by another instance")  # fmt: skip


def _processed(msg: Incoming, outcome: Outcome, source_ref: str | None) -> Outcome:
    log.info("message.processed", ticket=outcome.ticket, outcome=outcome.outcome,
             message_id=msg.mail.message_id, sender=msg.mail.from_addr, reason=outcome.reason,
             source=source_ref)  # fmt: skip
    return outcome


def _intake_row(msg: Incoming, outcome: Outcome, source_ref: str | None) -> db.IntakeRow:
    """What makes a second delivery of the same bytes or the same message a duplicate."""
    return db.IntakeRow(
        raw_sha256=msg.raw_sha256,
        message_id=msg.mail.message_id,
        source_ref=source_ref,
        received_at=msg.received_at,
        processed_at=msg.now,
        outcome=outcome.outcome,
        ticket_key=outcome.ticket,
        content_sha256=content_sha256(msg.mail),
        unstamped=outcome.unstamped,
    )


def _handle(session: Session, app: App, msg: Incoming, seen: Seen) -> Outcome:
    mail = msg.mail
    # Two copies taken in at once: the second waits (`Seen` serialized on the Message-ID
    # before reading), then is a duplicate.
    previous = seen.same_message(mail)
    testhooks.pause("intake.duplicate_checked")
    if previous is not None:
        return Outcome("duplicate", previous.ticket_key, mail.message_id, "same message seen")
    c = mailrules.classify(
        mail, support_address=app.settings.support_address, staff=app.settings.staff
    )
    if c.kind in (Kind.CLIENT, Kind.STAFF) and not mail.from_addr:
        # SPEC section 5: no, empty or unparsable From: nobody to answer, no one to trust.
        raise Unprocessable("no usable sender address in From")
    msg = dataclasses.replace(msg, classification=c)
    return ROUTES[c.kind](session, app, msg)


# -- routes by kind of mail ------------------------------------------------


def handle_note(session: Session, app: App, msg: Incoming) -> Outcome:
    """Auto-replies and reports: a note on the ticket of the mail of ours they answer (SPEC §5).

    Only a Message-ID we sent counts, never a key in the subject (issue 10): else a stranger's
    "auto-reply" would land on anyone's ticket. Never a ticket or an answer.
    """
    ticket = threads.ticket_we_mailed(session, msg.mail.thread_ids)
    kind = msg.classified.kind.value.lower()
    if ticket is None:
        t.store_inbound(session, app, None, msg, kind=kind)
        return Outcome("ignored", None, msg.mail.message_id, ", ".join(msg.classified.reasons))
    t.store_inbound(session, app, ticket, msg, kind=kind)
    return Outcome("note", ticket.key, msg.mail.message_id, ", ".join(msg.classified.reasons))


def handle_bounce(session: Session, app: App, msg: Incoming) -> Outcome:
    """A delivery-status report marks our message failed and flags its ticket (SPEC section 5)."""
    bounce = bounces.parse_bounce(msg.mail, msg.raw)
    ticket = _mark_bounced(session, app, bounce) if bounce is not None else None
    t.store_inbound(session, app, ticket, msg, kind="bounce")
    if ticket is not None and bounce is not None:
        _flag_bounced(session, app, ticket, bounce, msg.now)
    return Outcome("bounce", ticket.key if ticket else None, msg.mail.message_id)


def _mark_bounced(session: Session, app: App, bounce: Bounce) -> db.Ticket | None:
    """The ticket of the returned original, whose outbox rows become failed."""
    original = bounce.original_message_id
    if not original:
        return None
    ticket = threads.ticket_we_mailed(session, (original,))
    for row in session.exec(select(db.OutboxRow).where(db.OutboxRow.message_id == original)):
        row.status = "failed"
        row.last_error = f"bounced: {bounce.diagnostic or ''}"[:500]
    return ticket


def _flag_bounced(
    session: Session, app: App, ticket: db.Ticket, bounce: Bounce, now: datetime
) -> None:
    """The ticket is flagged and staff are told which addresses bounced and why."""
    ticket.flagged = True
    failed = ", ".join(bounce.failed_recipients)
    ticket.flag_reason = f"mail to {failed or 'the client'} bounced"
    notices.notify_staff(
        session,
        app,
        ticket=ticket,
        now=now,
        alert="bounce",
        subject=f"[{ticket.key}] Niedoręczona wiadomość / bounce",
        title="Nasza wiadomość do klienta nie została doręczona / our mail bounced.",
        lines=[f"Adresy / addresses: {failed}", f"Diagnoza / diagnostic: {bounce.diagnostic}"],
    )


def handle_spam(session: Session, app: App, msg: Incoming) -> Outcome:
    """Our border MTA's spam verdict: kept, on no ticket, never answered (SPEC section 5)."""
    t.store_inbound(session, app, None, msg, kind="spam")
    return Outcome("ignored", None, msg.mail.message_id, ", ".join(msg.classified.reasons))


def handle_loop(session: Session, app: App, msg: Incoming) -> Outcome:
    t.store_inbound(session, app, None, msg, kind="loop")
    return Outcome("ignored", None, msg.mail.message_id, "our own message")


ROUTES = {
    Kind.CLIENT: clientmail.handle_client,
    Kind.STAFF: staff.handle_staff_mail,
    Kind.AUTOREPLY: handle_note,
    Kind.REPORT: handle_note,
    Kind.BULK: handle_note,
    Kind.BOUNCE: handle_bounce,
    Kind.LOOP: handle_loop,
    Kind.SPAM: handle_spam,
}
