"""Use case: a message from a staff address (SPEC section 6).

Owns: routing staff mail — commands by subject tag, relayed replies,
registration on behalf of a client. Runs inside the intake transaction.
"""

from __future__ import annotations

from sqlmodel import Session

from mailintake.bootstrap import App
from mailintake.services import tickets as t
from mailintake.services.outcome import Incoming, Outcome


def handle_staff_mail(session: Session, app: App, msg: Incoming) -> Outcome:
    """Until commands land: a staff message on a ticket is kept as a note."""
    from mailintake.services.intake import find_ticket

    ticket = find_ticket(session, app, msg.mail)
    t.store_inbound(session, app, ticket, msg.mail, raw_sha256=msg.raw_sha256,
                    at=msg.received_at, kind="staff")  # fmt: skip
    return Outcome("note" if ticket else "ignored", ticket.key if ticket else None,
                   msg.mail.message_id)  # fmt: skip
