"""Use case step: saying when the deployment assumption of the sender check fails (issue 10).

Owns: `note_stamp` — for every incoming message in `authres`/`exchange` mode,
whether our border MTA stamped it (`staffauth.missing_stamp`); an unstamped one
is recorded on its intake row (counted by `mailintake_mail_unstamped_total`, read
from the database, so `ingest` runs count too), logged as a warning at most once
an hour (`WARN_EVERY`, by the clock passed in, judged from the rows: shared by every
process and loop), and reported in its `Outcome` so the daemon counts it as well
(`mailintake_errors_total{kind="mail_unstamped"}`). Runs inside the intake
transaction.
Must not refuse or change the message: the sender check itself does that for
staff mail; this only says the assumption behind it is failing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlmodel import Session

from mailintake.adapters import db
from mailintake.app import App
from mailintake.domain import staffauth
from mailintake.domain.mail import ParsedMail

log = structlog.get_logger()

WARN_EVERY = timedelta(hours=1)
UNSTAMPED = "mail_unstamped"


def note_stamp(session: Session, app: App, mail: ParsedMail, now: datetime) -> str | None:
    """None when our border stamped `mail`; else "warned" when this one is warned of (none
    was in the hour before `now`, by any process), "counted" otherwise. The caller records
    it on the intake row."""
    mode = staffauth.parse_auth_mode(app.settings.staff_auth)
    missing = staffauth.missing_stamp(mode, mail.headers)
    if missing is None:
        return None
    if db.unstamped_warned_since(session, now - WARN_EVERY):
        return "counted"
    log.warning(
        "security.mail_unstamped", mode=str(mode), reason=missing,
        message_id=mail.message_id, sender=mail.from_addr,
        hint="the border MTA is not stamping or was bypassed: staff commands cannot be "
        "trusted (README, Security); repeats are counted, logged once an hour",
    )  # fmt: skip
    return "warned"
