"""Use case: [DUPLIKAT LOG-…] merges a duplicate into the ticket that stays (SPEC §6, issue 12).

Owns: closing the duplicate (reason `duplicate`, the client told which key goes on) and
moving what it gathered to the ticket that stays: field values the target lacks (lists
joined), attachments, the client's colleagues, and its thread — the duplicate records the
key it went into, so later client mail on its thread reaches the target
(`threads.surviving`). A NOWY target that the merge makes complete moves to ANALIZA and its
client is confirmed. Refusals (unknown key, the ticket itself, a closed target, another client's ticket)
come before any write.
Runs inside the intake transaction; must not commit or send.
"""

from __future__ import annotations

from sqlmodel import Session

from mailintake.adapters import db
from mailintake.domain import fields, labels
from mailintake.domain.status import CloseReason, Status, check_transition
from mailintake.errors import Refusal
from mailintake.services import completion, lifecycle, notices, threads
from mailintake.services import tickets as t
from mailintake.services.staffjob import Job


def close_as_duplicate(job: Job, ticket: db.Ticket) -> db.Ticket:
    """Close `ticket` as a duplicate and merge it into the command's target; the target."""
    target = _target(job, ticket)
    check_transition(Status(ticket.status), Status.ZAMKNIETY)
    key = db.key_of(target)
    lifecycle.close(job.session, job.app, ticket, CloseReason.DUPLICATE, by=job.by, now=job.now,
                    text=job.for_client, note=job.text, duplicate_of=key,
                    files=job.files)  # fmt: skip
    moved = merge(job, ticket, target)
    t.add_history(job.session, ticket, Status.ZAMKNIETY, Status.ZAMKNIETY, by=job.by,
                  reason=f"duplicate of {key}", now=job.now)  # fmt: skip
    t.add_history(job.session, target, target.status, target.status, by=job.by,
                  reason=f"merged from {ticket.key}: {moved}", now=job.now)  # fmt: skip
    completed = target.status == Status.NOWY and not fields.missing(target.fields)
    if completed:
        completion.accept_complete(job.session, job.app, target, by=job.by, now=job.now,
                                   reason=f"data complete with {ticket.key}")  # fmt: skip
    notices.tell_owner(
        job.session, job.app, target, now=job.now, actor=job.by,
        label="Kompletne / complete → ANALIZA" if completed else "Scalono / merged",
        title=f"{job.by} scalił(a) {ticket.key} z tym zgłoszeniem / merged {ticket.key} into it.",
        lines=[f"Przeniesiono / moved: {moved}",
               *(["Zgłoszenie kompletne → ANALIZA / ticket complete → ANALIZA"] if completed else [])],
    )  # fmt: skip
    return target


def _target(job: Job, ticket: db.Ticket) -> db.Ticket:
    key = job.command.duplicate_of or ""
    found = db.ticket_by_key(job.session, key)
    target = threads.surviving(job.session, found) if found is not None else None
    if target is None or target.id == ticket.id:
        why = "to samo zgłoszenie (the same ticket)" if found else "nie istnieje (unknown)"
        raise Refusal(f"{job.command.tag}: {key} {why}")
    if target.status == Status.ZAMKNIETY:
        raise Refusal(
            f"{job.command.tag}: {target.key} jest zamknięte; scal z otwartym zgłoszeniem albo "
            f"zamknij tylko to ({target.key} is closed; merge into an open ticket, or just "
            "close this one)"
        )
    if not _same_client(job, ticket, target):
        raise Refusal(
            f"{job.command.tag}: {target.key} należy do innego klienta ({target.client_email}); "
            f"scalać można tylko zgłoszenia tego samego klienta ({target.key} belongs to another "
            f"client, {target.client_email}; only tickets of the same client can be merged)"
        )
    return target


def _same_client(job: Job, ticket: db.Ticket, target: db.Ticket) -> bool:
    """The same address, or colleagues of one configured organisation (`threads`)."""
    if ticket.client_email.lower() == target.client_email.lower():
        return True
    return threads.is_colleague(job.app, target, ticket.client_email)


def merge(job: Job, duplicate: db.Ticket, target: db.Ticket) -> str:
    """Move the duplicate's fields, files, colleagues and thread to `target`; what moved."""
    extra = {c: v for c, v in (duplicate.fields or {}).items()
             if c not in target.fields or isinstance(v, list)}  # fmt: skip
    before = dict(target.fields or {})
    target.fields = fields.merge(before, extra)
    codes = [c for c in fields.FIELDS if target.fields.get(c) != before.get(c)]
    files = _copy_attachments(job.session, duplicate, target)
    t.add_copies(job.app, target, [duplicate.client_email, *duplicate.cc])
    duplicate.duplicate_of = db.key_of(target)
    t.add_link(duplicate, db.key_of(target))
    t.add_link(target, db.key_of(duplicate))
    named = ", ".join(labels.label(c) for c in codes) or "-"
    return f"pola / fields: {named}; {files} załącznik(i) / attachment(s)"


def _copy_attachments(session: Session, duplicate: db.Ticket, target: db.Ticket) -> int:
    """The duplicate's files listed on the target too (the blobs are shared by SHA-256)."""
    have = {a.sha256 for a in db.attachments_of(session, db.id_of(target))}
    copied = 0
    for row in db.attachments_of(session, db.id_of(duplicate)):
        if row.sha256 not in have:
            have.add(row.sha256)
            session.add(db.AttachmentRow(
                ticket_id=target.id, message_row_id=row.message_row_id, filename=row.filename,
                size=row.size, sha256=row.sha256, content_type=row.content_type,
                inline=row.inline,
            ))  # fmt: skip
            copied += 1
    return copied
