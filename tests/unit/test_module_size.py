"""Every module of `mailintake/` is short enough to read in one sitting: 400 lines at most."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "mailintake"
MAX_LINES = 400


def _modules() -> list[Path]:
    """Every module of the package but the Alembic migrations (generated, append-only)."""
    return sorted(
        path
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.relative_to(PACKAGE).parts
    )


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_the_check_finds_the_modules() -> None:
    """The check sees the package's modules (a wrong path would pass vacuously)."""
    assert any(path.name == "intake.py" for path in _modules())


def test_no_module_is_over_400_lines() -> None:
    """No module of `mailintake/`, migrations aside, is over 400 lines (issue 16)."""
    long = {str(p.relative_to(PACKAGE)): _lines(p) for p in _modules() if _lines(p) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines, split them by concern: {long}"
