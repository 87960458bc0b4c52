"""Start-up of ``vidseg convert``: launch to the first frame segmented, as whole processes.

On a 720p H.264 clip (a pan over a real photo) it runs, median of 5 (3 with --quick):

* ``cold``   ``vidseg convert CLIP out.mp4 --max-frames 1`` with an empty numba
             cache (``NUMBA_CACHE_DIR`` a fresh directory: every kernel compiles);
* ``warm``   the same with that cache filled (what every run after the first sees);
* ``python`` ``python -c pass`` (the interpreter's own start);
* ``floor``  a process that only imports the libraries the design fixes (NumPy,
             OpenCV, PyAV, numba, scikit-learn, SciPy), then the same plus loading
             one cached kernel: no start-up that segments with them can be shorter;

reporting the process's wall time, its CPU time (user + system, all threads)
and the launch-to-first-frame time (``benchmarks/_first_frame.py``: from the
process's start in ``/proc`` to the first ``segment()`` returning).  Then the
import breakdown of a warm start (``python -X importtime``, top packages by
cumulative time) and where the warm start's CPU goes in-process (imports,
opening the input, loading the kernels, the first fit).

    python benchmarks/bench_startup.py            # about a minute
    python benchmarks/bench_startup.py --quick

Target (issue 13): launch to first frame <= 1 s with the kernel cache warm.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_convert import make_720p

HERE = Path(__file__).resolve().parent
PY = sys.executable
TARGET_FIRST_FRAME_S = 1.0

# The floor of any start-up that segments with the design's libraries: importing them
# (the imports run on one thread, whatever else overlaps), then loading one cached kernel.
FLOOR = "import numpy, cv2, av, numba, sklearn.cluster, scipy.optimize"
FIRST_KERNEL = (
    "from vidseg.engine import kernels; kernels.centroids(numpy.zeros((2, 2), numpy.uint8), 2, 1)"
)

# In-process phases of a warm start, each timed after the previous one.
PHASES = """
import time
t0 = time.perf_counter(); c0 = time.process_time()
def mark(name):
    global t0, c0
    t, c = time.perf_counter(), time.process_time()
    print(f"{name:34} {1000 * (c - c0):7.0f} ms cpu {1000 * (t - t0):7.0f} ms wall")
    t0, c0 = t, c
import numpy, cv2, av; mark("numpy, cv2, av")
import vidseg.apps.convert; mark("vidseg.apps.convert (+ numba)")
import sklearn.cluster, scipy.optimize; mark("scikit-learn, scipy.optimize")
from vidseg.io.sources import open_source
src = open_source(CLIP, audio=False)
frame = next(iter(src)).image; mark("open input, first frame decoded")
from vidseg.engine import kernels
import numpy as np
kernels.centroids(np.zeros((2, 2), np.uint8), 2, 1); mark("numba target + first cached kernel")
from vidseg.engine import Segmenter
seg = Segmenter(8, seed=0); seg.segment(frame); mark("first segment() (fit, labelling)")
seg.segment(frame); mark("second segment()")
src.close()
"""


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float | None]:
    """Wall s, CPU s (user + sys of the child) and first-frame s (if reported) of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    found = re.search(r"first-frame-s ([0-9.]+)", proc.stderr)
    return wall, cpu, float(found.group(1)) if found else None


def import_breakdown(top: int) -> list[tuple[str, float]]:
    """Cumulative import time (s) of each top-level package a warm convert imports.

    A package's time includes what it imports first (scikit-learn's includes
    most of SciPy), so the rows overlap; the whole import is the ``vidseg`` row.
    """
    proc = subprocess.run(
        [PY, "-X", "importtime", "-c", "import vidseg.cli, vidseg.apps.convert, sklearn.cluster"],
        capture_output=True,
        text=True,
        check=True,
    )
    cumulative: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            name = parts[2].strip()
            if "." not in name:
                cumulative[name] = max(cumulative.get(name, 0.0), int(parts[1]) / 1e6)
    return sorted(cumulative.items(), key=lambda x: -x[1])[:top]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 runs each instead of 5")
    args = parser.parse_args()
    repeats = 3 if args.quick else 5
    with tempfile.TemporaryDirectory(prefix="vidseg-startup-") as tmp:
        work = Path(tmp)
        clip = make_720p(work / "clip720.mp4", 30)
        out = work / "out.mp4"
        convert = [
            PY,
            str(HERE / "_first_frame.py"),
            "convert",
            str(clip),
            str(out),
            "--max-frames",
            "1",
            "--overwrite",
            "-q",
        ]
        rows: dict[str, list[tuple[float, float, float | None]]] = {
            "python -c pass": [],
            "floor: fixed libraries": [],
            "floor + cached kernel": [],
            "convert, cold kernel cache": [],
            "convert, warm kernel cache": [],
        }
        warm_cache = work / "numba-warm"
        timed(convert, env={**os.environ, "NUMBA_CACHE_DIR": str(warm_cache)})  # fill it
        for i in range(repeats):
            rows["python -c pass"].append(timed([PY, "-c", "pass"]))
            rows["floor: fixed libraries"].append(timed([PY, "-c", FLOOR]))
            rows["floor + cached kernel"].append(
                timed(
                    [PY, "-c", FLOOR + "; " + FIRST_KERNEL],
                    env={**os.environ, "NUMBA_CACHE_DIR": str(warm_cache)},
                )
            )
            cold = {**os.environ, "NUMBA_CACHE_DIR": str(work / f"numba-cold-{i}")}
            rows["convert, cold kernel cache"].append(timed(convert, env=cold))
            warm = {**os.environ, "NUMBA_CACHE_DIR": str(warm_cache)}
            rows["convert, warm kernel cache"].append(timed(convert, env=warm))

        print(f"whole processes, 1280x720 H.264, --max-frames 1, median of {repeats}")
        print(f"{'run':30} {'wall s':>7} {'cpu s':>7} {'1st frame s':>11}")
        for name, runs in rows.items():
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            firsts = [r[2] for r in runs if r[2] is not None]
            first = f"{statistics.median(firsts):11.2f}" if firsts else f"{'-':>11}"
            print(f"{name:30} {wall:7.2f} {cpu:7.2f} {first}")

        print("\nimports of a warm start (python -X importtime, cumulative, top-level packages)")
        for name, seconds in import_breakdown(12):
            print(f"  {name:28} {1000 * seconds:7.0f} ms")

        print("\nin-process phases of a warm start (CPU of the whole process; wall)")
        phases = subprocess.run(
            [PY, "-c", f"CLIP = {str(clip)!r}\n" + PHASES],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "NUMBA_CACHE_DIR": str(warm_cache)},
        )
        print(phases.stdout.rstrip())

        firsts = [r[2] for r in rows["convert, warm kernel cache"] if r[2] is not None]
        first = statistics.median(firsts)
        floor = statistics.median(r[0] for r in rows["floor + cached kernel"])
        print(
            f"\n  the floor (importing numpy, OpenCV, PyAV, numba, scikit-learn and SciPy, then "
            f"one cached kernel) takes {floor:.2f} s as a whole process"
        )
        verdict = "met" if first <= TARGET_FIRST_FRAME_S else "MISSED"
        print(
            f"\n  [{verdict:6}] launch to first frame segmented, warm cache <= "
            f"{TARGET_FIRST_FRAME_S:.1f} s: {first:.2f} s"
        )
        load = os.getloadavg()[0]
        print(f"load average during the run: {load:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
