"""Notices from jinja2 templates (SPEC section 5: text and HTML, Polish or English).

Owns: finding `templates/<name>.<lang>.j2` (falling back to Polish) and
rendering its blocks `subject` (optional), `text` and `html` (optional: made
from the text when a template has none), with the filters `status(lang)`,
`when(lang)` and `day(lang)` that show a status, an instant or a day to a
reader of that language (`adapters.timefmt`), and the test `greeting` (a text
that opens with its own greeting), and Markdown shown as a person reads it
(`markdown_text`, `markdown_html`: never raw `**`, `##` or backticks in a mail).
Must not decide what is sent to whom.
"""

from __future__ import annotations

import html as htmllib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markdown_it import MarkdownIt

from mailintake.adapters import timefmt
from mailintake.domain.greetings import opens_with_greeting
from mailintake.domain.status import Status


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


class Renderer:
    """Renders notice templates; `reload()` picks up edited files (SIGHUP)."""

    def __init__(self, templates_dir: Path):
        self.templates_dir = Path(templates_dir)
        self.reload()

    def reload(self) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(self.templates_dir)),
            autoescape=jinja2.select_autoescape(
                enabled_extensions=(), default_for_string=False, default=False
            ),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=False,  # compiled once; `reload()` (SIGHUP) reads edited files again
        )
        self.env.filters["status"] = _status_name
        self.env.filters["when"] = timefmt.in_words  # {{ at | when(lang) }}
        self.env.filters["day"] = timefmt.day_in_words  # {{ eta | day(lang) }}
        # A Markdown document in a mail (the staff guide): plain text, and HTML.
        self.env.filters["markdown_text"] = markdown_to_text
        self.env.filters["markdown_html"] = markdown_to_html
        # `{% if staff_text is greeting %}`: the staff text greets, so the template does not.
        self.env.tests["greeting"] = opens_with_greeting

    def render(self, name: str, lang: str, **context: Any) -> Rendered:
        """Render notice `name` in `lang` (pl when that language has no template)."""
        template = self._template(name, lang)
        blocks = {}
        for block in ("subject", "text", "html"):
            if block in template.blocks:
                ctx = template.new_context(dict(context, lang=lang))
                blocks[block] = "".join(template.blocks[block](ctx))
        text = blocks["text"].strip() + "\n"
        html = blocks.get("html", "").strip() or text_to_html(text)
        return Rendered(subject=" ".join(blocks.get("subject", "").split()), text=text, html=html)

    def _template(self, name: str, lang: str) -> jinja2.Template:
        try:
            return self.env.get_template(f"{name}.{lang}.j2")
        except jinja2.TemplateNotFound:
            return self.env.get_template(f"{name}.pl.j2")


def _status_name(code: str | None, lang: str = "pl") -> str:
    """`{{ code | status(lang) }}`: the status as a reader of `lang` reads it."""
    return Status(code).shown(lang) if code else ""


_URL = re.compile(r"(https?://[^\s<>\"]+|mailto:[^\s<>\"]+)")


# What ends a sentence or a quote after a URL, never the URL itself (on escaped text).
_TRAILING = ("&quot;", "&#x27;", "&gt;", ".", ",", ";", ":", "!", "?", "*", "_")


def _link(match: re.Match[str]) -> str:
    """`<a>` round the URL without the punctuation that follows it in the sentence;
    a closing parenthesis stays when the URL opened one (`…/Foo_(bar)`)."""
    url, tail = match.group(0), ""
    while True:
        end = next((t for t in _TRAILING if url.endswith(t)), None)
        if end is None and url.endswith(")") and url.count("(") < url.count(")"):
            end = ")"
        if end is None or len(url) <= len(end):
            break
        url, tail = url[: -len(end)], end + tail
    return f'<a href="{url}">{url}</a>{tail}'


def text_to_html(text: str) -> str:
    """A plain HTML rendering of a text notice: escaped paragraphs, live links."""
    paragraphs = []
    for para in re.split(r"\n\s*\n", text.strip()):
        escaped = htmllib.escape(para)
        linked = _URL.sub(_link, escaped)
        paragraphs.append("<p>" + linked.replace("\n", "<br>\n") + "</p>")
    body = "\n".join(paragraphs)
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>\n'
        '<body style="font-family: Segoe UI, Arial, sans-serif; font-size: 14px;">\n'
        f"{body}\n</body></html>\n"
    )


_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_INLINE = (
    (re.compile(r"\*\*(.+?)\*\*|__(.+?)__"), lambda m: m.group(1) or m.group(2)),
    (re.compile(r"`([^`]+)`"), lambda m: m.group(1)),
    (re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)"), lambda m: f"{m.group(1)} ({m.group(2)})"),
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!|])"), lambda m: m.group(1)),
)


def markdown_to_text(markdown: str) -> str:
    """Markdown as plain text a mail client shows: headings underlined, no markup signs."""
    lines = []
    for line in markdown.splitlines():
        heading = _HEADING.match(line)
        if heading is not None:
            title = _inline_text(heading.group(2))
            rule = "=" if len(heading.group(1)) == 1 else "-"
            lines += [title, rule * min(len(title), 72)]
        else:
            lines.append(_inline_text(line))
    return "\n".join(lines).strip() + "\n"


def _inline_text(line: str) -> str:
    for pattern, replace in _INLINE:
        line = pattern.sub(replace, line)
    return line


def markdown_to_html(markdown: str) -> str:
    """Markdown rendered to HTML (CommonMark, markdown-it-py), in our mail's page."""
    body = MarkdownIt("commonmark", {"html": False}).render(markdown)
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>\n'
        '<body style="font-family: Segoe UI, Arial, sans-serif; font-size: 14px;">\n'
        f"{body}\n</body></html>\n"
    )
