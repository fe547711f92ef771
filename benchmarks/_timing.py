"""Timing and recording helpers shared by the benchmark scripts (run as `python benchmarks/<script>.py`)."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable


def best_times(funcs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Best wall-clock time of each ``func()`` over ``repeats`` rounds, in seconds.

    The routines are interleaved (one run of each per round) so that a burst of load from other
    processes hits all of them alike rather than the one that happened to be running.
    """
    best = {name: float("inf") for name in funcs}
    for _ in range(repeats):
        for name, func in funcs.items():
            start = time.perf_counter()
            func()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def best_time(func: Callable[[], object], repeats: int) -> float:
    """Best wall-clock time of ``repeats`` calls of ``func()``, in seconds (the least disturbed run)."""
    return best_times({"func": func}, repeats)["func"]


def write_record(path: str, meta: str, rows: list[dict]) -> None:
    """Write a recorded run: one ``# meta`` line, then the rows as CSV with a header.

    This is the format ``mathguide.recorded.load_recorded`` reads for the chapters.
    """
    with open(path, "w", newline="") as handle:
        handle.write(f"# {meta.lstrip('# ').rstrip()}\n")
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {path}")
