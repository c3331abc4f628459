"""Use case: what could not be handled, and handling it again after a fix (SPEC sections 5 and 9).

Owns: listing quarantined messages and retrying them from their raw copy.
A retried message that fails again is quarantined anew (the old entry is
marked `retried`), so the trail of attempts stays visible.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from mailintake.adapters import db
from mailintake.app import App
from mailintake.errors import Refusal
from mailintake.services import intake
from mailintake.services.outcome import Outcome


def list_held(app: App, *, include_done: bool = False) -> list[dict[str, Any]]:
    with db.reading(app.engine) as session:
        query = select(db.QuarantineRow).order_by(col(db.QuarantineRow.id))
        if not include_done:
            query = query.where(db.QuarantineRow.status == "held")
        return [
            {
                "id": row.id,
                "at": row.at.isoformat(),
                "size": row.size,
                "reason": row.reason,
                "sha256": row.raw_sha256,
                "source": row.source_ref,
                "status": row.status,
            }
            for row in session.exec(query)
        ]


def retry(app: App, quarantine_id: int) -> Outcome:
    """Handle a held message again from its raw copy; raises Refusal when it cannot be."""
    with db.transaction(app.engine) as session:
        row = session.get(db.QuarantineRow, quarantine_id)
        if row is None or row.status != "held":
            raise Refusal(f"no held message #{quarantine_id} in quarantine")
        if not row.raw_sha256 or not app.blobs.has("raw", row.raw_sha256):
            raise Refusal(
                f"#{quarantine_id} was never read ({row.reason}); raise MAILINTAKE_MAX_MESSAGE_MB "
                "and move it from the Quarantine folder back to the inbox"
            )
        raw = app.blobs.get("raw", row.raw_sha256)
        received_at = row.received_at or row.at
    outcome = intake.handle_message(
        app, raw, received_at=received_at, source_ref=f"quarantine:{quarantine_id}"
    )
    with db.transaction(app.engine) as session:
        row = session.get(db.QuarantineRow, quarantine_id)
        assert row is not None, "quarantine rows are never deleted"
        row.status = "retried" if outcome.outcome == "quarantined" else "released"
    return outcome
