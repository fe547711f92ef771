"""Run every chapter of the book as a test: one pytest item per code cell.

Chapters are MyST Markdown notebooks (``chapters/**/*.md`` with a jupytext header). nbval only collects
``.ipynb`` files, so this plugin hands nbval a notebook read by jupytext instead. Each chapter gets one
kernel (from the current environment), its cells run in order in the chapter's folder, and a failing
cell is reported as ``chapters/<part>/<topic>.md:<line>`` with the cell's source and traceback.

nbval compares no outputs for these notebooks (they store none): a chapter's claims are checked by the
``assert`` statements in its cells. A cell that writes to stderr (a ``RuntimeWarning`` from
``np.log(0.0)``, a deprecation notice) fails, as it fails the strict book build (``nb_output_stderr:
warn`` with ``-W``). The time limit per cell is the book's ``execute.timeout`` in ``_config.yml``; a
``--nbval-cell-timeout`` given on the command line (or in ``addopts``/``PYTEST_ADDOPTS``) wins.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import os
import re
import shlex
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import jupytext
import pytest
import yaml
from hypothesis import settings
from nbval.kernel import CURRENT_ENV_KERNEL_NAME, RunningKernel
from nbval.plugin import IPyNbCell, IPyNbFile, find_metadata_tags

# The only Hypothesis settings of the project: property tests set no max_examples or deadline of their
# own. "repeatable" (the default, and CI's) draws the same examples on every run; set
# HYPOTHESIS_PROFILE=explore to search many fresh examples locally. No deadline: the first call of a
# NumPy/SciPy routine can be slow, and a timing-dependent failure would not be reproducible.
settings.register_profile("repeatable", derandomize=True, deadline=None, max_examples=60)
settings.register_profile("explore", deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

CHAPTERS_DIR = "chapters"
BOOK_CONFIG = "_config.yml"
_CODE_CELL_FENCE = re.compile(r"^(`{3,}|~{3,})\s*\{code-cell\}")
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _is_chapter_notebook(path: Path, rootpath: Path) -> bool:
    """A MyST notebook under ``chapters/``: a ``.md`` with a jupytext MyST header."""
    if path.suffix != ".md":
        return False
    try:
        relative = path.relative_to(rootpath)
    except ValueError:
        return False
    if not relative.parts or relative.parts[0] != CHAPTERS_DIR:
        return False
    head = path.read_text(encoding="utf-8")[:2000]
    return head.startswith("---") and "format_name: myst" in head


def _code_cell_lines(path: Path) -> list[int]:
    """1-based line numbers of the ``{code-cell}`` fences, in the order jupytext reads the cells."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [number for number, line in enumerate(lines, start=1) if _CODE_CELL_FENCE.match(line)]


class MarkdownNotebookCell(IPyNbCell):
    """A code cell of a MyST chapter; failures name the chapter file and the cell's line."""

    # Items are created as IPyNbCell and re-classed after construction: nbval's constructor calls
    # ``super(IPyNbCell, self).__init__``, which a subclass's ``from_parent`` would recurse through.

    @property
    def source_line(self) -> int:
        return self.parent.cell_lines[self.cell_num]

    def repr_failure(self, excinfo):
        where = f"{self.parent.relative_path}:{self.source_line} (code cell {self.cell_num})"
        message = super().repr_failure(excinfo)
        return f"{where}\n{_ANSI_ESCAPE.sub('', str(message))}"

    def reportinfo(self):
        return self.path, self.source_line - 1, f"{self.parent.relative_path}:{self.source_line}"

    def runtest(self):
        try:
            super().runtest()
            # The book build turns stderr output into a warning and fails on it (-W); fail here too.
            stderr = "".join(out.get("text", "") for out in self.test_outputs or [] if out.get("name") == "stderr")
            if stderr:
                self.raise_cell_error("Cell wrote to stderr (the strict book build fails on this)", "\n" + stderr)
        except BaseException:
            self.parent.cell_passed(self.cell_num, None)
            raise
        self.parent.cell_passed(self.cell_num, self.test_outputs or [])


class MarkdownNotebookFile(IPyNbFile):
    """A MyST Markdown chapter, read with jupytext and executed by nbval."""

    def setup(self):
        # Run the chapter from an empty folder outside the repository, as a reader runs a downloaded
        # notebook: a chapter that reads a file by a path relative to the repository fails here.
        self._workdir = tempfile.TemporaryDirectory(prefix="mathguide-chapter-")
        kernel_name = CURRENT_ENV_KERNEL_NAME if self.config.option.nbval_current_env else "python3"
        self.kernel = RunningKernel(
            kernel_name, cwd=self._workdir.name, startup_timeout=self.config.option.nbval_kernel_startup_timeout
        )
        self.setup_sanitize_files()
        self._started = time.perf_counter()
        self._outputs = {}

    def cell_passed(self, cell_num: int, outputs: list | None) -> None:
        """Record a cell's outputs (``None``: it failed); after the last cell, store a clean chapter.

        A chapter whose every cell ran and passed here is put into the book build's execution store
        (``_ext/mathguide_cache.py``), so that the build after the tests executes it no more.
        """
        self._outputs[cell_num] = outputs
        store = _execution_store(self.config.rootpath)
        if store is None or cell_num != len(self.cell_lines) - 1:
            return
        if len(self._outputs) != len(self.cell_lines) or any(o is None for o in self._outputs.values()):
            return
        executed = copy.deepcopy(self.nb)
        for number, cell in enumerate(c for c in executed.cells if c.cell_type == "code"):
            cell.outputs = self._outputs[number]
            cell.execution_count = number + 1
        store.store_executed(Path(self.path), self.config.rootpath, executed, time.perf_counter() - self._started)

    def teardown(self):
        super().teardown()
        self._workdir.cleanup()

    def collect(self):
        path = Path(self.path)
        self.relative_path = path.relative_to(self.config.rootpath).as_posix()
        self.cell_lines = _code_cell_lines(path)
        self.nb = jupytext.read(path, fmt="md:myst")
        code_cells = [cell for cell in self.nb.cells if cell.cell_type == "code"]
        if len(code_cells) != len(self.cell_lines):
            raise pytest.UsageError(
                f"{self.relative_path}: jupytext read {len(code_cells)} code cells but the file has "
                f"{len(self.cell_lines)} {{code-cell}} fences"
            )
        for number, cell in enumerate(code_cells):
            # Tags such as `raises-exception` or `skip-execution`-style nbval tags still apply.
            options = defaultdict(bool, find_metadata_tags(cell.metadata))
            options["check"] = False  # no stored outputs: claims are checked by asserts
            name = f"Cell {number} (line {self.cell_lines[number]})"
            item = IPyNbCell.from_parent(self, name=name, cell_num=number, cell=cell, options=options)
            item.__class__ = MarkdownNotebookCell
            yield item


@functools.cache
def _execution_store(rootpath: Path):
    """The book build's execution-store module (``_ext/mathguide_cache.py``), or None outside the book."""
    path = Path(rootpath) / "_ext" / "mathguide_cache.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("mathguide_cache", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def book_cell_timeout(rootpath: Path) -> float:
    """The per-cell time limit of the book build, ``execute.timeout`` in ``_config.yml``."""
    path = rootpath / BOOK_CONFIG
    try:
        timeout = yaml.safe_load(path.read_text(encoding="utf-8"))["execute"]["timeout"]
    except (OSError, KeyError, TypeError) as error:
        raise pytest.UsageError(f"{path}: cannot read execute.timeout ({error!r})") from error
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise pytest.UsageError(f"{path}: execute.timeout must be a positive number, got {timeout!r}")
    return float(timeout)


def _timeout_given_by_user(config: pytest.Config) -> bool:
    """Whether ``--nbval-cell-timeout`` was passed on the command line, in ``addopts`` or ``PYTEST_ADDOPTS``."""
    args = [*config.invocation_params.args, *shlex.split(os.environ.get("PYTEST_ADDOPTS", ""))]
    args += config.getini("addopts")
    return any(str(arg).split("=")[0] == "--nbval-cell-timeout" for arg in args)


def pytest_configure(config: pytest.Config) -> None:
    # Chapters run in a kernel of this environment (plain `pytest` needs no flags), with the book's
    # time limit per cell unless one was given explicitly.
    config.option.nbval_current_env = True
    if not _timeout_given_by_user(config):
        config.option.nbval_cell_timeout = book_cell_timeout(config.rootpath)


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if _is_chapter_notebook(file_path, parent.config.rootpath):
        return MarkdownNotebookFile.from_parent(parent, path=file_path)
    return None
