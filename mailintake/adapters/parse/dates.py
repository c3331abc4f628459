"""The message's Date header as an aware datetime.

Owns: mail-parser's reading of the date, the stdlib's RFC 5322 §3.3 parser as
the fallback, and UTC for a date written without a zone.

Must not: raise on an unreadable date (it is None, with a defect recorded), or
use the time the message arrived (that is the inbox's `received_at`).
"""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime


def message_date(mp: object, raw: str | None, defects: list[str]) -> datetime | None:
    """The aware date of mail-parser object `mp`, else of the raw Date value; None if unreadable."""
    value = getattr(mp, "date", None) if mp is not None else None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not raw:
        return None
    try:
        value = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        defects.append(f"date unreadable: {raw!r}")
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
