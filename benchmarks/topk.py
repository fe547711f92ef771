"""Time the soft top-k maps of ``mathguide.simplex.topk`` against an argpartition-based hard top-k.

Run from the repository root:

    .venv/bin/python benchmarks/topk.py [--rows 4096] [--cols 1000] [--ks 10 100] [--repeat 3]
                                        [--csv src/mathguide/data/topk.csv]

Inputs: a (rows x cols) float64 batch of standard-normal scores (seeded). Reference: hard top-k by
``numpy.argpartition`` + ``numpy.put_along_axis`` (ties broken arbitrarily). Timed: ``hard_topk_mask``,
``grad_topk`` (forward), ``grad_topk_vjp`` (backward), ``threshold_topk`` with the sigmoid and the
linear f, and ``log_elementary_symmetric``. Each timing is the best of ``--repeat`` runs in this one
process; ratios are time(ours) / time(argpartition). The line "grad_topk k=100 / k=10" checks the
O(nk) cost: it should be near 10 (less when per-step overhead dominates at small k).
Not collected by pytest (no ``test_`` prefix).

See the chapter ``chapters/simplex/soft-topk.md``.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform

import numpy as np
from _timing import best_time

from mathguide.simplex import (
    grad_topk,
    grad_topk_vjp,
    hard_topk_mask,
    log_elementary_symmetric,
    threshold_topk,
)


def argpartition_topk(x: np.ndarray, k: int) -> np.ndarray:
    idx = np.argpartition(-x, k - 1, axis=-1)[:, :k]
    mask = np.zeros_like(x)
    np.put_along_axis(mask, idx, 1.0, axis=-1)
    return mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4096)
    parser.add_argument("--cols", type=int, default=1000)
    parser.add_argument("--ks", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--csv", default=None, help="write the timings to this CSV file")
    args = parser.parse_args()

    rng = np.random.default_rng(20261130)
    x = rng.standard_normal((args.rows, args.cols))
    g = rng.standard_normal((args.rows, args.cols))
    print(f"batch {args.rows} x {args.cols} float64, best of {args.repeat}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cpu(s), "
          f"load average {os.getloadavg()[0]:.2f}")
    rows = []
    grad_times = {}
    for k in args.ks:
        assert np.array_equal(hard_topk_mask(x, k), argpartition_topk(x, k))  # no ties in normal data
        t_ref = best_time(lambda k=k: argpartition_topk(x, k), args.repeat)
        timed = {
            "hard_topk_mask": lambda k=k: hard_topk_mask(x, k),
            "threshold_topk(sigmoid)": lambda k=k: threshold_topk(x, k, f="sigmoid"),
            "threshold_topk(linear)": lambda k=k: threshold_topk(x, k, f="linear"),
            "log_elementary_symmetric": lambda k=k: log_elementary_symmetric(x, k),
            "grad_topk": lambda k=k: grad_topk(x, k),
            "grad_topk_vjp": lambda k=k: grad_topk_vjp(x, k, g),
        }
        print(f"\nk = {k}: argpartition top-k {t_ref * 1e3:9.1f} ms")
        rows.append({"k": k, "function": "argpartition", "seconds": t_ref, "ratio": 1.0})
        for name, fn in timed.items():
            repeat = 1 if name.startswith("grad_topk") else args.repeat  # seconds each: one run
            t = best_time(fn, repeat)
            print(f"  {name:26s} {t * 1e3:9.1f} ms   {t / t_ref:8.1f} x argpartition")
            rows.append({"k": k, "function": name, "seconds": t, "ratio": t / t_ref})
            if name == "grad_topk":
                grad_times[k] = t
    if 10 in grad_times and 100 in grad_times:
        print(f"\ngrad_topk k=100 / k=10: {grad_times[100] / grad_times[10]:.1f}")
    if args.csv:
        with open(args.csv, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["k", "function", "seconds", "ratio"])
            writer.writeheader()
            for row in rows:
                writer.writerow({**row, "seconds": f"{row['seconds']:.6g}", "ratio": f"{row['ratio']:.4g}"})


if __name__ == "__main__":
    main()
