"""Run chapters (and, on request, tests) under many seeds; print each assert that failed, with its rate.

``make seeds`` runs ``python tools/seed_sweep.py``. Each seed is one pytest run with
``MATHGUIDE_SEED=<seed>`` (see ``mathguide.seeding``), which re-rolls every chapter's generator and the
tests' ``rng`` fixture at once. A claim drawn from a random experiment must hold for every seed of the
sweep; one that does not is stated in the prose as what this run shows, not asserted.

Usage::

    python tools/seed_sweep.py [--seeds 10] [--first 1] [--workers 2] [path ...]

Paths default to ``chapters``. The report lists, for each failing assert (the chapter, the line of the
cell, the failing statement), how many seeds failed it and which.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

# IPython marks the failing line of a cell's traceback with an arrow: "----> 12 assert x < 1".
_ARROW = re.compile(r"^-*>\s*(\d+)\s+(.*)$")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def failing_statement(message: str) -> str:
    """The source of the innermost arrowed line of a chapter traceback, or the error's last line."""
    lines = [_ANSI.sub("", line) for line in message.splitlines()]
    arrowed = [m.group(2).strip() for line in lines if (m := _ARROW.match(line.strip()))]
    if arrowed:
        return arrowed[0]
    errors = [line.strip() for line in lines if re.match(r"^\s*(E\s+)?\w+(Error|Exception)\b", line)]
    return errors[-1] if errors else (lines[-1].strip() if lines else "")


def failures(junit: Path) -> list[tuple[str, str]]:
    """(test id, failing statement) for every failed or errored test case of a JUnit report."""
    found = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        for problem in list(case.findall("failure")) + list(case.findall("error")):
            test_id = f"{case.get('classname', '')}::{case.get('name', '')}"
            found.append((test_id, failing_statement((problem.get("message") or "") + "\n" + (problem.text or ""))))
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="how many seeds (default 10)")
    parser.add_argument("--first", type=int, default=1, help="the first seed (default 1)")
    parser.add_argument("--workers", default=os.environ.get("PYTEST_WORKERS", "2"))
    parser.add_argument("paths", nargs="*", default=["chapters"])
    args = parser.parse_args(argv)
    seeds = list(range(args.first, args.first + args.seeds))
    failed: dict[tuple[str, str], list[int]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="mathguide-seeds-") as tmp:
        for seed in seeds:
            junit = Path(tmp) / f"seed-{seed}.xml"
            env = dict(os.environ, MATHGUIDE_SEED=str(seed))
            command = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", f"--junitxml={junit}", *args.paths]
            if args.workers not in ("0", "1"):
                command += ["-n", args.workers, "--dist", "loadfile"]
            run = subprocess.run(command, env=env, capture_output=True, text=True)
            if not junit.exists():
                print(run.stdout[-3000:], run.stderr[-3000:], sep="\n")
                print(f"seed {seed}: pytest wrote no report (exit {run.returncode})", file=sys.stderr)
                return 2
            these = failures(junit)
            for key in these:
                failed[key].append(seed)
            print(f"seed {seed}: {len(these)} failing item(s)", flush=True)
    print(f"\nSeed sweep over MATHGUIDE_SEED = {seeds[0]}..{seeds[-1]} on {' '.join(args.paths)}")
    if not failed:
        print("Every assert held for every seed.")
        return 0
    print(f"{'rate':>7}  {'seeds':<20}  where / failing statement")
    for (test_id, statement), bad in sorted(failed.items(), key=lambda item: (-len(item[1]), item[0])):
        print(f"{len(bad):>3}/{len(seeds):<3}  {','.join(map(str, bad)):<20}  {test_id}\n{'':33}{statement}")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
