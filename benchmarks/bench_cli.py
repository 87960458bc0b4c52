"""How long the command line takes to answer: whole processes, median of 5 runs.

Times ``vidseg --help``, ``vidseg config`` and ``vidseg convert --help`` as a user
waits for them (a new Python process each time), for this checkout and, side by
side, for a baseline git revision (default ``main``) exported to a temporary
directory and run with the same interpreter (``PYTHONPATH`` puts it first).
``python -c pass`` is the floor.  The issue's target: every one under 0.3 s.

    python benchmarks/bench_cli.py                 # median of 5
    python benchmarks/bench_cli.py --quick         # median of 3
    python benchmarks/bench_cli.py --baseline ''   # this checkout only
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMMANDS = (["--help"], ["config"], ["convert", "--help"])
TARGET_S = 0.3


def time_process(cmd: list[str], tree: Path, runs: int) -> float:
    """Median wall time of ``cmd`` run in ``tree`` over ``runs`` runs (output discarded).

    ``python -m`` puts the working directory first on ``sys.path``, so the
    process imports that tree's ``vidseg``.
    """
    env = dict(os.environ, PYTHONPATH=str(tree))
    times = []
    for _ in range(runs + 1):  # the first run fills the tree's caches (.pyc, numba)
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times[1:])


def export_revision(rev: str, into: Path) -> Path:
    """Write the tree of git revision ``rev`` into ``into`` and return it."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", rev], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="median of 3 instead of 5")
    parser.add_argument("--baseline", default="main", help="git revision to compare ('' none)")
    args = parser.parse_args()
    runs = 3 if args.quick else 5
    trees = {"this checkout": REPO}
    work = Path(tempfile.mkdtemp(prefix="vidseg-bench-cli-"))
    try:
        if args.baseline:
            trees[args.baseline] = export_revision(args.baseline, work)
        floor = time_process([sys.executable, "-c", "pass"], REPO, runs)
        print(f"whole-process wall time, median of {runs}; python -c pass: {floor:.3f} s")
        print(f"{'command':24}" + "".join(f"{name:>16}" for name in trees) + "   target")
        for command in COMMANDS:
            cells = []
            for tree in trees.values():
                t = time_process([sys.executable, "-m", "vidseg", *command], tree, runs)
                cells.append(t)
            mine = cells[0]
            verdict = "met" if mine < TARGET_S else "MISSED"
            print(
                f"{'vidseg ' + ' '.join(command):24}"
                + "".join(f"{t:15.3f}s" for t in cells)
                + f"   < {TARGET_S} s: {verdict}"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
