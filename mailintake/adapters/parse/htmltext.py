"""HTML → readable plain text, for a message without a text part.

Owns: block elements and <br> as line breaks, paragraph gaps as mail clients
show them, blockquotes as "> " quotes (so `owntext` can drop them), list items
as "- ", <pre> kept line for line; script, style and head dropped.

Must not: fetch anything the HTML refers to, keep markup or attributes, or raise
(html.parser faults keep the text read so far).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK_TAGS = (
    "address article aside blockquote dd div dl dt fieldset figcaption figure footer form"
    " h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section table tr ul"
)
_BLOCK = frozenset(_BLOCK_TAGS.split())
# Blocks that stand apart from their neighbours by an empty line, as mail clients show them.
_PARAGRAPH = frozenset(
    {"blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "ol", "p", "pre", "table", "ul"}
)
_SKIP = {"script", "style", "head", "title", "template", "noscript"}
# A tag whose attributes run over this many characters loses them before parsing:
# html.parser builds every attribute as a Python tuple (4 million cost 2 GB; issue 10),
# and none is ever shown. Linear: each scan stops at the next `<` or `>`.
_LONG_TAG = re.compile(r"<([A-Za-z][A-Za-z0-9:-]*)[^<>]{1024,}(?:>|(?=<)|\Z)")


class _TextMaker(HTMLParser):
    """Block elements and <br> become line breaks; blockquotes become "> " quotes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.line: list[str] = []
        self.skip = 0
        self.quote = 0
        self.pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag == "br":
            self.newline(force=True)
        elif tag in _BLOCK:
            self.newline(paragraph=tag in _PARAGRAPH)
            self.quote += tag == "blockquote"
            self.pre += tag == "pre"
            if tag == "li":
                self.line.append("- ")
        elif tag in ("td", "th") and self.line:
            self.line.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK:
            self.newline(paragraph=tag in _PARAGRAPH)
            if tag == "blockquote":
                self.quote = max(0, self.quote - 1)
            if tag == "pre":
                self.pre = max(0, self.pre - 1)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.pre:
            for i, piece in enumerate(data.split("\n")):
                if i:
                    self.newline(force=True)
                self.line.append(piece)
            return
        text = re.sub(r"[ \t\r\n\f]+", " ", data)
        if not self.line or self.line[-1].endswith((" ", "- ")):
            text = text.lstrip(" ")
        self.line.append(text)

    def newline(self, force: bool = False, paragraph: bool = False) -> None:
        """End the current line; `force` keeps an empty one (<br>), `paragraph` adds a gap."""
        text = "".join(self.line).replace("\xa0", " ").rstrip()
        self.line = []
        if text or force:
            self.lines.append(("> " * self.quote + text).rstrip())
        if paragraph and self.lines and self.lines[-1] != "":
            self.lines.append("")


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML body; script, style and head are dropped."""
    maker = _TextMaker()
    try:
        maker.feed(_LONG_TAG.sub(r"<\1>", html))
        maker.close()
    except Exception:  # noqa: BLE001 - html.parser rarely raises; keep what we have
        pass
    maker.newline()
    text = "\n".join(maker.lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
