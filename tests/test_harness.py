"""The chapter harness (root conftest.py) really runs chapters, and really fails on a broken one.

Each test writes throw-away chapters into a temporary folder beside a copy of the repository's
``conftest.py`` and runs pytest on them in a subprocess, exactly as ``make test`` runs the book.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

HEADER = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


def _chapter(*cells: str) -> str:
    body = "\n".join(f"Some prose.\n\n```{{code-cell}} ipython3\n{textwrap.dedent(c).strip()}\n```\n" for c in cells)
    return HEADER + "\n# A throw-away chapter\n\n" + body


def _fence_lines(text: str) -> list[int]:
    return [n for n, line in enumerate(text.splitlines(), start=1) if line.startswith("```{code-cell}")]


def _run_pytest(tmp_path: Path, chapters: dict[str, str]) -> subprocess.CompletedProcess:
    shutil.copy(REPO / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    for name, text in chapters.items():
        path = tmp_path / "chapters" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "--color=no", "-p", "no:xdist", "chapters"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_passing_chapter_passes_one_item_per_cell(tmp_path: Path) -> None:
    text = _chapter("x = 2 + 2", "assert x == 4", "import os\nassert os.getcwd().endswith('part')")
    result = _run_pytest(tmp_path, {"part/good.md": text})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
    # One item per cell, named by the chapter file and the cell's line.
    lines = _fence_lines(text)
    assert len(lines) == 3
    for number, line in enumerate(lines):
        assert f"chapters/part/good.md::Cell {number} (line {line}) PASSED" in result.stdout


def test_failing_assert_fails_and_names_file_and_line(tmp_path: Path) -> None:
    text = _chapter("x = 1", "assert x == 2, 'the prose says two'", "y = 3")
    result = _run_pytest(tmp_path, {"part/bad.md": text})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 failed" in result.stdout and "2 passed" in result.stdout
    failing_line = _fence_lines(text)[1]
    assert f"chapters/part/bad.md:{failing_line}" in result.stdout
    assert "the prose says two" in result.stdout
    assert "AssertionError" in result.stdout
    assert "\x1b[" not in result.stdout  # tracebacks arrive without colour codes


def test_cells_share_one_kernel_per_chapter(tmp_path: Path) -> None:
    first = _chapter("import os\nshared = os.getpid()", "assert shared == os.getpid()")
    second = _chapter("assert 'shared' not in globals()")
    result = _run_pytest(tmp_path, {"a/one.md": first, "b/two.md": second})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_plain_markdown_pages_are_not_collected(tmp_path: Path) -> None:
    plain = "# An overview page\n\nNo code cells, no jupytext header.\n"
    result = _run_pytest(tmp_path, {"part/index.md": plain, "part/good.md": _chapter("assert 1 + 1 == 2")})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    assert "index.md" not in result.stdout


@pytest.mark.parametrize("error", ["raise ValueError('boom')", "1 / 0"])
def test_raising_cell_fails(tmp_path: Path, error: str) -> None:
    result = _run_pytest(tmp_path, {"part/raises.md": _chapter(error)})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 failed" in result.stdout
