"""Client text never drives the operator's terminal: log lines, JSON and CSV (issue 10).

A subject such as `\x1b[2J` (clear screen), an 8-bit CSI (U+009B) or a bidirectional
override (U+202E) reaches the console log, `--format json` and CSV on a terminal escaped.
"""

from __future__ import annotations

import io
import json

import structlog

from mailintake import log
from mailintake.adapters import terminal
from mailintake.services import reportfmt

HOSTILE = "a\x1b[2Jb\x9bc\u202ed\x00e\x07"
RAW = ("\x1b", "\x9b", "\u202e", "\x00", "\x07")


def test_the_console_log_shows_control_characters_escaped() -> None:
    stream = io.StringIO()
    log.configure("console", stream=stream)
    try:
        structlog.get_logger().warning("message.processed", subject=HOSTILE, n=3)
        structlog.get_logger().warning(HOSTILE)
    finally:
        log.configure("json", stream=io.StringIO())
    out = stream.getvalue()
    assert not any(c in out for c in RAW), out.encode()
    assert "\\x1b[2J" in out and "n=3" in out


def test_json_output_escapes_c1_and_bidi_and_keeps_the_value() -> None:
    rows = [{"subject": HOSTILE, "key": "LOG-000001"}]
    for text in (reportfmt.as_json(rows), terminal.json_text(rows, indent=2)):
        assert not any(c in text for c in RAW), text.encode()
        assert json.loads(text) == rows
    assert "zażółć" in terminal.json_text({"s": "zażółć"})  # Polish stays readable


def test_csv_on_a_terminal_is_escaped_but_a_file_gets_the_data() -> None:
    rows = [{"subject": HOSTILE}]
    shown = reportfmt.as_csv(["subject"], rows, for_terminal=True)
    assert not any(c in shown for c in RAW), shown.encode()
    assert HOSTILE in reportfmt.as_csv(["subject"], rows)
    shown = reportfmt.as_excel(["subject"], rows, for_terminal=True)
    assert not any(c in shown for c in RAW), shown.encode()
    assert HOSTILE in reportfmt.as_excel(["subject"], rows)
