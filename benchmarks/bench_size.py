"""Output size and speed per clip: the default output against its input, whole processes.

For every clip (the real videos in ../shared/media and a 720p clip encoded from
a pan over a real photo) it runs ``python -m vidseg convert IN OUT`` as a user
would, with

* ``vidseg``         today's defaults;
* ``crf23 cavlc``    the encoder settings of the defaults before issue 13
                     (``--crf 23 --no-cabac``; the keyframe spacing is today's 10 s,
                     it was 2 s), for the size they gave;

and, on the 720p clip, ``ffmpeg plain`` (a ``libx264 -preset veryfast``
transcode, the floor of the conversion benchmark) for the speed targets:
>= 60 fps and >= 0.75x the plain transcode.  Columns: input and output MB
(whole files, audio included on both sides), their ratio (target <= 1), the
process's wall time and frames per wall second, and ``run fps`` (in-process,
from vidseg's own summary: the run without interpreter start-up and imports).
The 720p rows are the median of 3 interleaved runs.

    python benchmarks/bench_size.py            # every clip (a few minutes)
    python benchmarks/bench_size.py --quick    # 120-frame 720p clip and two real clips
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _clips import media_dir, video_paths
from bench_convert import FFMPEG_X264, count_frames, ensure_ffmpeg, make_720p

BEFORE = ["--crf", "23", "--no-cabac"]
_RUN_FPS = re.compile(r"frames written in [\d.]+ s \(([\d.]+) fps")


def vidseg(src: Path, out: Path, extra: list[str]) -> tuple[float, float]:
    """Convert as a user would; returns (wall seconds, the run's own fps)."""
    cmd = [sys.executable, "-m", "vidseg", "convert", str(src), str(out), "--overwrite"]
    t0 = time.perf_counter()
    done = subprocess.run([*cmd, "--no-progress", *extra], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"vidseg failed on {src}: {done.stderr}")
    found = _RUN_FPS.search(done.stderr)
    return wall, float(found.group(1)) if found else float("nan")


def plain(ffmpeg: str, src: Path, out: Path) -> float:
    """Wall seconds of a plain ffmpeg transcode (the floor)."""
    t0 = time.perf_counter()
    subprocess.run(
        [ffmpeg, "-nostdin", "-v", "error", "-y", "-i", str(src), *FFMPEG_X264, str(out)],
        check=True,
    )
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short 720p clip, two real clips")
    args = parser.parse_args()
    ffmpeg = ensure_ffmpeg()
    work = Path(tempfile.mkdtemp(prefix="vidseg-bench-size-"))
    try:
        clips = [make_720p(work / "demo720p.mp4", 120 if args.quick else 300)]
        clips += video_paths(media_dir())[: 2 if args.quick else None]
        vidseg(clips[0], work / "warm.mp4", [])  # numba's cache and the OS file cache
        print(
            f"{'clip':30} {'method':13} {'frames':>6} {'in MB':>7} {'out MB':>7} {'ratio':>6} "
            f"{'s':>6} {'fps':>6} {'run fps':>7}"
        )
        targets = ""
        for i, clip in enumerate(clips):
            n = count_frames(clip)
            size_in = clip.stat().st_size / 1e6
            repeats = 3 if i == 0 and not args.quick else 1
            runs: dict[str, list[tuple[float, float]]] = {"vidseg": [], "before": [], "plain": []}
            for _ in range(repeats):
                runs["vidseg"].append(vidseg(clip, work / "v.mp4", []))
                runs["before"].append(vidseg(clip, work / "b.mp4", BEFORE))
                if i == 0:
                    runs["plain"].append((plain(ffmpeg, clip, work / "p.mp4"), float("nan")))
            for method, out in (("vidseg", "v.mp4"), ("before", "b.mp4"), ("plain", "p.mp4")):
                if not runs[method]:
                    continue
                wall = statistics.median(w for w, _ in runs[method])
                run_fps = statistics.median(f for _, f in runs[method])
                size_out = (work / out).stat().st_size / 1e6
                label = {"plain": "ffmpeg plain", "before": "crf23 cavlc"}.get(method, method)
                print(
                    f"{clip.stem[:30]:30} {label:13} {n:6d} {size_in:7.2f} {size_out:7.2f} "
                    f"{size_out / size_in:6.2f} {wall:6.2f} {n / wall:6.1f} {run_fps:7.1f}"
                )
            if i == 0:
                t_vid = statistics.median(w for w, _ in runs["vidseg"])
                t_plain = statistics.median(w for w, _ in runs["plain"])
                fps = n / t_vid
                run_fps = statistics.median(f for _, f in runs["vidseg"])
                targets = (
                    f"720p targets, whole process: {fps:.1f} fps "
                    f"(>= 60: {'met' if fps >= 60 else 'MISSED'}; the run itself "
                    f"{run_fps:.1f} fps: {'met' if run_fps >= 60 else 'MISSED'}), "
                    f"{t_plain / t_vid:.2f}x plain "
                    f"(>= 0.75: {'met' if t_plain / t_vid >= 0.75 else 'MISSED'})"
                )
        print()
        print(targets)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
