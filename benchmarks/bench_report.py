"""How long a user waits for ``vidseg report`` on an hour of statistics.

Generates, once, a 1-hour run at 25 fps (90,000 frames x 8 clusters) in the
formats ``vidseg analyze`` writes: a CSV (frame and zone rows) and an NDJSON
file, each with one zone, lighting flags, scene cuts, maps and five events
with snapshots (``vidseg.report.sample``).  Then times the whole
``python -m vidseg report STATS -o report.html`` process on each (wall time,
median of several runs; the child's CPU time beside it, which the other
processes on a shared machine disturb less), against the issue's target of
10 s.  The in-process figure is the stats reader alone (``load_stats``),
labelled as such.

    python benchmarks/bench_report.py            # 90,000 frames, 3 runs per format
    python benchmarks/bench_report.py --quick    # 9,000 frames, 1 run
    python benchmarks/bench_report.py --keep out # leave data and reports in out/ (reused next time)
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vidseg.report import load_stats
from vidseg.report.sample import write_sample_run

TARGET_S = 10.0
FPS = 25.0


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time_report(stats: Path, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one ``vidseg report`` process."""
    cmd = [sys.executable, "-m", "vidseg", "report", str(stats), "-o", str(out)]
    cpu0, t0 = _child_cpu(), time.perf_counter()
    subprocess.run([*cmd, "--overwrite", "-q"], check=True, timeout=600)
    return time.perf_counter() - t0, _child_cpu() - cpu0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="9,000 frames, one run")
    parser.add_argument("--runs", type=int, help="timed runs per format (default 3; quick 1)")
    parser.add_argument("--keep", type=Path, help="write the data and reports here and keep them")
    args = parser.parse_args()
    frames = 9_000 if args.quick else 90_000
    runs = args.runs or (1 if args.quick else 3)
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_report."))
    rows = []
    try:
        for fmt in ("csv", "ndjson"):
            folder = work / fmt
            stats = folder / f"stats.{fmt}"
            t0 = time.perf_counter()
            if stats.is_file() and stats.with_name("frames").read_text() == str(frames):
                print(f"reusing {stats} ({frames:,} frames)", flush=True)
            else:
                write_sample_run(
                    folder, frames=frames, k=8, fps=FPS, fmt=fmt, events=5, size=(640, 360)
                )
                stats.with_name("frames").write_text(str(frames))
                made = time.perf_counter() - t0
                print(f"generated {stats} ({frames:,} frames) in {made:.0f} s", flush=True)
            t0 = time.perf_counter()
            load_stats(stats)
            parse = time.perf_counter() - t0
            times = [_time_report(stats, folder / "report.html") for _ in range(runs)]
            lines = stats.read_bytes().count(b"\n")
            rows.append((fmt, lines, stats.stat().st_size, parse, times))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)

    print()
    hours = frames / FPS / 3600
    print(f"vidseg report on {frames:,} frames x 8 clusters ({hours:.2f} h at 25 fps)")
    head = (
        f"{'format':<7} {'lines':>10} {'file MB':>8} {'parse s*':>9} "
        f"{'wall s (median)':>16} {'cpu s':>6} {'runs':>5} {'target':>7}  result"
    )
    print(head)
    print("-" * len(head))
    for fmt, lines, size, parse, times in rows:
        wall = statistics.median(t for t, _ in times)
        cpu = statistics.median(c for _, c in times)
        result = "met" if wall <= TARGET_S else "missed"
        print(
            f"{fmt:<7} {lines:>10,} {size / 1e6:>8.1f} {parse:>9.2f} {wall:>16.2f} "
            f"{cpu:>6.2f} {len(times):>5} {f'<= {TARGET_S:.0f} s':>7}  {result}"
        )
    print("* parse s: load_stats() alone, in-process; wall s: the whole process")
    if args.keep is not None:
        print(f"data and reports kept in {work}/<format>/report.html")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
