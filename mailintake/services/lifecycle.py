"""Use cases of the procedure's later clocks: questions, the solution, closing, the survey.

Owns: asking the client a question (awaiting client, SLA paused, SPEC section 4),
resolving a ticket (`auto_close_at`), complaint / confirmation / comment on a
`ROZWIAZANY` ticket (SPEC section 5), closing a ticket with its notice and
survey, and recording a survey answer (SPEC section 7). Runs inside the
caller's transaction; must not commit or send (the outbox sends).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlmodel import Session

from mailintake.adapters import db
from mailintake.app import App
from mailintake.domain import deadlines, fields, intents
from mailintake.domain.mail import Attachment
from mailintake.domain.status import CloseReason, Status
from mailintake.services import completion, notices
from mailintake.services import tickets as t
from mailintake.services.outcome import Incoming, Outcome


def client_reply_to_resolved(
    session: Session, app: App, msg: Incoming, ticket: db.Ticket
) -> Outcome:
    """REKLAMACJA reopens to ANALIZA (the client is told), POTWIERDZAM closes now, else a comment."""
    mail = msg.mail
    t.store_inbound(session, app, ticket, msg, kind="client")
    intent = intents.client_intent(mail.own_text, mail.subject)
    by = mail.from_addr or ticket.client_email
    if intent == "complaint":
        t.change_status(session, ticket, Status.ANALIZA, by=by, reason="client complaint",
                        now=msg.now)  # fmt: skip
        ticket.auto_close_at = None
        ticket.resolved_at = None
        ticket.resolution = None
        # SPEC section 1: every status change is mailed to the client.
        completion.auto_reply(session, app, msg, ticket, "status_changed", kind="status",
                              **status_context(Status.ROZWIAZANY, Status.ANALIZA))  # fmt: skip
        return Outcome("updated", ticket.key, mail.message_id, "complaint")
    if intent == "confirm":
        close(session, app, ticket, CloseReason.RESOLVED, by=by, text="client confirmed",
              now=msg.now)  # fmt: skip
        return Outcome("updated", ticket.key, mail.message_id, "confirmed")
    return Outcome("updated", ticket.key, mail.message_id, "comment")


def status_context(old: str, new: str, **values: Any) -> dict[str, Any]:
    """What the `status_changed` template shows; `values` fill in the optional parts."""
    return {"old_status": old, "new_status": new, "staff_text": "", "eta": None,
            "release_date": None, "resolution": None, "ask_accept": False,
            "auto_close_at": None, "duplicate_of": None} | values  # fmt: skip


def close(
    session: Session,
    app: App,
    ticket: db.Ticket,
    reason: CloseReason,
    *,
    by: str,
    now: datetime,
    text: str = "",
    note: str = "",
    duplicate_of: str | None = None,
    files: Sequence[Attachment] = (),
) -> None:
    """→ ZAMKNIETY with its reason; `resolved` sends the survey (SPEC section 7).

    `text` goes to the client in the closing notice, with `files`; `note` is only
    recorded. A duplicate's notice names the ticket it was merged into.
    """
    why = note or text or reason
    old = t.change_status(session, ticket, Status.ZAMKNIETY, by=by, reason=why, now=now)
    ticket.close_reason = reason
    ticket.closed_at = now
    ticket.auto_close_at = None
    mail_client = functools.partial(
        notices.queue_mail, session, app, ticket=ticket, to=[ticket.client_email], now=now,
        lang=ticket.language, auto_submitted="auto-generated",
    )  # fmt: skip
    if reason == CloseReason.RESOLVED:
        mail_client(template="survey", kind="survey", links=survey_links(app, ticket))
    elif reason == CloseReason.INCOMPLETE:
        missing = t.field_labels(fields.missing(ticket.fields), ticket.language)
        mail_client(template="closed_incomplete", kind="closed", missing=missing)
    else:
        mail_client(template="status_changed", kind="status", attachments=files,
                    **status_context(old, Status.ZAMKNIETY, staff_text=text,
                                     duplicate_of=duplicate_of))  # fmt: skip


def survey_links(app: App, ticket: db.Ticket) -> list[dict[str, int | str]]:
    """mailto: links that answer the survey with one click (SPEC section 7), in its language."""
    word = "Rating" if ticket.language == "en" else "Ocena"
    links: list[dict[str, int | str]] = []
    for rating in range(1, 6):
        subject = quote(f"[{ticket.key}] {word} {rating}")
        links.append(
            {"rating": rating, "url": f"mailto:{app.settings.support_address}?subject={subject}"}
        )
    return links


def record_survey(session: Session, app: App, msg: Incoming, ticket: db.Ticket) -> Outcome | None:
    """A rating answer to a closed ticket is recorded once and thanked once; None if not one."""
    if ticket.close_reason != CloseReason.RESOLVED:
        return None
    found = intents.survey_rating(msg.mail.subject, msg.mail.own_text)
    if found is None:
        return None
    rating, comment = found
    t.store_inbound(session, app, ticket, msg, kind="survey")
    ticket.survey_rating = rating
    ticket.survey_comment = comment or ticket.survey_comment
    t.add_history(session, ticket, ticket.status, ticket.status, by=msg.mail.from_addr or "",
                  reason=f"survey rating {rating}", now=msg.now)  # fmt: skip
    sender = msg.mail.from_addr  # set whenever may_autoreply is (domain.mailrules)
    if not ticket.survey_thanked and msg.classified.may_autoreply and sender:
        ticket.survey_thanked = True
        notices.queue_mail(session, app, ticket=ticket, to=[sender],
                           template="survey_thanks", kind="survey_thanks", now=msg.now,
                           lang=ticket.language, rating=rating)  # fmt: skip
    return Outcome("survey", ticket.key, msg.mail.message_id)


def ask_question(
    session: Session,
    app: App,
    ticket: db.Ticket,
    *,
    by: str,
    text: str,
    now: datetime,
    files: Sequence[Attachment] = (),
    mailed: bool = True,
) -> None:
    """Mail the client a question; the ticket awaits the client and its SLA clock stops (SPEC §4).

    A second question while one is open restarts the reminder clock but keeps
    the one open pause: the SLA clock has been stopped since the first. With
    `mailed=False` the client already has the question (staff wrote to them).
    """
    paused = [list(p) for p in ticket.sla_paused or []]
    if not paused or paused[-1][1] is not None:
        paused.append([now.isoformat(), None])
    ticket.sla_paused = paused
    ticket.awaiting_client = True
    ticket.awaiting_since = now
    ticket.question_reminded_at = None
    ticket.suspended = False
    ticket.first_response_at = ticket.first_response_at or now
    ticket.updated_at = now
    t.add_history(session, ticket, ticket.status, ticket.status, by=by,
                  reason="question to the client; awaiting the client", now=now)  # fmt: skip
    if mailed:
        # A person wrote it: no Auto-Submitted, not counted against the auto-reply cap.
        notices.queue_mail(session, app, ticket=ticket, to=[ticket.client_email],
                           template="message", kind="question", now=now, lang=ticket.language,
                           auto_submitted=None, automatic=False, question=True,
                           staff_text=text, own_text=text, attachments=files)  # fmt: skip


def resolve(
    session: Session,
    app: App,
    ticket: db.Ticket,
    *,
    by: str,
    resolution: str,
    text: str,
    now: datetime,
    files: Sequence[Attachment] = (),
) -> db.OutboxRow | None:
    """→ ROZWIAZANY (`full` or `workaround`), auto-close in 72 h, the solution to the client.

    Raises `Refusal` when the status machine forbids it (SPEC section 2). An
    open question is settled by the solution: the SLA pause ends now.
    """
    old = t.change_status(session, ticket, Status.ROZWIAZANY, by=by,
                          reason=f"resolved ({resolution})", now=now)  # fmt: skip
    ticket.resolution = resolution
    ticket.resolved_at = now
    ticket.auto_close_at = deadlines.auto_close_at(now)
    ticket.first_response_at = ticket.first_response_at or now
    end_question(ticket, now)
    # A person wrote the solution: no Auto-Submitted, not counted in the cap.
    return notices.queue_mail(session, app, ticket=ticket, to=[ticket.client_email],
                              template="status_changed", kind="status", now=now,
                              lang=ticket.language, auto_submitted=None, automatic=False,
                              attachments=files,
                              **status_context(old, Status.ROZWIAZANY, staff_text=text,
                                               resolution=resolution,
                                               auto_close_at=ticket.auto_close_at),
                              )  # fmt: skip


def end_question(ticket: db.Ticket, now: datetime) -> None:
    """The ticket no longer awaits the client: close the open SLA pause, clear the flags."""
    paused = [list(p) for p in ticket.sla_paused or []]
    if paused and paused[-1][1] is None:
        paused[-1][1] = now.isoformat()
    ticket.sla_paused = paused
    ticket.awaiting_client = False
    ticket.awaiting_since = None
    ticket.question_reminded_at = None
    ticket.suspended = False
