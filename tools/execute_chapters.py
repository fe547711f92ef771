"""Execute the chapters the execution store lacks, in parallel, before the book build reads them.

``make book`` runs this, then ``jupyter-book build``: myst-nb (in ``cache`` mode) then finds every
chapter that executed cleanly here and executes none itself, while Sphinx reads the pages one after
another. A chapter that fails here is not stored; the build executes it again and reports the failure
as usual (a warning that fails the strict build, and its log in ``_build/html/reports/``).

The store is keyed on the library's source and the pinned requirements (``_ext/mathguide_cache.py``),
so a change in ``src/`` re-executes every chapter. After ``make pytest``, which stores each chapter
whose cells all passed, there is nothing left to execute here.

Usage: ``python tools/execute_chapters.py [--workers N]`` from the repository's root.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))

import mathguide_cache  # noqa: E402  (after the path is set)


def _toc_files(node) -> list[str]:
    found = []
    if isinstance(node, dict):
        for key in ("root", "file"):
            if key in node:
                found.append(node[key])
        for value in node.values():
            if isinstance(value, (dict, list)):
                found += _toc_files(value)
    elif isinstance(node, list):
        for value in node:
            found += _toc_files(value)
    return found


def notebooks(root: Path) -> list[Path]:
    """The MyST notebooks of the table of contents, in its order."""
    from myst_nb.core.read import is_myst_markdown_notebook

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    paths = [root / f"{name}.md" for name in _toc_files(toc)]
    return [p for p in paths if p.exists() and is_myst_markdown_notebook(p.read_text(encoding="utf-8"))]


def _execute(path: str, timeout: float) -> tuple[str, object, float, str | None]:
    """Run one chapter in an empty temporary folder (as the build's ``run_in_temp`` does)."""
    from jupyter_cache.executors.utils import single_nb_execution

    notebook = mathguide_cache.read_chapter(Path(path), ROOT)
    with tempfile.TemporaryDirectory(prefix="mathguide-chapter-") as cwd:
        result = single_nb_execution(notebook, cwd=cwd, timeout=timeout, allow_errors=False, meta_override=True)
    error = None if result.err is None else f"{type(result.err).__name__}"
    return path, result.nb, result.time, error


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BOOK_WORKERS", "2")))
    args = parser.parse_args(argv)
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    timeout = float(config["execute"]["timeout"])
    chapters = notebooks(ROOT)
    missing = [p for p in chapters if not mathguide_cache.is_cached(p, ROOT)]
    store = mathguide_cache.cache_path(ROOT)
    cached = len(chapters) - len(missing)
    print(f"execution store {store.relative_to(ROOT)}: {cached} of {len(chapters)} chapters cached")
    if not missing:
        return 0
    start = time.perf_counter()
    # The longest chapters first, so that two workers finish together (size is a fair proxy).
    missing.sort(key=lambda p: -p.stat().st_size)
    failed = []
    with ProcessPoolExecutor(max_workers=max(1, args.workers)) as pool:
        futures = [pool.submit(_execute, str(p), timeout) for p in missing]
        for future in as_completed(futures):
            path, executed, seconds, error = future.result()
            name = Path(path).relative_to(ROOT)
            if error is None:
                mathguide_cache.store_executed(Path(path), ROOT, executed, seconds)
                print(f"  executed {name} in {seconds:.1f} s", flush=True)
            else:
                failed.append(name)
                print(f"  FAILED {name} ({error}); the build will execute it again and report why", flush=True)
    print(f"executed {len(missing)} chapter(s) in {time.perf_counter() - start:.1f} s with {args.workers} worker(s)")
    return 0  # the strict build is what fails on a broken chapter


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
