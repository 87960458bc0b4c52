"""Whole-process speed against ffmpeg, side by side in one run (issues 12 and 13).

Every row is one process, start-up included (what a user waits for), timed
interleaved with its baseline, median of 3; CPU time (user + system of the
process and all its threads) is printed beside the wall time, since wall time
on a shared machine moves with the others' load.

1. ``convert`` on a 400-frame 720p H.264 clip (a pan over a real photo):
   ``python -m vidseg convert X out.mp4 --stats s.csv`` against
   ``ffmpeg -i X -c:v libx264 -preset veryfast out.mp4``.  Target >= 0.75x.
   Also with ``--label-threads 2`` (does splitting the pass pay when x264
   keeps both cores busy?).
2. Segment-only on a 1,105-frame 720p H.264 file built from a real shared clip
   (the dashcam, scaled to 1280x720 and played 5 times): decode + segment +
   statistics CSV, no encoder (``benchmarks/_segment_only.py``, the work of
   ``vidseg analyze`` without zones; ``label_threads`` 1 and 2) against
   ``ffmpeg -threads 1 -i X -f null -`` (decoding alone, one thread), and
   against ``vidseg convert`` of the same file.  Targets >= 0.45x the decode,
   >= 1.5x convert.

    python benchmarks/bench_whole.py            # several minutes
    python benchmarks/bench_whole.py --quick    # 120 / 300 frames, one run each

Clips are built once into the system temp directory (``vidseg-bench-cache``).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _clips import media_dir
from bench_convert import ensure_ffmpeg, make_720p

HERE = Path(__file__).resolve().parent
PY = sys.executable
REAL_CLIP = "udacity_dashcam_solidWhiteRight.mp4"  # 960x540, 221 frames


def real_720p(ffmpeg: str, loops: int, frames: int | None, cache: Path) -> Path:
    """The shared dashcam clip at 1280x720, played ``loops`` times, H.264 (cached)."""
    path = cache / f"dashcam720p_x{loops}_{frames or 'all'}.mp4"
    if path.is_file():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name("building-" + path.name)
    cmd = [ffmpeg, "-nostdin", "-v", "error", "-y", "-stream_loop", str(loops - 1)]
    cmd += ["-i", str(media_dir() / REAL_CLIP), "-an", "-vf", "scale=1280:720"]
    cmd += ["-frames:v", str(frames)] if frames else []
    cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"]
    subprocess.run([*cmd, str(tmp)], check=True)
    tmp.rename(path)
    return path


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, all threads) of one whole process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def count_frames(path: Path) -> int:
    import av

    with av.open(str(path)) as container:
        return sum(1 for p in container.demux(container.streams.video[0]) if p.size)


def side_by_side(
    title: str, n: int, commands: dict[str, list[str]], repeats: int
) -> dict[str, tuple[float, float]]:
    """Run every command ``repeats`` times, interleaved; print and return median (wall, cpu)."""
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, cmd in commands.items():
            runs[name].append(timed(cmd))
    medians = {
        name: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs))
        for name, rs in runs.items()
    }
    print(f"\n{title}: {n} frames, whole processes, median of {repeats}, interleaved")
    print(f"{'method':44} {'wall s':>7} {'fps':>7} {'cpu s':>7} {'cpu ms/frame':>12}")
    for name, (wall, cpu) in medians.items():
        print(f"{name:44} {wall:7.2f} {n / wall:7.1f} {cpu:7.2f} {1000 * cpu / n:12.2f}")
    return medians


def verdict(name: str, value: float, target: float) -> str:
    return f"  [{'met' if value >= target else 'MISSED':6}] {name} >= {target}x: {value:.2f}x"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short clips, one run each")
    args = parser.parse_args()
    ffmpeg = ensure_ffmpeg()
    repeats = 1 if args.quick else 3
    cache = Path(tempfile.gettempdir()) / "vidseg-bench-cache"
    work = Path(tempfile.mkdtemp(prefix="vidseg-whole-"))
    try:
        demo = make_720p(work / "demo720p.mp4", 120 if args.quick else 400)
        real = real_720p(ffmpeg, 2 if args.quick else 5, 300 if args.quick else None, cache)
        vidseg = [PY, "-m", "vidseg", "convert"]
        quiet = ["--overwrite", "-q"]
        # Fill the kernel cache and the page cache outside the timings.
        timed([*vidseg, str(demo), str(work / "w.mp4"), "--max-frames", "2", *quiet])

        n_demo = count_frames(demo)
        conv = side_by_side(
            "1. convert vs a plain transcode (1280x720 pan over a real photo)",
            n_demo,
            {
                "ffmpeg -c:v libx264 -preset veryfast": [
                    *(ffmpeg, *"-nostdin -v error -y -i".split(), str(demo)),
                    *"-c:v libx264 -preset veryfast -pix_fmt yuv420p".split(),
                    str(work / "plain.mp4"),
                ],
                "vidseg convert --stats": [
                    *vidseg,
                    str(demo),
                    str(work / "v.mp4"),
                    "--stats",
                    str(work / "v.csv"),
                    *quiet,
                ],
                # Whether the bands pay while x264 keeps both cores busy.
                "vidseg convert --stats --label-threads 2": [
                    *vidseg,
                    str(demo),
                    str(work / "v2.mp4"),
                    "--stats",
                    str(work / "v2.csv"),
                    "--label-threads",
                    "2",
                    *quiet,
                ],
            },
            repeats,
        )

        n_real = count_frames(real)
        seg_only = [PY, str(HERE / "_segment_only.py"), str(real), str(work / "s.csv")]
        whole = side_by_side(
            f"2. segment-only vs decoding alone ({REAL_CLIP} at 1280x720, looped)",
            n_real,
            {
                "ffmpeg -threads 1 -f null (decode)": [
                    *(ffmpeg, *"-nostdin -v error -threads 1 -i".split(), str(real)),
                    *"-f null -".split(),
                ],
                "segment-only, label_threads=1": [*seg_only, "--label-threads", "1"],
                "segment-only, label_threads=2": [*seg_only, "--label-threads", "2"],
                "vidseg convert --stats": [
                    *vidseg,
                    str(real),
                    str(work / "r.mp4"),
                    "--stats",
                    str(work / "r.csv"),
                    *quiet,
                ],
            },
            repeats,
        )

        print()
        plain, vid = (
            conv["ffmpeg -c:v libx264 -preset veryfast"][0],
            conv["vidseg convert --stats"][0],
        )
        print(verdict("issue 13: whole convert vs plain transcode (wall)", plain / vid, 0.75))
        vid2 = conv["vidseg convert --stats --label-threads 2"][0]
        print(verdict("  the same with --label-threads 2", plain / vid2, 0.75))
        decode = whole["ffmpeg -threads 1 -f null (decode)"][0]
        convert = whole["vidseg convert --stats"][0]
        for threads in (1, 2):
            t = whole[f"segment-only, label_threads={threads}"][0]
            print(
                verdict(
                    f"issue 12: segment-only (label_threads={threads}) vs decode", decode / t, 0.45
                )
            )
            print(
                verdict(
                    f"issue 12: segment-only (label_threads={threads}) vs convert", convert / t, 1.5
                )
            )
        print(
            f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
            "(wall times move with other processes; CPU times much less)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
