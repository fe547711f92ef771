"""Time sparsemax, entmax-1.5 and entmax bisection against the implementations a user would reach for.

Run from the repository root:

    .venv/bin/python benchmarks/simplex_maps.py [--rows 4096] [--cols 1000] [--repeat 5]

Inputs: a (rows x cols) float64 batch of standard-normal scores (seeded). References:
``scipy.special.softmax`` always, and the ``entmax`` package (PyTorch, CPU) when it is installed
(``entmax.sparsemax``, ``entmax.entmax15``, ``entmax.entmax_bisect``); otherwise it is reported as
skipped. Each timing is the best of ``--repeat`` runs, all measured in this one process, and the
ratios printed are time(ours) / time(reference). Not collected by pytest (no ``test_`` prefix).

See the chapter ``chapters/simplex/sparsemax-entmax.md``.
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np
import scipy
from _timing import best_time
from scipy.special import softmax

from mathguide.simplex import entmax15, entmax_bisect, sparsemax, sparsemax_threshold


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4096)
    parser.add_argument("--cols", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    rng = np.random.default_rng(20261128)
    x = rng.standard_normal((args.rows, args.cols))
    print(f"batch {args.rows} x {args.cols} float64, best of {args.repeat}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"{os.cpu_count()} cpu(s)")

    ours = {
        "sparsemax": lambda: sparsemax(x),
        "sparsemax (michelot threshold)": lambda: np.maximum(
            x - sparsemax_threshold(x, method="michelot")[:, None], 0
        ),
        "entmax15": lambda: entmax15(x),
        "entmax_bisect(alpha=1.5)": lambda: entmax_bisect(x, 1.5),
        "entmax_bisect(alpha=1.3)": lambda: entmax_bisect(x, 1.3),
    }
    times = {name: best_time(fn, args.repeat) for name, fn in ours.items()}
    t_softmax = best_time(lambda: softmax(x, axis=-1), args.repeat)

    try:  # the reference implementation in PyTorch, only if the user has it
        import entmax as entmax_pkg
        import torch
    except ImportError:
        torch = entmax_pkg = None

    reference = {}
    if entmax_pkg is not None:
        xt = torch.from_numpy(x)
        with torch.no_grad():
            reference = {
                "sparsemax": best_time(lambda: entmax_pkg.sparsemax(xt, dim=-1), args.repeat),
                "entmax15": best_time(lambda: entmax_pkg.entmax15(xt, dim=-1), args.repeat),
                "entmax_bisect(alpha=1.5)": best_time(
                    lambda: entmax_pkg.entmax_bisect(xt, 1.5, dim=-1), args.repeat
                ),
                "entmax_bisect(alpha=1.3)": best_time(
                    lambda: entmax_pkg.entmax_bisect(xt, 1.3, dim=-1), args.repeat
                ),
            }
        print(f"entmax package found (torch {torch.__version__}, {torch.get_num_threads()} thread(s))")
    else:
        print("entmax package (PyTorch) not installed: comparison with it skipped")

    print(f"\nscipy.special.softmax: {1e3 * t_softmax:8.1f} ms")
    header = f"{'map':34s} {'ours (ms)':>10s} {'/ softmax':>10s}"
    if reference:
        header += f" {'entmax pkg (ms)':>16s} {'ours / pkg':>11s}"
    print(header)
    for name, t in times.items():
        line = f"{name:34s} {1e3 * t:10.1f} {t / t_softmax:10.2f}"
        if name in reference:
            line += f" {1e3 * reference[name]:16.1f} {t / reference[name]:11.2f}"
        print(line)


if __name__ == "__main__":
    main()
