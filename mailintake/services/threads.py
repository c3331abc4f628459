"""Which ticket a message belongs to, and who may take part in it (SPEC section 5).

Owns: finding a ticket by the threading headers (`In-Reply-To`, `References`),
by our own Message-IDs (they carry the key) or by the `[LOG-000123]` key in
the subject, the participant rule (the client, a colleague of the same
configured organisation, staff) and where a merged duplicate's thread leads
(`surviving`). Read-only inside the caller's transaction:
must not change a ticket, store a message or queue mail.
"""

from __future__ import annotations

from sqlmodel import Session

from mailintake import testhooks
from mailintake.adapters import db
from mailintake.app import App
from mailintake.domain import staffcmd
from mailintake.domain.mail import ParsedMail


def find_ticket(session: Session, app: App, mail: ParsedMail) -> db.Ticket | None:
    """The ticket this message answers, if the sender may take part in it (SPEC section 5)."""
    candidates = [
        db.ticket_by_message_ids(session, mail.thread_ids),
        ticket_from_our_ids(session, app, mail.thread_ids),
        ticket_from_subject(session, app, mail.subject),
    ]
    for ticket in candidates:
        if ticket is not None and is_participant(app, ticket, mail.from_addr):
            testhooks.pause("intake.ticket_found")
            return ticket
    return None


def thread_disagrees(session: Session, app: App, mail: ParsedMail) -> tuple[str, str] | None:
    """(the subject's key, the thread's key) when they name two unrelated tickets, else None.

    DKIM signs only the headers present when a mail was signed, so a replayed staff mail
    may carry an added `In-Reply-To`/`References` aiming its command elsewhere (issue 10):
    such a command must not run. A ticket merged into the other (`duplicate_of`) agrees.
    """
    named = ticket_from_subject(session, app, mail.subject)
    threaded = db.ticket_by_message_ids(session, mail.thread_ids) or ticket_from_our_ids(
        session, app, mail.thread_ids
    )
    if named is None or threaded is None or named.key == threaded.key:
        return None
    if threaded.key == named.duplicate_of or named.key == threaded.duplicate_of:
        return None
    return named.key or "", threaded.key or ""


def ticket_we_mailed(session: Session, ids: tuple[str, ...]) -> db.Ticket | None:
    """The ticket of a message we actually sent among `ids` (its `message` row, direction out).

    What an auto-reply, an out-of-office note or a bounce may join (issue 10): not a
    key-shaped Message-ID anyone can write, not the subject key, not a client's message.
    """
    return db.ticket_by_message_ids(session, ids, direction="out")


def ticket_from_our_ids(session: Session, app: App, ids: tuple[str, ...]) -> db.Ticket | None:
    """Our Message-IDs carry the key (`LOG-000123.<uuid>@domain`): enough even if the row is gone."""
    domain = app.settings.support_address.rpartition("@")[2]
    for mid in ids:
        local, _, mid_domain = mid.partition("@")
        if mid_domain.lower() == domain:
            key = staffcmd.find_ticket_key(
                f"[{local.partition('.')[0]}]", app.settings.ticket_prefix
            )
            if key and (ticket := db.ticket_by_key(session, key)):
                return ticket
    return None


def ticket_from_subject(session: Session, app: App, subject: str) -> db.Ticket | None:
    key = staffcmd.find_ticket_key(subject, app.settings.ticket_prefix)
    return db.ticket_by_key(session, key) if key else None


def is_participant(app: App, ticket: db.Ticket, address: str | None) -> bool:
    """The ticket's client, a colleague from the same configured organisation, or staff."""
    if not address:
        return False
    if address == ticket.client_email or address in app.settings.staff:
        return True
    return is_colleague(app, ticket, address)


def is_colleague(app: App, ticket: db.Ticket, address: str) -> bool:
    """An address of the ticket's client organisation, as configured in `clients.toml`.

    Only a configured organisation has colleagues: people sharing a free-mail domain
    are not one organisation. Our own people are nobody's colleagues.
    """
    if address in app.settings.internal or address == app.settings.support_address:
        return False
    org = app.settings.clients.for_address(address)
    return bool(ticket.client_org) and org.domains != () and org.name == ticket.client_org


def surviving(session: Session, ticket: db.Ticket) -> db.Ticket:
    """The ticket a duplicate was merged into (followed to the end), else the ticket itself."""
    seen = {ticket.id}
    while ticket.duplicate_of and (target := db.ticket_by_key(session, ticket.duplicate_of)):
        if target.id in seen:
            break  # a loop of merges (never made by us): stop where we are
        seen.add(target.id)
        ticket = target
    return ticket
