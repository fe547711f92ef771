"""Execute each chapter at most once per run, and never serve a stale result.

The book build (myst-nb) runs in ``cache`` mode: it takes a chapter's outputs from a jupyter-cache
store when one matches, and executes the chapter only otherwise. jupyter-cache matches a notebook by
its code cells alone, so a change in ``src/`` would not re-execute anything. Here the store lives in
``.jupyter_cache/<key>/``, where the key hashes everything else a chapter's outputs depend on:

- every file of the library's source tree (``src/``) and the pinned ``requirements.txt`` and
  ``pyproject.toml``;
- the interpreter's version;
- the environment variables that change arithmetic or seeds (``MATHGUIDE_SEED``,
  ``OPENBLAS_CORETYPE``, ``NPY_DISABLE_CPU_FEATURES``, ...).

Change any of them and the key changes: the build finds an empty store and executes every chapter.

Three writers fill the store, all through :func:`store_executed`:

- ``tools/execute_chapters.py`` (``make book``) executes the chapters that miss, two at a time;
- the chapter tests (root ``conftest.py``) store each chapter whose cells all passed under nbval, so
  that ``make test`` executes every chapter once, cell by cell, and the build after it executes none;
- myst-nb itself, for a chapter that still misses when the build reaches it.

This module is also a Sphinx extension (``_config.yml`` lists it): it points myst-nb at the keyed
store before myst-nb reads its configuration.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import platform
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CACHE_DIR = ".jupyter_cache"
#: Environment variables that change what a chapter computes (arithmetic kernels, seeds).
KEYED_ENVIRONMENT = (
    "MATHGUIDE_SEED",
    "OPENBLAS_CORETYPE",
    "NPY_DISABLE_CPU_FEATURES",
    "NPY_ENABLE_CPU_FEATURES",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
)
#: Top-level files whose content a chapter's outputs depend on, besides ``src/``.
KEYED_FILES = ("requirements.txt", "pyproject.toml")
#: Stores of other keys kept besides the current one (older ones are deleted).
KEEP_OTHER_STORES = 2


def _source_files(root: Path) -> Iterator[Path]:
    source = root / "src"
    if not source.is_dir():
        return
    for path in sorted(source.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and not any(p.endswith(".egg-info") for p in path.parts):
            yield path


def cache_key(root: Path) -> str:
    """The hash of everything besides a chapter's code that its executed outputs depend on."""
    root = Path(root).resolve()
    digest = hashlib.sha256()
    for path in [*_source_files(root), *(root / name for name in KEYED_FILES)]:
        if path.is_file():
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    digest.update(f"python {platform.python_version()}\0".encode())
    for name in KEYED_ENVIRONMENT:
        digest.update(f"{name}={os.environ.get(name, '')}\0".encode())
    return digest.hexdigest()[:20]


def cache_path(root: Path) -> Path:
    """The jupyter-cache store for the current key: ``<root>/.jupyter_cache/<key>``."""
    return Path(root).resolve() / CACHE_DIR / cache_key(root)


def prune_stores(root: Path) -> None:
    """Delete the stores of old keys, keeping the current one and the most recent few."""
    base = Path(root).resolve() / CACHE_DIR
    current = cache_path(root)
    if not base.is_dir():
        return
    others = sorted((p for p in base.iterdir() if p.is_dir() and p != current), key=lambda p: p.stat().st_mtime)
    for old in others[: max(0, len(others) - KEEP_OTHER_STORES)]:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def _locked(store: Path) -> Iterator[None]:
    """One writer at a time (two pytest workers may finish chapters together)."""
    store.mkdir(parents=True, exist_ok=True)
    with open(store.parent / f"{store.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _config_extensions(root: Path) -> list[str]:
    import yaml

    config = yaml.safe_load((Path(root) / "_config.yml").read_text(encoding="utf-8")) or {}
    return list((config.get("parse") or {}).get("myst_enable_extensions") or [])


def read_chapter(path: Path, root: Path):
    """A chapter read exactly as myst-nb reads it in the build (so that its cache hash matches)."""
    from myst_nb.core.config import NbParserConfig
    from myst_nb.core.read import create_nb_reader
    from myst_parser.config.main import MdParserConfig

    text = Path(path).read_text(encoding="utf-8")
    md_config = MdParserConfig(enable_extensions=set(_config_extensions(root)))
    reader = create_nb_reader(str(path), md_config, NbParserConfig(), text)
    if reader is None:
        raise ValueError(f"{path} is not a MyST notebook (no jupytext/kernelspec header)")
    return reader.read(text)


def is_cached(path: Path, root: Path) -> bool:
    """Whether the store of the current key holds an execution of this chapter's code."""
    from jupyter_cache import get_cache

    store = cache_path(root)
    if not store.is_dir():
        return False
    try:
        get_cache(str(store)).match_cache_notebook(read_chapter(path, root))
    except KeyError:
        return False
    return True


def store_executed(path: Path, root: Path, executed, seconds: float) -> None:
    """Put an executed chapter (a notebook whose code cells carry their outputs) into the store.

    ``executed`` must have the code cells of :func:`read_chapter` in the same order; only their
    outputs and execution counts are taken.
    """
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    notebook = read_chapter(path, root)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    done = [cell for cell in executed.cells if cell.cell_type == "code"]
    if len(code) != len(done) or any(a.source != b.source for a, b in zip(code, done, strict=True)):
        raise ValueError(f"{path}: the executed notebook's code cells differ from the chapter's")
    for cell, result in zip(code, done, strict=True):
        cell.outputs = [nbformat.from_dict(dict(output)) for output in result.get("outputs", [])]
        cell.execution_count = result.get("execution_count")
    store = cache_path(root)
    with _locked(store):
        get_cache(str(store)).cache_notebook_bundle(
            CacheBundleIn(notebook, str(Path(path).resolve()), data={"execution_seconds": float(seconds)}),
            check_validity=False,
            overwrite=True,
        )


def _point_myst_nb_at_the_store(app, config) -> None:
    root = Path(app.srcdir)
    config.nb_execution_cache_path = str(cache_path(root))
    prune_stores(root)


def setup(app) -> dict:
    # Before myst-nb turns the Sphinx configuration into its own (priority 500).
    app.connect("config-inited", _point_myst_nb_at_the_store, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
