"""The staff tag guide has one source, docs/staff-guide.md, and the installed program sends it.

`[POMOC]`/`[help]` mails the guide (issue 12); a wheel has no `docs/`, so the wheel carries
the same file inside the package. These tests keep the one file true to the tags the
program reads and prove that a built wheel ships it unchanged and finds it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mailintake.adapters import guide
from mailintake.domain import staffcmd

REPO = Path(__file__).resolve().parents[1]
GUIDE = REPO / "docs" / "staff-guide.md"
IGNORED = shutil.ignore_patterns("__pycache__", "*.egg-info")


def test_the_guide_names_every_tag_in_polish_and_english() -> None:
    """Each tag the program reads is in the guide, in both languages, with an example."""
    text = GUIDE.read_text(encoding="utf-8").upper()
    missing = [f"[{pl}] / [{en}]" for pl, en in staffcmd.PHRASES.values()
               if f"[{pl.upper()}" not in text or f"[{en.upper()}" not in text]  # fmt: skip
    assert missing == []


def test_the_program_reads_the_repositorys_guide() -> None:
    """From a checkout (or an editable install) the guide mailed is docs/staff-guide.md itself."""
    assert guide.guide_path() == GUIDE
    assert guide.staff_guide() == GUIDE.read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_built_wheel_ships_the_guide_and_reads_it(tmp_path: Path) -> None:
    """`pip wheel` of the project carries docs/staff-guide.md unchanged, and reads it installed."""
    source = tmp_path / "src"
    for folder in ("mailintake", "templates", "docs"):
        shutil.copytree(REPO / folder, source / folder, ignore=IGNORED)
    for file in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / file, source / file)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                    str(tmp_path / "dist"), str(source)], check=True)  # fmt: skip
    [wheel] = (tmp_path / "dist").glob("mailintake-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read("mailintake/docs/staff-guide.md") == GUIDE.read_bytes()
        archive.extractall(tmp_path / "site")
    # Without site-packages (-S), so the editable checkout cannot answer in the wheel's place.
    code = "from mailintake.adapters import guide; print(guide.guide_path())"
    found = subprocess.run([sys.executable, "-S", "-c", code], check=True, capture_output=True,
                           text=True, env={"PYTHONPATH": str(tmp_path / "site")},
                           cwd=tmp_path)  # fmt: skip
    assert Path(found.stdout.strip()) == tmp_path / "site" / "mailintake" / "docs" / GUIDE.name
