"""End-to-end conversion benchmark: vidseg against ffmpeg, side by side in one run.

For every clip (the real videos in ../shared/media and a 720p clip encoded from
a pan over a real photo) it times, on the same input file:

* ``vidseg``          decode + segment (k=8) + encode H.264 + per-cluster stats CSV,
                      in process (``vidseg.apps.convert.convert``), warm;
* ``vidseg fast``     the same with the engine's speed settings (5-bit table,
                      2048-pixel sample, 2 warm steps);
* ``ffmpeg palette``  ffmpeg's own per-frame 8-colour palette pipeline
                      (palettegen=max_colors=8:stats_mode=single + paletteuse=new=1);
* ``ffmpeg plain``    a plain transcode, no filter: the floor (decode + encode only).

The vidseg and plain rows are the median of 3 interleaved runs.

vidseg encodes libx264 -preset superfast (its default), the ffmpeg rows
-preset veryfast (the issue's baselines); all write yuv420p and copy the audio.
Then a live run: a paced source (frames stamped at capture time) faster than the
pipeline, written to an H.264 file, reporting capture-to-written latency over
the run and whether it grows (default ``live_pacing=latency``, then a shorter
run with ``throughput``); then a 30 fps source (a webcam) it keeps up with.

    python benchmarks/bench_convert.py            # full (about 9 minutes; live runs 120, 30, 30 s)
    python benchmarks/bench_convert.py --quick    # a smoke run (live run 10 s)

Installs Debian's ffmpeg first when it is missing (apt-get, as root or via sudo).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _clips import media_dir, video_paths

from vidseg.config import Config
from vidseg.engine import Segmenter
from vidseg.frames import Frame, StreamInfo
from vidseg.io.demo import demo_frames
from vidseg.io.sources import SourceBase
from vidseg.io.video_sink import VideoFileSink
from vidseg.pipeline import run

FFMPEG_X264 = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "copy"]


def ensure_ffmpeg() -> str:
    """Path of the ffmpeg program, installing Debian's package when missing."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    print("installing Debian's ffmpeg for the baseline rows ...", file=sys.stderr)
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True)
    subprocess.run(
        [*sudo, "apt-get", "install", "-y", "-qq", "ffmpeg"],
        check=True,
        env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
    )
    found = shutil.which("ffmpeg")
    if not found:
        raise SystemExit("ffmpeg could not be installed; the baseline rows need it")
    return found


def make_720p(path: Path, n: int) -> Path:
    """Encode n frames of the demo pan (a real photo) at 1280x720 as H.264."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25, options={"crf": "18", "preset": "fast"})
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        for i, image in enumerate(demo_frames(n, (1280, 720))):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def count_frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.demux(container.streams.video[0]) if _.size)


def time_ffmpeg(ffmpeg: str, src: Path, out: Path, vf: str | None) -> float:
    cmd = [ffmpeg, "-nostdin", "-v", "error", "-y", "-i", str(src)]
    if vf:
        cmd += ["-vf", vf]
    t0 = time.perf_counter()
    subprocess.run([*cmd, *FFMPEG_X264, str(out)], check=True)
    return time.perf_counter() - t0


REPEATS = 3  # runs of each fast row; the table shows the median

# Engine settings that trade a little fit quality for speed (the `vidseg fast` row).
FAST = {"lut_bits": 5, "sample_size": 2048, "max_iter": 2}


def time_vidseg(src: Path, out: Path, stats: Path, fast: bool = False) -> float:
    from vidseg.apps.convert import convert

    cfg = Config().with_overrides({"progress": False, **(FAST if fast else {})})
    t0 = time.perf_counter()
    convert(str(src), out, cfg, stats=stats, overwrite=True)
    return time.perf_counter() - t0


class PacedSource(SourceBase):
    """A live source: frames at a fixed rate, stamped when 'captured' (a camera stand-in)."""

    def __init__(self, images: list[np.ndarray], fps: float, seconds: float) -> None:
        super().__init__()
        h, w = images[0].shape[:2]
        self._images, self._fps, self._seconds = images, fps, seconds
        self.info = StreamInfo(width=w, height=h, fps=fps, live=True, name="paced")

    def _frames(self) -> Iterator[Frame]:
        start = time.monotonic()
        i = 0
        while time.monotonic() - start < self._seconds and not self.closed:
            due = start + i / self._fps
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            yield Frame(
                image=self._images[i % len(self._images)],
                index=i,
                time_s=i / self._fps,
                captured_at=time.monotonic(),
            )
            i += 1

    def _release(self) -> None:
        pass


def live_run(
    seconds: float, fps: float, size: tuple[int, int], out: Path, pacing: str
) -> dict[str, float]:
    images = list(demo_frames(50, size))
    src = PacedSource(images, fps, seconds)
    sinks = [VideoFileSink(out, overwrite=True)]
    summary = run(src, Segmenter(n_clusters=8), sinks, live_pacing=pacing)
    lat = summary.latency_ms
    return {
        "frames_in": summary.frames_in,
        "written": summary.frames_out,
        "dropped": summary.dropped,
        "fps_out": summary.fps,
        **lat,
    }


def report_live(live_fps: float, seconds: float, out: Path, pacing: str = "latency") -> None:
    """Run a paced 1280x720 source through the pipeline and print its latency."""
    lat = live_run(seconds, live_fps, (1280, 720), out, pacing)
    interval = 1000.0 / live_fps
    print(
        f"\nlive 1280x720 source at {live_fps:.0f} fps for {seconds:.0f} s, "
        f"live_pacing={pacing} -> H.264: "
        f"{lat['written']:.0f} written, {lat['dropped']:.0f} dropped "
        f"({lat['fps_out']:.1f} fps out)"
    )
    print(
        f"latency capture->written ms: p50 {lat['p50']:.1f}  p95 {lat['p95']:.1f}  "
        f"max {lat['max']:.1f}  first half {lat['first_half']:.1f}  "
        f"second half {lat['second_half']:.1f}"
    )
    out_interval = 1000.0 / max(lat["fps_out"], 1e-9)
    print(
        f"p95 = {lat['p95'] / interval:.2f} source intervals = "
        f"{lat['p95'] / out_interval:.2f} output intervals; growing: "
        f"{'yes' if lat['second_half'] > 1.25 * lat['first_half'] else 'no'}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short clips and live run")
    parser.add_argument("--live-seconds", type=float, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    ffmpeg = ensure_ffmpeg()
    live_seconds = args.live_seconds or (10.0 if args.quick else 120.0)

    work = Path(tempfile.mkdtemp(prefix="vidseg-bench-"))
    try:
        clips = [make_720p(work / "demo720p.mp4", 120 if args.quick else 300)]
        clips += video_paths(media_dir())[: 2 if args.quick else None]
        # Warm up numba's cache and the imports outside the timings.
        time_vidseg(clips[0], work / "warm.mp4", work / "warm.csv")
        rows = []
        for clip in clips:
            n = count_frames(clip)
            with av.open(str(clip)) as c:
                w, h = c.streams.video[0].width, c.streams.video[0].height
            # The fast rows are noisy on a shared 2-core machine (one run's plain
            # transcode varies 104-125 fps): median of 3 runs, interleaved.
            times: dict[str, list[float]] = {"plain": [], "vid": [], "fast": []}
            for _ in range(REPEATS):
                times["plain"].append(time_ffmpeg(ffmpeg, clip, work / "plain.mp4", None))
                times["vid"].append(time_vidseg(clip, work / "vidseg.mp4", work / "vidseg.csv"))
                times["fast"].append(
                    time_vidseg(clip, work / "vidseg.mp4", work / "vidseg.csv", fast=True)
                )
            t_plain, t_vid, t_fast = (float(np.median(times[k])) for k in ("plain", "vid", "fast"))
            t_pal = time_ffmpeg(
                ffmpeg,
                clip,
                work / "palette.mp4",
                "split[a][b];[a]palettegen=max_colors=8:stats_mode=single[p];"
                "[b][p]paletteuse=new=1",
            )
            for method, t in (
                ("vidseg", t_vid),
                ("vidseg fast", t_fast),
                ("ffmpeg palette", t_pal),
                ("ffmpeg plain", t_plain),
            ):
                rows.append(
                    (clip.stem[:30], f"{w}x{h}", n, method, t, n / t, t_pal / t, t_plain / t)
                )
        print(
            f"{'clip':30} {'size':>9} {'frames':>6} {'method':16} {'s':>6} {'fps':>6} "
            f"{'x palette':>9} {'x plain':>8}"
        )
        for clip, size, n, method, t, fps, xp, xf in rows:
            print(f"{clip:30} {size:>9} {n:>6} {method:16} {t:6.2f} {fps:6.1f} {xp:9.2f} {xf:8.2f}")
        first = [r for r in rows if r[0] == clips[0].stem[:30]]
        print()
        vid, fast, pal, plain = (r[5] for r in first)
        for name, v in (("vidseg", vid), ("vidseg fast", fast)):
            print(
                f"720p targets, {name}: {v:.1f} fps (>= 60: {'met' if v >= 60 else 'MISSED'})"
                f", {v / pal:.1f}x palette (>= 5: {'met' if v >= 5 * pal else 'MISSED'}), "
                f"{v / plain:.2f}x plain (>= 0.75: {'met' if v >= 0.75 * plain else 'MISSED'})"
            )

        # 150 fps outpaces the pipeline (70-100 fps at 720p here, by pacing), so frames
        # must be dropped; 30 fps is a webcam the pipeline keeps up with.
        short = min(live_seconds, 30.0)
        for live_fps, seconds, pacing in (
            (150.0, live_seconds, "latency"),
            (150.0, short, "throughput"),
            (30.0, short, "latency"),
        ):
            report_live(live_fps, seconds, work / "live.mp4", pacing)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    sys.exit(main())
