"""The chapter harness really runs chapters, and really fails on a broken one.

Each pytest test writes throw-away chapters into a temporary folder beside copies of the repository's
``conftest.py`` and ``_config.yml`` and runs pytest on them in a subprocess, as ``make pytest`` runs
the book. The book-build tests build throw-away one-page books with the project's ``_config.yml`` and
the build command of the Makefile's ``book`` target.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

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


def _run_pytest(
    tmp_path: Path, chapters: dict[str, str], *args: str, cell_timeout: float | None = None
) -> subprocess.CompletedProcess:
    tmp_path.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "conftest.py", tmp_path / "conftest.py")
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    if cell_timeout is not None:
        config["execute"]["timeout"] = cell_timeout
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config))
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    for name, text in chapters.items():
        path = tmp_path / "chapters" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "--color=no", "-p", "no:xdist", *args, "chapters"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_passing_chapter_passes_one_item_per_cell(tmp_path: Path) -> None:
    # Chapters run in an empty folder outside the repository, as a downloaded notebook does.
    text = _chapter(
        "x = 2 + 2",
        "assert x == 4",
        "import os\nassert 'mathguide-chapter-' in os.getcwd() and os.listdir('.') == []",
    )
    result = _run_pytest(tmp_path, {"part/good.md": text})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
    # One item per cell, named by the chapter file and the cell's line.
    lines = _fence_lines(text)
    assert len(lines) == 3
    for number, line in enumerate(lines):
        assert f"chapters/part/good.md::Cell {number} (line {line}) PASSED" in result.stdout


def test_chapter_reading_a_repository_file_by_relative_path_fails(tmp_path: Path) -> None:
    text = _chapter("open('../../conftest.py').read()")
    result = _run_pytest(tmp_path, {"part/reads.md": text})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FileNotFoundError" in result.stdout


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


def test_stderr_output_fails_the_cell(tmp_path: Path) -> None:
    """A RuntimeWarning in a cell goes to stderr: the strict book build fails on it, and so does pytest."""
    text = _chapter("import numpy as np", "value = np.log(0.0)", "print('stdout is fine')")
    result = _run_pytest(tmp_path, {"part/warns.md": text})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 failed" in result.stdout and "2 passed" in result.stdout
    assert f"chapters/part/warns.md:{_fence_lines(text)[1]}" in result.stdout
    assert "Cell wrote to stderr" in result.stdout and "divide by zero encountered in log" in result.stdout


def test_fence_count_mismatch_is_a_usage_error(tmp_path: Path) -> None:
    """A {code-cell} fence that jupytext does not read as a cell (here inside a 4-backtick block) is refused."""
    text = _chapter("x = 1") + "\n````markdown\n```{code-cell} ipython3\ny = 2\n```\n````\n"
    result = _run_pytest(tmp_path, {"part/fences.md": text})
    assert result.returncode != 0, result.stdout + result.stderr
    assert "chapters/part/fences.md: jupytext read 1 code cells but the file has 2 {code-cell} fences" in (
        result.stdout + result.stderr
    )


def test_cell_timeout_comes_from_the_book_config_and_the_command_line_wins(tmp_path: Path) -> None:
    """execute.timeout of _config.yml bounds each cell; --nbval-cell-timeout overrides it."""
    # The second cell only marks that the chapter goes on after the slow cell; the test is about the
    # first cell's timeout.
    text = _chapter("import time\ntime.sleep(4)", "assert True")
    limited = _run_pytest(tmp_path / "config", {"part/slow.md": text}, cell_timeout=1)
    assert limited.returncode == 1, limited.stdout + limited.stderr
    assert "Timeout of 1 seconds exceeded" in limited.stdout
    overridden = _run_pytest(tmp_path / "cli", {"part/slow.md": text}, "--nbval-cell-timeout=30", cell_timeout=1)
    assert overridden.returncode == 0, overridden.stdout + overridden.stderr
    assert "2 passed" in overridden.stdout


def test_the_harness_uses_the_book_timeout() -> None:
    """One source: the value in _config.yml is what the harness reads (no second copy in conftest.py)."""
    timeout = yaml.safe_load((REPO / "_config.yml").read_text())["execute"]["timeout"]
    assert timeout > 0
    assert not re.search(r"TIMEOUT\w*\s*=\s*\d", (REPO / "conftest.py").read_text())


# ---------------------------------------------------------------------------------------------------
# The strict book build (make book) on throw-away one-page books
# ---------------------------------------------------------------------------------------------------


def _book_build_args() -> list[str]:
    """The arguments of `jupyter-book build` in the Makefile's book target (one source for the flags)."""
    match = re.search(r"jupyter-book build ([^;\n]+)", (REPO / "Makefile").read_text())
    assert match, "the Makefile's book target no longer runs jupyter-book build"
    return match.group(1).split()


def _start_book_build(
    folder: Path, page: str, budget: float | None = None, env: dict | None = None, fresh: bool = True
) -> subprocess.Popen:
    if fresh:
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("_config.yml", "references.bib"):
            shutil.copy(REPO / name, folder / name)
        # The book's own Sphinx extensions (without bytecode left by other runs).
        shutil.copytree(REPO / "_ext", folder / "_ext", ignore=shutil.ignore_patterns("__pycache__"))
    if budget is not None:
        config = yaml.safe_load((folder / "_config.yml").read_text())
        config["sphinx"]["config"]["mathguide_execution_budget"] = budget
        (folder / "_config.yml").write_text(yaml.safe_dump(config))
    (folder / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: page\n")
    (folder / "intro.md").write_text("# A throw-away book\n\nOne page follows.\n")
    (folder / "page.md").write_text(page)
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", **(env or {})}
    with (folder / "build.log").open("w") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [str(jupyter_book), "build", *_book_build_args()], cwd=folder, stdout=log, stderr=subprocess.STDOUT, env=env
        )


def test_strict_book_build_fails_on_a_warning_and_a_failing_cell_and_passes_a_clean_page(tmp_path: Path) -> None:
    """One-page books built side by side: a stderr warning, a failing assert and a chapter over its
    execution budget fail the build; a clean page passes."""
    pages = {
        "clean": _chapter("import numpy as np", "assert np.log(1.0) == 0.0"),
        "warning": _chapter("import numpy as np", "value = np.log(0.0)"),
        "failing": _chapter("x = 1", "assert x == 2, 'the prose says two'"),
        "slow": _chapter("import time", "time.sleep(1.5)"),
    }
    budgets = {"slow": 1.0}
    builds = {name: _start_book_build(tmp_path / name, page, budgets.get(name)) for name, page in pages.items()}
    codes = {name: process.wait(timeout=300) for name, process in builds.items()}
    logs = {name: (tmp_path / name / "build.log").read_text() for name in pages}

    assert codes["clean"] == 0, logs["clean"]
    assert (tmp_path / "clean" / "_build" / "html" / "page.html").exists()

    assert codes["warning"] != 0, logs["warning"]
    assert "stderr was found in the cell outputs" in logs["warning"]

    assert codes["failing"] != 0, logs["failing"]
    assert "Executing notebook failed" in logs["failing"]
    # The traceback is saved where .ci/run looks for it.
    reports = list((tmp_path / "failing" / "_build" / "html" / "reports").glob("*.log"))
    assert [r.name for r in reports] == ["page.err.log"]
    assert "the prose says two" in reports[0].read_text()

    assert codes["slow"] != 0, logs["slow"]
    assert "over the 1 s budget per chapter" in logs["slow"]


def _html_text(folder: Path) -> str:
    return (folder / "_build" / "html" / "page.html").read_text(encoding="utf-8")


def test_the_execution_store_serves_unchanged_chapters_and_never_a_stale_one(tmp_path: Path) -> None:
    """The build takes a chapter from the execution store only while the library's source is unchanged.

    A one-page book whose page asserts on a value of its own library (``src/tinylib``) and prints a
    random token: built twice, the second build serves the stored run (the same token); after the
    library changes, the next build executes the page again and fails on the assert.
    """
    folder = tmp_path / "book"
    library = folder / "src" / "tinylib"
    cells = ("import uuid\nimport tinylib", "assert tinylib.VALUE == 1, 'the prose says one'", "print(uuid.uuid4())")
    page = _chapter(*cells)

    def build(fresh: bool = False) -> tuple[int, str]:
        shutil.rmtree(folder / "_build", ignore_errors=True)  # as `make book` does; the store stays
        process = _start_book_build(folder, page, env={"PYTHONPATH": str(folder / "src")}, fresh=fresh)
        code = process.wait(timeout=300)
        return code, (folder / "build.log").read_text()

    library.mkdir(parents=True)
    (library / "__init__.py").write_text("VALUE = 1\n")
    first_code, first_log = build(fresh=True)
    assert first_code == 0, first_log
    token = re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", _html_text(folder)).group(0)

    second_code, second_log = build()
    assert second_code == 0, second_log
    assert token in _html_text(folder), "an unchanged chapter was executed again instead of served from the store"

    (library / "__init__.py").write_text("VALUE = 2\n")
    third_code, third_log = build()
    assert third_code != 0, "the build served a stale execution after the library changed:\n" + third_log
    assert "the prose says one" in third_log + "".join(
        p.read_text() for p in (folder / "_build" / "html" / "reports").glob("*.log")
    )
