"""Preview window figures: capture-to-display latency of a live 720p stream, and start-up.

Whole processes, as a user runs them, under a virtual X server this script starts:

* latency: ``ffmpeg -re`` serves a 720p 30 fps H.264 clip (the demo pan over a
  real photo, looped) as MPEG-TS on a local TCP port; ``vidseg preview
  tcp://...`` shows it for the run time, then gets ``q``.  The figures are the
  ones the preview logs at the end: from a frame's arrival in vidseg (decoded)
  to the frame on screen (``imshow`` returned), p50 / p95 over the run and p95
  of the first and second half.  Targets: p95 <= 1.5 frame intervals (50 ms)
  and not growing.
* start-up: launch of ``vidseg preview demo`` to its window on screen
  (``xdotool search --onlyvisible`` every 20 ms), kernels cached, median of 3.
  Target: <= 2 s.

Usage::

    python benchmarks/bench_preview.py            # 2 minutes of live latency
    python benchmarks/bench_preview.py --quick    # 15 s
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av

from vidseg.io.demo import demo_frames

FPS = 30
LATENCY = re.compile(
    r"latency p50 ([\d.]+) ms p95 ([\d.]+) ms \(([\d.]+) frame intervals\); "
    r"p95 first half ([\d.]+) ms, second half ([\d.]+) ms"
)
SHOWN = re.compile(r"(\d+) frames written of (\d+) read .*?(\d+) dropped")


def make_clip(path: Path, seconds: int = 10) -> Path:
    """The demo pan (a real photo) at 1280x720, 30 fps, H.264 with a 1 s GOP."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS, options={"crf": "20", "preset": "fast"})
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        stream.codec_context.gop_size = FPS
        for i, image in enumerate(demo_frames(seconds * FPS, (1280, 720))):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    read, write = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1920x1080x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as f:
        return proc, ":" + f.readline().strip()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def vidseg(*args: str) -> list[str]:
    exe = Path(sys.executable).with_name("vidseg")
    return [str(exe), *args]


def window_id(display: str, timeout: float = 120) -> str:
    """The preview window's id, as soon as it is on screen.

    Polled every 20 ms: ``xdotool search --sync`` sleeps 0.5 s between its tries,
    which added up to half a second to the start-up figure.
    """
    deadline = time.monotonic() + timeout
    while True:
        out = subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--name", "vidseg"],
            env={**os.environ, "DISPLAY": display},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if out.stdout.split():
            return out.stdout.split()[0]
        if time.monotonic() > deadline:
            raise TimeoutError("the preview window never appeared")
        time.sleep(0.02)


def quit_window(display: str, wid: str) -> None:
    subprocess.run(
        ["xdotool", "key", "--window", wid, "q"],
        env={**os.environ, "DISPLAY": display},
        check=True,
        timeout=20,
    )


def measure_latency(display: str, clip: Path, seconds: float, work: Path) -> dict[str, float]:
    port = free_port()
    serve = ["ffmpeg", "-nostdin", "-v", "error", "-re", "-stream_loop", "-1", "-i", str(clip)]
    serve += ["-t", str(seconds + 60), "-an", "-c:v", "copy", "-f", "mpegts"]
    server = subprocess.Popen(
        [*serve, f"tcp://127.0.0.1:{port}?listen=1"], stderr=subprocess.DEVNULL
    )
    log = work / "latency.log"
    try:
        time.sleep(1.0)  # ffmpeg listening (the one connection is the preview's)
        env = {**os.environ, "DISPLAY": display}
        with log.open("w") as err:
            proc = subprocess.Popen(
                vidseg("preview", f"tcp://127.0.0.1:{port}", "--no-progress"), env=env, stderr=err
            )
        wid = window_id(display)
        time.sleep(seconds)
        quit_window(display, wid)
        proc.wait(timeout=60)
    finally:
        server.terminate()
        server.wait(timeout=10)
    text = log.read_text()
    m, s = LATENCY.search(text), SHOWN.search(text)
    if m is None or s is None:
        raise SystemExit(f"no latency line in the preview's log:\n{text[-2000:]}")
    p50, p95, intervals, first, second = map(float, m.groups())
    shown, read, dropped = map(int, s.groups())
    return {
        "p50": p50,
        "p95": p95,
        "intervals": intervals,
        "first": first,
        "second": second,
        "shown": shown,
        "read": read,
        "dropped": dropped,
    }


def measure_startup(display: str, runs: int = 3) -> list[float]:
    env = {**os.environ, "DISPLAY": display}
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            vidseg("preview", "demo", "--loop"), env=env, stderr=subprocess.DEVNULL
        )
        wid = window_id(display)
        times.append(time.perf_counter() - t0)
        quit_window(display, wid)
        proc.wait(timeout=60)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="15 s of live latency")
    parser.add_argument("--seconds", type=float, help="live run time (default 120, quick 15)")
    args = parser.parse_args()
    seconds = args.seconds or (15.0 if args.quick else 120.0)
    for tool in ("Xvfb", "xdotool", "ffmpeg"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed (Debian: xvfb, xdotool, ffmpeg)")
    xvfb, display = start_xvfb()
    try:
        with tempfile.TemporaryDirectory(prefix="vidseg-bench-preview-") as tmp:
            work = Path(tmp)
            clip = make_clip(work / "pan720p30.mp4")
            # Warm the kernel cache (and the OS file cache) before timing the start-up.
            measure_startup(display, runs=1)
            starts = measure_startup(display)
            lat = measure_latency(display, clip, seconds, work)
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)
    interval = 1000 / FPS
    start = sorted(starts)[len(starts) // 2]
    rows = [
        ("latency p50 (ms)", f"{lat['p50']:.1f}", "", ""),
        (
            "latency p95 (ms)",
            f"{lat['p95']:.1f} ({lat['intervals']:.2f} frames)",
            f"<= {1.5 * interval:.0f} (1.5 frames)",
            "met" if lat["p95"] <= 1.5 * interval else "missed",
        ),
        (
            "p95 first / second half (ms)",
            f"{lat['first']:.1f} / {lat['second']:.1f}",
            "not growing",
            "met" if lat["second"] <= 1.2 * lat["first"] + 2 else "missed",
        ),
        (
            "frames shown / read / dropped",
            f"{lat['shown']} / {lat['read']} / {lat['dropped']}",
            "",
            "",
        ),
        (
            "start-up to first frame (s)",
            f"{start:.2f} (runs {', '.join(f'{t:.2f}' for t in starts)})",
            "<= 2",
            "met" if start <= 2.0 else "missed",
        ),
    ]
    print(f"vidseg preview, 720p {FPS} fps live TCP stream for {seconds:.0f} s; whole processes")
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in [("figure", "measured", "target", ""), *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
