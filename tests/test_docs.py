"""The documents in the repository stand on their own and say what the product does.

README.md and docs/*.md are read as a user who cloned the repository reads them:
every relative link must lead to a file (and heading) inside it, and nothing may
send the reader to files beside the checkout. The operations guide names every
setting the program reads, and the procedure's worked calendar example shows the
instants the product computes.
"""

from __future__ import annotations

import argparse
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mailintake import cli
from mailintake.domain import deadlines
from mailintake.domain.businessdays import BusinessCalendar

REPO = Path(__file__).resolve().parents[1]
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def _prose(path: Path) -> str:
    """The document without its code blocks (commands there are not links)."""
    return FENCE.sub("", path.read_text(encoding="utf-8"))


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    found = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*$", _prose(path), re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def _relative_links(path: Path) -> list[str]:
    return [t for t in LINK.findall(_prose(path)) if not re.match(r"[a-z][a-z0-9+.-]*:", t)]


def test_the_documents_exist_and_the_readme_links_each() -> None:
    """The procedure, the staff guide and the operations guide are in docs/ and linked from README."""
    names = {p.name for p in DOCUMENTS}
    assert {"procedure.md", "staff-guide.md", "operations.md"} <= names
    linked = {Path(t.partition("#")[0]).name for t in _relative_links(REPO / "README.md")}
    assert {"procedure.md", "staff-guide.md", "operations.md"} <= linked


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_every_relative_link_resolves_inside_the_repository(path: Path) -> None:
    """Each relative link names a file in the repository, and its #anchor a heading there."""
    broken = []
    for target in _relative_links(path):
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        missing = not resolved.is_relative_to(REPO) or not resolved.exists()
        if missing or (anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved)):
            broken.append(target)
    assert broken == []


def _help_texts() -> str:
    """`mailintake --help` and the help of every subcommand, as a user sees them."""
    texts = []
    pending = [cli.build_parser()]
    while pending:
        parser = pending.pop()
        texts.append(parser.format_help())
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                pending.extend(action.choices.values())
    return "\n".join(texts)


def test_no_document_or_help_text_points_beside_the_checkout() -> None:
    """No document nor CLI help mentions `shared/`: a user has only the repository."""
    texts = {p.name: p.read_text(encoding="utf-8") for p in DOCUMENTS} | {"--help": _help_texts()}
    assert [name for name, text in texts.items() if "shared/" in text] == []


UNSHIPPED = re.compile(r"\bSPEC\b|\bSPEC\.md\b|\bissue \d+\b|\bseed/")


def _read_by_users() -> dict[str, str]:
    """What ops and clients read: documents, CLI help, shipped config, the unit, mail text."""
    texts = {p.name: p.read_text(encoding="utf-8") for p in DOCUMENTS} | {"--help": _help_texts()}
    shipped = [*sorted((REPO / "config").rglob("*")), *sorted((REPO / "systemd").rglob("*"))]
    for path in (p for p in shipped if p.is_file() and p.suffix != ".eml"):
        texts[str(path.relative_to(REPO))] = path.read_text(encoding="utf-8")
    for path in sorted((REPO / "templates").glob("*.j2")):
        # Jinja comments ({# … #}) are for developers and never reach a reader.
        text = re.sub(r"\{#.*?#\}", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
        texts[str(path.relative_to(REPO))] = text
    return texts


def test_nothing_users_read_cites_documents_they_do_not_have() -> None:
    """No user-facing text sends its reader to SPEC sections, issues or the seed procedure.

    Those documents are the team's, not the user's: a user of the repository has only
    README.md and docs/, so the reference would lead nowhere.
    """
    cited = {name: UNSHIPPED.findall(text) for name, text in _read_by_users().items()}
    assert {name: found for name, found in cited.items() if found} == {}


def test_the_operations_guide_names_every_setting() -> None:
    """Each MAILINTAKE_* variable the program reads is described in docs/operations.md."""
    source = (REPO / "mailintake" / "config.py").read_text(encoding="utf-8")
    read = {f"MAILINTAKE_{n}" for n in re.findall(r"r\.\w+\(\s*\"([A-Z0-9_]+)\"", source)}
    assert len(read) > 25
    guide = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    assert sorted(v for v in read if not re.search(rf"\b{v}\b", guide)) == []


def test_the_worked_calendar_example_is_what_the_product_computes() -> None:
    """The procedure's example ticket (Thu 5 Nov 2026, 17:30) has the dates the product gives it."""
    warsaw = ZoneInfo("Europe/Warsaw")
    cal = BusinessCalendar()
    start = cal.clock_start(datetime(2026, 11, 5, 17, 30, tzinfo=warsaw))
    second_reminder = deadlines.reminder_times(start, cal)[-1]
    due = deadlines.completion_due(start, cal)
    computed = [
        ("clock starts", start),
        ("reminder 1", deadlines.reminder_times(start, cal)[0]),
        ("reminder 2", second_reminder),
        ("`completion_due`", due),
        ("`close_after`", deadlines.close_after(due, second_reminder)),
    ]
    table = (REPO / "docs" / "procedure.md").read_text(encoding="utf-8")
    for step, at in computed:
        row = f"| {step} | {at.astimezone(warsaw):%a %Y-%m-%d %H:%M} |"
        assert row in table, row
