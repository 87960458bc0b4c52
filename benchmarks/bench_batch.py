"""`vidseg batch` against sequential `vidseg convert` processes, side by side in one run.

Eight clips (the shared real videos in turn, each looped to the same length and
re-encoded once, no audio; cached) are converted three ways, interleaved,
median of the repeats, every row a whole process (start-up included: what a
user waits for):

* ``sequential convert``  ``vidseg convert CLIP out.mp4 --stats s.csv``, one clip after another;
* ``batch, local cluster`` ``vidseg batch DIR --out O --workers 2`` (its own LocalCluster:
                           start, 8 tasks, close);
* ``batch, --scheduler``  ``vidseg batch DIR --out O --scheduler ADDR`` against a separate
                           ``dask scheduler`` + ``dask worker --nworkers 2 --nthreads 1``
                           started beforehand (not timed), MALLOC_TRIM_THRESHOLD_ removed
                           through a Dask YAML file as the README shows.

The ratio is sequential time over the row's time (> 1: faster).  Target
(issue 10): >= 1.2x with 2 workers on 2 cores.

    python benchmarks/bench_batch.py            # 8 clips x 600 frames, 3 repeats
    python benchmarks/bench_batch.py --quick    # 8 clips x 40 frames, 1 repeat (smoke run)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _clips import video_paths

CLIPS = 8
TARGET = 1.2
VIDSEG = [sys.executable, "-m", "vidseg"]
DASK = str(Path(sys.executable).with_name("dask"))
NO_TRIM = "distributed:\n  nanny:\n    pre-spawn-environ:\n      MALLOC_TRIM_THRESHOLD_: null\n"


def build_clips(frames: int, cache: Path) -> list[Path]:
    """``CLIPS`` clips of ``frames`` frames each, from the shared videos in turn (cached)."""
    sources = video_paths()
    if not sources:
        sys.exit("no shared media found in ../shared/media")
    folder = cache / f"batch_{frames}"
    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    for i in range(CLIPS):
        src = sources[i % len(sources)]
        path = folder / f"clip{i}_{src.stem}.mp4"
        if not path.is_file():
            tmp = path.with_suffix(".partial.mp4")
            subprocess.run(
                [
                    "ffmpeg", "-nostdin", "-v", "error", "-y", "-stream_loop", "-1",
                    "-i", str(src), "-an", "-frames:v", str(frames), "-c:v", "libx264",
                    "-preset", "fast", "-crf", "20", "-pix_fmt", "yuv420p", str(tmp),
                ],
                check=True,
            )  # fmt: skip
            tmp.replace(path)
        clips.append(path)
    return clips


def timed(cmds: list[list[str]], env: dict[str, str] | None = None) -> float:
    """Wall time of whole processes run one after another (a batch may exit 1: none here)."""
    t0 = time.perf_counter()
    for cmd in cmds:
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=env)  # fmt: skip
    return time.perf_counter() - t0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def dask_cluster(work: Path) -> Iterator[str]:
    """A separate `dask scheduler` and `dask worker` (2 x 1 thread) on 127.0.0.1."""
    conf = work / "dask-config"
    conf.mkdir(exist_ok=True)
    (conf / "vidseg.yaml").write_text(NO_TRIM)
    env = {**os.environ, "DASK_CONFIG": str(conf)}
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    local = ["--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0"]
    procs = [
        subprocess.Popen(
            [DASK, "scheduler", "--port", str(port), *local],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [DASK, "worker", address, "--nworkers", "2", "--nthreads", "1", *local],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
    ]
    try:
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGINT)
        for p in reversed(procs):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="8 x 40 frames, 1 repeat")
    ap.add_argument("--frames", type=int, help="frames per clip (default 600; quick 40)")
    ap.add_argument("--repeats", type=int, help="interleaved repeats (default 3; quick 1)")
    args = ap.parse_args()
    frames = args.frames or (40 if args.quick else 600)
    repeats = args.repeats or (1 if args.quick else 3)
    clips = build_clips(frames, Path(tempfile.gettempdir()) / "vidseg-bench-cache")
    quiet = ["--no-progress", "-q"]
    with tempfile.TemporaryDirectory(prefix="vidseg-bench-batch-") as tmp:
        work = Path(tmp)
        inputs = work / "in"
        inputs.mkdir()
        for clip in clips:
            (inputs / clip.name).symlink_to(clip)
        out = work / "out"

        def sequential() -> float:
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            return timed([
                [*VIDSEG, "convert", str(c), str(out / c.name), "--stats",
                 str(out / f"{c.stem}.csv"), *quiet]
                for c in clips
            ])  # fmt: skip

        def batch(*extra: str) -> float:
            shutil.rmtree(out, ignore_errors=True)
            return timed([[*VIDSEG, "batch", str(inputs), "--out", str(out), *extra, *quiet]])

        rows: dict[str, list[float]] = {"sequential convert": [], "batch, local cluster": [],
                                        "batch, --scheduler": []}  # fmt: skip
        with dask_cluster(work) as address:
            for _ in range(repeats):
                rows["sequential convert"].append(sequential())
                rows["batch, local cluster"].append(batch("--workers", "2"))
                rows["batch, --scheduler"].append(batch("--scheduler", address))
    total = CLIPS * frames
    base = statistics.median(rows["sequential convert"])
    print(f"\n{CLIPS} clips x {frames} frames ({total} frames), {os.cpu_count()} cores, "
          f"median of {repeats}; whole processes")  # fmt: skip
    print(f"{'row':<22} {'seconds':>8} {'fps':>7} {'vs sequential':>14}  target")
    for name, times in rows.items():
        t = statistics.median(times)
        target = "" if name.startswith("sequential") else f">= {TARGET:.2f}x"
        print(f"{name:<22} {t:8.1f} {total / t:7.1f} {base / t:13.2f}x  {target}")


if __name__ == "__main__":
    main()
