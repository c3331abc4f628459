"""What the daily digest carries (SPEC section 8): R-1 … R-4 for staff, in Polish, with charts.

Owns: `digest_context(app, now)` — each report's title, Polish column names and cells
(`services.reportfmt`), a plain-text table for the text part, and for the HTML part a
small chart of the queue's size and SLA state over the last 30 days (`services.trend`,
drawn by `adapters.charts`) shown through a `cid:` PNG. Must not decide when the digest is
due or send it (`services.sweeps` queues it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mailintake.adapters import charts, terminal
from mailintake.app import App
from mailintake.domain.businessdays import as_utc
from mailintake.services import reportfmt, reports, trend
from mailintake.services.tickets import WARSAW

TEXT_WIDTH = 200  # the plain-text part: R-1's ten columns without folding a date


def digest_context(app: App, now: datetime) -> dict[str, Any]:
    """The four reports for the digest mail; `images` are the charts its HTML part shows."""
    now = as_utc(now)
    trends = trend.queue_trends(app, now)
    entries, images = [], []
    for which, build in reports.REPORTS.items():
        rows = build(app, now)
        columns = [reportfmt.HEADERS_PL[c] for c in reports.COLUMNS[which]]
        cells = reportfmt.cells(reports.COLUMNS[which], rows, lang="pl")
        cid = f"{which}-trend@mailintake"
        images.append((cid, _chart(which, trends[which])))
        entries.append({
            "code": which.upper().replace("R", "R-"),
            "title": reports.TITLES[which],
            "columns": columns,
            "rows": cells,
            "table": _text_table(columns, cells),
            "count": len(rows),
            "chart": cid,
        })  # fmt: skip
    return {"reports": entries, "day": now.astimezone(WARSAW).date(), "images": images}


def _text_table(columns: list[str], cells: list[list[str]]) -> str:
    if not cells:
        return "(brak zgłoszeń)\n"
    return terminal.table(columns, cells, width=TEXT_WIDTH, ascii_only=True)


def _chart(which: str, queue: trend.Trend) -> bytes:
    code = which.upper().replace("R", "R-")
    title = f"{code}: zgłoszenia w kolejce ({len(queue.days)} dni)"
    return charts.queue_chart(title, queue.days, queue.within, queue.past)
