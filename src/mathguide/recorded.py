"""Benchmark measurements recorded by the scripts in ``benchmarks/`` and shipped with the package.

A chapter that plots a recorded benchmark reads it through :func:`load_recorded`, never by a path
relative to the repository, so the chapter also runs as a downloaded notebook with only the package
installed. The files live in ``src/mathguide/data/<name>.csv``: an optional first comment line
(``# ...``) saying how and where the run was made, then a CSV table with a header row.
"""

from __future__ import annotations

from importlib import resources
from io import StringIO
from typing import NamedTuple

import numpy as np

__all__ = ["Recorded", "load_recorded"]


class Recorded(NamedTuple):
    """A recorded run: ``meta`` (script, date, versions, machine) and ``table`` (named columns)."""

    meta: str
    table: np.ndarray


def load_recorded(name: str) -> Recorded:
    """Load the recorded benchmark ``name`` (e.g. ``"lu_blocked"``) shipped with the package.

    Raises
    ------
    ValueError
        If no recorded benchmark of that name is shipped (the message lists those that are).
    """
    folder = resources.files("mathguide").joinpath("data")
    available = sorted(p.name[: -len(".csv")] for p in folder.iterdir() if p.name.endswith(".csv"))
    if not isinstance(name, str) or name not in available:
        raise ValueError(f"name must be one of the recorded benchmarks {available}, got {name!r}")
    text = folder.joinpath(f"{name}.csv").read_text(encoding="utf-8")
    meta = ""
    if text.startswith("#"):
        first, text = text.split("\n", 1)
        meta = first.lstrip("# ").strip()
    table = np.genfromtxt(StringIO(text), delimiter=",", names=True, dtype=None, encoding="utf-8")
    return Recorded(meta, np.atleast_1d(table))
