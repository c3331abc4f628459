"""The staff tag guide as shipped: `docs/staff-guide.md`, the one source (issue 12).

Owns: finding and reading that file — inside the package when installed from a wheel
(`pyproject.toml` ships `docs/staff-guide.md` as `mailintake/docs/staff-guide.md`), else
the checkout's `docs/`. Must not change, render or decide who gets the text.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
NAME = "staff-guide.md"


def guide_path() -> Path:
    """The installed guide when there is one, else the checkout's."""
    installed = PACKAGE_DIR / "docs" / NAME
    return installed if installed.is_file() else PACKAGE_DIR.parent / "docs" / NAME


def staff_guide() -> str:
    """The guide's Markdown text, every tag in Polish and English (SPEC section 6)."""
    return guide_path().read_text(encoding="utf-8")
