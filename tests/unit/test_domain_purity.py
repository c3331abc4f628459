"""The pure core imports no I/O library: every import in `mailintake/domain/` is allow-listed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "mailintake" / "domain"

# Standard-library modules that only compute. `email.utils` is here for `parseaddr` (an
# address string to its parts); the MIME parser (`email`, `email.parser`, `email.message`,
# `email.policy`) reads raw mail and belongs in `adapters/`.
PURE_STDLIB = frozenset(
    {
        "__future__",
        "collections",
        "collections.abc",
        "dataclasses",
        "datetime",
        "difflib",
        "email.utils",
        "enum",
        "functools",
        "hashlib",
        "itertools",
        "math",
        "re",
        "typing",
        "unicodedata",
        "zoneinfo",
    }
)
PURE_THIRD_PARTY = frozenset({"holidays", "authres"})
OURS = frozenset({"mailintake.errors"})
OUR_PACKAGE = "mailintake.domain"


def _allowed(module: str) -> bool:
    if module in PURE_STDLIB or module in PURE_THIRD_PARTY or module in OURS:
        return True
    return module == OUR_PACKAGE or module.startswith(OUR_PACKAGE + ".")


def _imported(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every import, function-level ones included."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.lineno, _absolute(node)))
    return found


def _absolute(node: ast.ImportFrom) -> str:
    """`from . import x` and `from .text import fold` resolved inside `mailintake.domain`."""
    if node.level == 0:
        return node.module or ""
    base = OUR_PACKAGE.rsplit(".", node.level - 1)[0]
    return f"{base}.{node.module}" if node.module else base


def _modules() -> list[Path]:
    return sorted(DOMAIN.rglob("*.py"))


def test_the_domain_has_modules_to_check() -> None:
    """The check finds the domain's modules (a wrong path would pass vacuously)."""
    assert any(path.name == "fields.py" for path in _modules())


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.name)
def test_a_domain_module_imports_only_pure_modules(path: Path) -> None:
    """A domain module imports only allow-listed pure modules, never an I/O or parsing library."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    impure = [f"line {line}: {module}" for line, module in _imported(tree) if not _allowed(module)]
    assert not impure, f"{path.name} imports outside the allow-list: {impure}"
