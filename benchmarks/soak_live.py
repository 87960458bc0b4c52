"""Soak test of a long live run: memory, latency, reconnects, segments, statistics.

Serves a synthetic 720p 30 fps stream (ffmpeg ``testsrc2``, H.264 without
B-frames, MPEG-TS over TCP, real time with ``-re``), kills and restarts the
server every ``--drop-every`` minutes (a camera that reboots), and records it
with the real command line as a user would::

    vidseg convert tcp://127.0.0.1:PORT OUT/soak.mp4 --stats OUT/soak.csv --segment-time T

It samples the process's resident memory (RSS) every 10 s and the lag of the
statistics table behind the wall clock (the last row's ``time_s``, flushed per
frame, against the time since the first row), then stops the run with SIGINT,
as a user would, and checks:

* the exit code is 0 and every output is finalised under its name;
* RSS after the first minute stays within 5% (max - min over the median);
* the lag is not growing (mean over the second half within 0.25 s of the first;
  samples within 20 s after a drop are left out);
* every drop was followed by a reconnect;
* every segment plays: ffprobe decodes it without error and the frame counts
  add up to the frames the run says it wrote;
* the statistics are complete: k rows per frame written, and gaps of 4 s or
  more in ``time_s`` only at the drops (the server stays down 5 s each time).

    python benchmarks/soak_live.py                 # 60 minutes, a drop every 10
    python benchmarks/soak_live.py --quick         # 3 minutes, a drop every minute

Figures are whole-process (what a user sees); the machine's other load counts.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

_K = 8  # the default number of clusters: rows per frame in the statistics
_DOWN_S = 5.0  # how long the server stays down at each drop
_GAP_S = 4.0  # a gap in the statistics' time_s this long is an outage, not slow processing
_WRITTEN = re.compile(r"(\d+) frames written (?:of|in) ")
_LAG_GROWTH_S = 0.25  # allowed growth of the mean lag (the machine is shared: jitter)


@dataclass
class Sample:
    """One observation of the running process."""

    t: float  # seconds since the recorder started
    rss_mib: float
    lag_s: float | None  # wall time since the first row minus the last row's time_s


@dataclass
class Soak:
    """What the soak run observed."""

    samples: list[Sample] = field(default_factory=list)
    drops: list[float] = field(default_factory=list)  # recorder time of each server kill
    exit_code: int | None = None
    log: str = ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server(port: int, size: str, fps: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-re",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={size}:rate={fps}",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
            "-g",
            str(2 * fps),
            "-pix_fmt",
            "yuv420p",
            "-flush_packets",
            "1",  # each frame leaves at once, as from a camera
            "-f",
            "mpegts",
            f"tcp://127.0.0.1:{port}?listen=1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _last_time(path: Path) -> float | None:
    """``time_s`` of the last complete row of a CSV that is being written."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 4096))
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines[:-1] if lines else []):
        cols = line.split(",")
        if len(cols) > 2 and cols[0].isdigit():
            return float(cols[1])
    return None


def soak(
    out: Path, *, seconds: float, drop_every: float, segment_time: str, size: str, every: float
) -> Soak:
    """Record the stream for ``seconds``, killing the server every ``drop_every`` seconds.

    Samples the recorder every ``every`` seconds.
    """
    port = _free_port()
    url = f"tcp://127.0.0.1:{port}"
    result = Soak()
    server = _server(port, size, 30)
    time.sleep(0.5)
    partial = out / "soak.partial.csv"
    log_path = out / "vidseg.log"
    with open(log_path, "w") as log:
        rec = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vidseg",
                "convert",
                url,
                str(out / "soak.mp4"),
                "--stats",
                str(out / "soak.csv"),
                "--segment-time",
                segment_time,
                "--no-progress",
                "--reconnect-backoff",
                "0.5",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    start = time.monotonic()
    first_row: float | None = None
    next_drop = drop_every
    try:
        while (now := time.monotonic() - start) < seconds:
            if rec.poll() is not None:
                break
            if now >= next_drop:
                server.kill()
                server.wait()
                result.drops.append(now)
                time.sleep(_DOWN_S)  # the camera reboots
                server = _server(port, size, 30)
                next_drop += drop_every
            last = _last_time(partial)
            while first_row is None and last is None and rec.poll() is None:
                time.sleep(0.05)  # find the first row's wall time closely: the lag's zero
                last = _last_time(partial)
            if last is not None and first_row is None:
                first_row = time.monotonic() - last
            lag = (
                None if last is None or first_row is None else (time.monotonic() - first_row) - last
            )
            result.samples.append(Sample(now, _rss_mib(rec.pid), lag))
            time.sleep(max(0.1, min(every, seconds - now)))
    finally:
        if rec.poll() is None:
            rec.send_signal(signal.SIGINT)
        try:
            result.exit_code = rec.wait(timeout=300)
        except subprocess.TimeoutExpired:
            rec.kill()
            result.exit_code = rec.wait()
        server.kill()
        server.wait()
    result.log = log_path.read_text()
    return result


def _frames_in(path: Path) -> tuple[int, str]:
    """Decoded frame count of a video and ffmpeg's decode errors."""
    probe = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_read_frames",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    streams = json.loads(probe.stdout or "{}").get("streams", [{}])
    return int(streams[0].get("nb_read_frames", 0)), probe.stderr.strip()


def _written(log: str) -> int | None:
    """Frames written, from the run's summary line (``N frames written in ...``)."""
    found = _WRITTEN.findall(log)
    return int(found[-1]) if found else None


def report(out: Path, s: Soak, *, drop_every: float) -> bool:
    """Print the table of figures and checks; ``True`` when every check passes."""
    checks: list[tuple[str, str, bool]] = []
    written = _written(s.log)
    checks.append(("exit code after SIGINT", f"{s.exit_code} (want 0)", s.exit_code == 0))
    leftovers = sorted(p.name for p in out.glob("*.partial.*"))
    checks.append(("partial files left", ", ".join(leftovers) or "none", not leftovers))

    late = [x for x in s.samples if x.t >= 60.0]
    rss = [x.rss_mib for x in late] or [x.rss_mib for x in s.samples]
    spread = (max(rss) - min(rss)) / statistics.median(rss) if rss else float("nan")
    checks.append(
        (
            "RSS after 1 min (MiB)",
            f"min {min(rss):.0f} max {max(rss):.0f} spread {100 * spread:.1f}% (want <= 5%)",
            spread <= 0.05,
        )
    )
    steady = [
        x.lag_s
        for x in s.samples
        if x.lag_s is not None and not any(0 <= x.t - d < 20.0 for d in s.drops)
    ]
    half = len(steady) // 2
    if half:
        a, b = statistics.mean(steady[:half]), statistics.mean(steady[half:])
        checks.append(
            (
                "stats lag behind wall clock (s)",
                f"first half {a:.3f}, second half {b:.3f} (want growth <= {_LAG_GROWTH_S})",
                b - a <= _LAG_GROWTH_S,
            )
        )
    latency = [line for line in s.log.splitlines() if "latency p50" in line]
    if latency:
        tail = latency[-1].split("latency ")[-1]
        checks.append(("run summary latency", tail, True))

    reconnected = s.log.count(": reconnected (attempt")
    checks.append(
        ("drops / reconnects", f"{len(s.drops)} / {reconnected}", reconnected >= len(s.drops))
    )

    segments = sorted(out.glob("soak-*.mp4"))
    counts, errors = [], []
    for seg in segments:
        n, err = _frames_in(seg)
        counts.append(n)
        if err:
            errors.append(f"{seg.name}: {err.splitlines()[0]}")
    checks.append(
        (
            "segments: frames (sum / written)",
            f"{len(segments)} files, {counts} = {sum(counts)} / {written}",
            bool(segments) and sum(counts) == written,
        )
    )
    checks.append(("segment decode errors", "; ".join(errors) or "none", not errors))

    stats = out / "soak.csv"
    rows, times = 0, []
    if stats.exists():
        with open(stats, newline="") as f:
            for row in csv.DictReader(f):
                rows += 1
                if row["cluster"] == "0":
                    times.append(float(row["time_s"]))
    gaps = sum(1 for a, b in itertools.pairwise(times) if b - a >= _GAP_S)
    checks.append(
        (
            "stats rows / (k x frames written)",
            f"{rows} / {_K * (written or 0)}",
            written is not None and rows == _K * written,
        )
    )
    checks.append(
        (f"stats gaps >= {_GAP_S:g} s / drops", f"{gaps} / {len(s.drops)}", gaps == len(s.drops))
    )
    dropped = [line for line in s.log.splitlines() if " dropped" in line]
    if dropped:
        summary = dropped[-1].split("INFO: ")[-1]
        checks.append(("run summary", summary.split(", latency")[0], True))

    width = max(len(name) for name, _, _ in checks)
    print(f"\nsoak: {len(s.samples)} samples, a drop every {drop_every:.0f} s, output {out}")
    for name, value, ok in checks:
        print(f"  {'ok ' if ok else 'BAD'}  {name:<{width}}  {value}")
    return all(ok for _, _, ok in checks)


def main(argv: list[str] | None = None) -> int:
    """Run the soak test and print its table; exit 1 if a check fails."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the run")
    parser.add_argument("--drop-every", type=float, default=10.0, help="minutes between drops")
    parser.add_argument("--segment-time", default=None, help="segment length (default: 10m)")
    parser.add_argument("--size", default="1280x720", help="stream size (default 1280x720)")
    parser.add_argument("--out", type=Path, help="output directory (default: a temporary one)")
    parser.add_argument("--quick", action="store_true", help="3 minutes, a drop every minute")
    args = parser.parse_args(argv)
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        print("soak_live: needs the ffmpeg and ffprobe programs", file=sys.stderr)
        return 2
    minutes, drop_every = (3.0, 1.0) if args.quick else (args.minutes, args.drop_every)
    segment_time = args.segment_time or ("45s" if args.quick else "10m")
    out = args.out or Path(tempfile.mkdtemp(prefix="vidseg-soak-"))
    out.mkdir(parents=True, exist_ok=True)
    print(
        f"soak_live: {minutes:g} min of a {args.size} 30 fps TCP stream, dropped every "
        f"{drop_every:g} min, segments of {segment_time}, into {out}",
        flush=True,
    )
    result = soak(
        out,
        seconds=minutes * 60,
        drop_every=drop_every * 60,
        segment_time=segment_time,
        size=args.size,
        every=5.0 if args.quick else 10.0,
    )
    ok = report(out, result, drop_every=drop_every * 60)
    (out / "samples.csv").write_text(
        "t_s,rss_mib,lag_s\n"
        + "".join(f"{x.t:.1f},{x.rss_mib:.1f},{x.lag_s}\n" for x in result.samples)
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
