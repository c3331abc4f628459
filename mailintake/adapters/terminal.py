"""What reaches a person's terminal or a plain-text mail: safe text and tables that fit (rich).

Owns: `safe` — the one escape of mail-derived text before it is shown (control characters,
terminal escape sequences, bidirectional overrides and line separators become visible
`\\x1b`, `\\u202e` escapes, so a subject can neither drive the terminal nor hide text),
`json_text` — JSON with the same characters as JSON escapes — and `table`, a table laid out by rich to a given width (long cells wrap inside their
column, never push the others). Must not decide what is shown; callers pass the cells.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import sys

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

# C0 and C1 controls and DEL, plus the format characters that reorder or hide text
# ("Trojan Source", CVE-2021-42574) and the Unicode line and paragraph separators.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
_UNSAFE_KEEPING_LINES = re.compile(_UNSAFE.pattern.replace("\x00-\x1f", "\x00-\x08\x0b-\x1f"))
# json.dumps escapes C0 inside strings itself; raw C0 in its output is layout (indent).
_UNSAFE_IN_JSON = re.compile(_UNSAFE.pattern.replace("\x00-\x1f", ""))
PIPED_WIDTH = 200  # columns when the output is not a terminal (a file, a pager, `head`)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: object, *, multiline: bool = False) -> str:
    """`text` with every control or invisible formatting character shown as an escape.

    With `multiline`, line feeds (and tabs) stay: the text of a message shown as a block.
    """
    pattern = _UNSAFE_KEEPING_LINES if multiline else _UNSAFE
    return pattern.sub(_escape, str(text))


def json_text(value: object, **kwargs: object) -> str:
    """`value` as JSON (UTF-8 text kept readable) with every unsafe character `\\u`-escaped.

    `json.dumps` escapes C0 controls but, without `ensure_ascii`, writes C1 controls
    (U+009B is an 8-bit CSI) and bidirectional overrides raw; here they are JSON escapes,
    so the parsed value is the same and a terminal showing it is not driven (issue 10).
    """
    text = json.dumps(value, ensure_ascii=False, **kwargs)  # type: ignore[arg-type]
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def width() -> int:
    """The width of the terminal on stdout, or `PIPED_WIDTH` when stdout is no terminal."""
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return PIPED_WIDTH


def table(
    columns: list[str], rows: list[list[str]], *, width: int, ascii_only: bool = False
) -> str:
    """The rows under their headers, laid out to `width` columns; cells are escaped here."""
    grid = Table(
        box=box.ASCII2 if ascii_only else box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        header_style="",
        safe_box=ascii_only,
    )
    for index, name in enumerate(columns):  # the first column (the key) never wraps
        grid.add_column(Text(safe(name)), overflow="fold", no_wrap=index == 0)
    for row in rows:
        grid.add_row(*(Text(safe(cell)) for cell in row))
    out = io.StringIO()
    console = Console(
        file=out, width=width, color_system=None, highlight=False, emoji=False, legacy_windows=False
    )
    console.print(grid)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines()) + "\n"
