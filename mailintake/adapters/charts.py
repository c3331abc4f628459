"""Small charts for mail: one queue's size and SLA state per day, as a PNG (matplotlib, Agg).

Owns: `queue_chart` — stacked daily bars (within the deadline, past it) sized for the
digest's HTML part, where Outlook shows a `cid:` PNG but neither inline SVG nor `data:`
URIs. Uses matplotlib's object API with the Agg canvas, never `pyplot`'s global state,
so it is safe in any thread and needs no display. Must not choose the numbers.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

WITHIN_COLOUR = "#4a9a5b"
PAST_COLOUR = "#c8453b"
SIZE_INCHES = (4.8, 1.6)
DPI = 100  # 480 × 160 pixels


def queue_chart(
    title: str,
    days: Sequence[date],
    within: Sequence[int],
    past: Sequence[int],
    labels: tuple[str, str] = ("w terminie", "po terminie"),
) -> bytes:
    """A PNG of daily stacked bars: `within` (green) under `past` (red), one bar per day."""
    # Imported here: matplotlib takes most of a second to import, and only the digest,
    # once a day, draws; every other command and the daemon's start stay quick.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=SIZE_INCHES, dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = range(len(days))
    axes.bar(positions, within, color=WITHIN_COLOUR, width=0.8, label=labels[0])
    axes.bar(positions, past, bottom=within, color=PAST_COLOUR, width=0.8, label=labels[1])
    axes.set_title(title, fontsize=9, loc="left")
    ticks = [i for i in positions if i % 7 == (len(days) - 1) % 7]
    axes.set_xticks(ticks, [days[i].strftime("%d.%m") for i in ticks], fontsize=7)
    axes.tick_params(axis="y", labelsize=7)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # tickets come whole
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    figure.tight_layout(pad=0.4)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()
