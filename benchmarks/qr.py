"""Benchmark: blocked Householder QR and QR least squares vs LAPACK (SciPy), side by side.

Run from the repository root (not collected by pytest):

    .venv/bin/python benchmarks/qr.py                                  # 2000 x 1000, block size 64
    .venv/bin/python benchmarks/qr.py --shapes 1000x500 2000x1000 --repeats 7
    .venv/bin/python benchmarks/qr.py --tune                           # also try block sizes 16..256
    .venv/bin/python benchmarks/qr.py --single-thread                  # both codes on one core
    .venv/bin/python benchmarks/qr.py --csv src/mathguide/data/qr.csv  # record the run

For every shape m x n it prints the best-of-``repeats`` wall time of

- ``qr_blocked(a)`` (reduced Q and R) against ``scipy.linalg.qr(a, mode="economic")`` (LAPACK
  ``dgeqrf`` + ``dorgqr``), and the unblocked ``householder_qr`` up to ``--max-unblocked`` rows;
- ``lstsq(a, b, method="qr")`` against ``scipy.linalg.lstsq(a, b)`` (LAPACK ``dgelsd``, SciPy's
  default driver, an SVD-based solver) and ``scipy.linalg.lstsq(a, b, lapack_driver="gelsy")``
  (a QR-based one, for a like-for-like comparison).

The routines are interleaved, one run of each per round. The issue's targets at 2000 x 1000 float64:
``qr_blocked`` within 3x (target 2x) of ``scipy.linalg.qr``, ``lstsq`` within 3x of
``scipy.linalg.lstsq``. Errors (reconstruction, difference from LAPACK's solution) are printed so that
a fast wrong answer cannot pass. The load average is printed: the machine may be shared.
See the chapters ``chapters/linalg/qr.md`` and ``chapters/linalg/least-squares.md``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys

import numpy as np
import scipy
import scipy.linalg
from _timing import best_times, write_record

from mathguide.linalg.least_squares import lstsq
from mathguide.linalg.qr import householder_qr, qr_blocked


def competitors(a: np.ndarray, b: np.ndarray, bs: int) -> dict:
    """The five timed calls on one problem."""
    return {
        "qr_blocked": lambda: qr_blocked(a, block_size=bs),
        "scipy_qr": lambda: scipy.linalg.qr(a, mode="economic", check_finite=False),
        "lstsq_qr": lambda: lstsq(a, b, method="qr", block_size=bs),
        "scipy_lstsq": lambda: scipy.linalg.lstsq(a, b, check_finite=False),
        "scipy_gelsy": lambda: scipy.linalg.lstsq(a, b, check_finite=False, lapack_driver="gelsy"),
    }


def parse_shape(text: str) -> tuple[int, int]:
    m, n = text.lower().split("x")
    return int(m), int(n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", type=parse_shape, nargs="+", default=[(2000, 1000)])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--block-size", type=int, default=64)
    parser.add_argument("--max-unblocked", type=int, default=1000, help="largest m for householder_qr")
    parser.add_argument("--tune", action="store_true", help="try block sizes 16..256 at the last shape")
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--csv", metavar="PATH", help="also write the measurements to PATH")
    parser.add_argument("--single-thread", action="store_true",
                        help="re-run with OPENBLAS_NUM_THREADS=1 (less noisy on a shared machine)")
    args = parser.parse_args()
    if args.single_thread and os.environ.get("OPENBLAS_NUM_THREADS") != "1":
        os.execve(sys.executable, [sys.executable, *sys.argv],
                  {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})

    rng = np.random.default_rng(args.seed)
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    load_before = os.getloadavg()[0]
    print(f"numpy {np.__version__}, scipy {scipy.__version__}, {os.cpu_count()} cpus, "
          f"OPENBLAS_NUM_THREADS={threads}, load average {load_before:.2f} (1 min)")
    print(f"block size {args.block_size}, best of {args.repeats} repeats, float64\n")
    rows = []
    for m, n in args.shapes:
        a = rng.standard_normal((m, n))
        b = rng.standard_normal(m)
        bs = args.block_size
        funcs = competitors(a, b, bs)
        for func in funcs.values():  # warm up (imports, BLAS thread pools)
            func()
        t = best_times(funcs, args.repeats)
        t_unblocked = float("nan")
        if m <= args.max_unblocked:
            t_unblocked = best_times({"u": lambda a=a: householder_qr(a)}, max(1, args.repeats // 2))["u"]
        q, r = qr_blocked(a, block_size=bs)
        qr_error = float(np.linalg.norm(q @ r - a) / np.linalg.norm(a))
        orth_error = float(np.linalg.norm(q.T @ q - np.eye(n)))
        x, x_ref = lstsq(a, b, block_size=bs), scipy.linalg.lstsq(a, b)[0]
        x_error = float(np.linalg.norm(x - x_ref) / np.linalg.norm(x_ref))
        row = {"m": m, "n": n, "block_size": bs,
               "householder_qr_s": t_unblocked, "qr_blocked_s": t["qr_blocked"], "scipy_qr_s": t["scipy_qr"],
               "lstsq_qr_s": t["lstsq_qr"], "scipy_lstsq_s": t["scipy_lstsq"],
               "scipy_lstsq_gelsy_s": t["scipy_gelsy"],
               "qr_ratio": t["qr_blocked"] / t["scipy_qr"], "lstsq_ratio": t["lstsq_qr"] / t["scipy_lstsq"],
               "lstsq_gelsy_ratio": t["lstsq_qr"] / t["scipy_gelsy"],
               "qr_rel_error": qr_error, "orthogonality_error": orth_error, "lstsq_rel_diff": x_error}
        rows.append(row)
        unblocked = "-" if np.isnan(t_unblocked) else f"{t_unblocked:.3f} s"
        print(f"{m} x {n}: householder_qr {unblocked}")
        print(f"  qr_blocked {t['qr_blocked']:.3f} s | scipy.linalg.qr(economic) {t['scipy_qr']:.3f} s | "
              f"ratio {row['qr_ratio']:.2f}")
        print(f"  lstsq(qr) {t['lstsq_qr']:.3f} s | scipy.linalg.lstsq (gelsd) {t['scipy_lstsq']:.3f} s | "
              f"ratio {row['lstsq_ratio']:.2f} | vs gelsy {t['scipy_gelsy']:.3f} s, "
              f"ratio {row['lstsq_gelsy_ratio']:.2f}")
        print(f"  ||QR - A||/||A|| {qr_error:.1e}, ||Q^T Q - I|| {orth_error:.1e}, "
              f"lstsq vs LAPACK {x_error:.1e}\n")

    last = rows[-1]
    if (last["m"], last["n"]) == (2000, 1000):
        qr_verdict = "within the 3x requirement" if last["qr_ratio"] <= 3 else "NOT within 3x"
        target = " and the 2x target" if last["qr_ratio"] <= 2 else ""
        ls_verdict = "within 3x" if last["lstsq_ratio"] <= 3 else "NOT within 3x"
        print(f"at 2000 x 1000: qr_blocked / scipy qr = {last['qr_ratio']:.2f} ({qr_verdict}{target}); "
              f"lstsq / scipy lstsq = {last['lstsq_ratio']:.2f} ({ls_verdict})")

    if args.csv:
        meta = (f"# benchmarks/qr.py, {datetime.date.today().isoformat()}, numpy {np.__version__}, "
                f"scipy {scipy.__version__}, {os.cpu_count()} cpus, OPENBLAS_NUM_THREADS={threads}, "
                f"best of {args.repeats}, load average {load_before:.2f} before and "
                f"{os.getloadavg()[0]:.2f} after (machine shared with other jobs)\n")
        write_record(args.csv, meta, rows)

    if args.tune:
        m, n = args.shapes[-1]
        a = rng.standard_normal((m, n))
        funcs = {"scipy": lambda: scipy.linalg.qr(a, mode="economic", check_finite=False)}
        for size in (16, 32, 48, 64, 96, 128, 256):
            funcs[size] = lambda size=size: qr_blocked(a, block_size=size)
        t = best_times(funcs, args.repeats)
        print(f"\nblock size tuning at {m} x {n} (scipy {t['scipy']:.3f} s, interleaved):")
        for size in funcs:
            if size != "scipy":
                print(f"  block_size {size:4d}: {t[size]:.3f} s, ratio {t[size] / t['scipy']:.2f}")
    print(f"\nload average after the run: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
