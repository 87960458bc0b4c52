"""Nothing lost, nothing deleted: live runs end cleanly, recordings survive reruns,
streams that are down are waited for, long recordings are split, truncated input is
reported once.  Real ffmpeg TCP streams, real processes, real clips."""

from __future__ import annotations

import csv
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from media import (
    DASHCAM,
    TRAFFIC,
    VTEST,
    ffprobe,
    frames,
    free_port,
    media,
    need_ffmpeg,
    result,
    serve_live,
    stream,
    wait_listening,
    write_clip,
)

from vidseg.cli import main
from vidseg.frames import Frame, StreamInfo
from vidseg.io import segments
from vidseg.io.heap import trim_heap
from vidseg.io.video_sink import VideoFileSink


def _decoded(path: Path) -> int:
    return int(stream(ffprobe(path, count=True), "video")["nb_read_frames"])


def _stats_frames(path: Path) -> list[int]:
    """The source frame indices a statistics CSV has rows for (k rows each)."""
    with open(path, newline="") as f:
        return sorted({int(row["frame"]) for row in csv.DictReader(f)})


def _wait_for_rows(path: Path, rows: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().count("\n") > rows:
            return
        assert proc.poll() is None, "the run ended early"
        time.sleep(0.05)
    raise AssertionError(f"{path} never had {rows} rows")


def _spawn(args: list[str], log: Path, command: str = "convert") -> subprocess.Popen[bytes]:
    """``vidseg COMMAND ARGS`` in ``log``'s directory, stderr into ``log``."""
    with open(log, "wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "vidseg", command, *args, "--no-progress", "--k", "3"],
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=log.parent,
        )


def _wait_for(path: Path, text: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        assert proc.poll() is None, path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in {path}")


def _stop(proc: subprocess.Popen[bytes], server: subprocess.Popen[bytes]) -> None:
    for p in (proc, server):
        if p.poll() is None:
            p.kill()
        p.wait()


# -- live runs ----------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_ends_a_live_run_with_every_output_under_its_name(tmp_path: Path, sig: int) -> None:
    need_ffmpeg()
    port = free_port()
    server = serve_live(media(TRAFFIC), port, 60)
    log = tmp_path / "err.txt"
    wait_listening(port, server)
    proc = _spawn([f"tcp://127.0.0.1:{port}", "live.mp4", "--stats", "s.csv"], log)
    try:
        _wait_for_rows(tmp_path / "s.partial.csv", 3 * 10, proc)  # 10 frames written
        proc.send_signal(sig)
        assert proc.wait(timeout=60) == 0, log.read_text()
    finally:
        _stop(proc, server)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["err.txt", "live.mp4", "s.csv"]  # no partial files
    n = _decoded(tmp_path / "live.mp4")
    assert n >= 10 and len(_stats_frames(tmp_path / "s.csv")) == n
    data = (tmp_path / "live.mp4").read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # remuxed with faststart
    assert f"stopped by {signal.Signals(sig).name}" in log.read_text()


@pytest.mark.parametrize("command", ["convert", "analyze"])
def test_no_frame_dropped_at_start_and_max_frames_counts_frames_written(
    tmp_path: Path, command: str
) -> None:
    # A fresh process: the kernels load (warm-up) before the stream is opened, and the
    # stream is not probed for seconds, so the first frames come one at a time.
    need_ffmpeg()
    port = free_port()
    # Small and slow enough that a busy CI machine keeps up (200 ms per frame).
    server = serve_live(media(TRAFFIC), port, 60, size="160x96", fps=5)
    log = tmp_path / "err.txt"
    wait_listening(port, server)
    output = ["o.mp4"] if command == "convert" else ["--stats", "s.csv"]
    proc = _spawn([f"tcp://127.0.0.1:{port}", *output, "--max-frames", "15"], log, command)
    try:
        assert proc.wait(timeout=120) == 0, log.read_text()
    finally:
        _stop(proc, server)
    text = log.read_text()
    assert re.search(r"15 frames written (in .* none|of 15 read .* 0) dropped", text), text
    if command == "convert":
        assert _decoded(tmp_path / "o.mp4") == 15
    else:
        assert _stats_frames(tmp_path / "s.csv") == list(range(15))


def test_a_stream_down_at_start_is_waited_for_and_recorded(tmp_path: Path) -> None:
    need_ffmpeg()
    port = free_port()
    log = tmp_path / "err.txt"
    proc = _spawn(
        [f"tcp://127.0.0.1:{port}", "o.mp4", "--max-frames", "20", "--reconnect-backoff", "0.5"],
        log,
    )
    server: subprocess.Popen[bytes] | None = None
    try:
        _wait_for(log, "connect attempt 1 in", proc, timeout=120)
        time.sleep(5)  # the camera boots
        server = serve_live(media(TRAFFIC), port, 60)
        assert proc.wait(timeout=120) == 0, log.read_text()
    finally:
        _stop(proc, server or proc)
    text = log.read_text()
    assert "connect attempt 2 in" in text and "connected (attempt" in text
    assert "attempt 1/" not in text  # forever by default: no total
    assert _decoded(tmp_path / "o.mp4") == 20


# -- recordings survive ---------------------------------------------------------------


def _leftover(path: Path, n: int) -> None:
    """A partial recording as a killed run leaves it (fragmented MP4, n frames)."""
    sink = VideoFileSink(path, overwrite=True)
    sink.open(StreamInfo(width=96, height=64, fps=25.0, name="x"))
    for i, image in enumerate(frames(n, (96, 64))):
        sink.write(result(Frame(image=image, index=i, time_s=i / 25, pts=i)))
    sink.abort()
    assert sink.partial_path.exists()


def test_a_leftover_partial_survives_a_rerun(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "in.mp4", frames(12, (96, 64)))
    out, stats = tmp_path / "o.mp4", tmp_path / "s.csv"
    _leftover(out, 9)
    old_rows = "frame,time_s\n0,0.0\n"
    (tmp_path / "s.partial.csv").write_text(old_rows)
    assert main(["convert", str(clip), str(out), "--stats", str(stats), "--k", "3"]) == 0
    assert _decoded(out) == 12
    recovered = tmp_path / "o-recovered-1.mp4"
    assert _decoded(recovered) == 9  # the earlier recording, finished and playable
    assert (tmp_path / "s-recovered-1.csv").read_text() == old_rows
    assert not list(tmp_path.glob("*.partial.*"))
    # A second leftover goes to the next free name.
    _leftover(out, 5)
    assert main(["convert", str(clip), str(out), "--k", "3", "--overwrite"]) == 0
    assert not (tmp_path / "o-recovered-2.mp4").exists()  # --overwrite alone replaces it


def test_an_unrecoverable_leftover_stops_the_run_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clip = write_clip(tmp_path / "in.mp4", frames(6, (96, 64)))
    junk = tmp_path / "o.partial.mp4"
    junk.write_bytes(b"\0" * 100)  # killed before the first fragment
    assert main(["convert", str(clip), str(tmp_path / "o.mp4"), "--k", "3"]) == 1
    err = capsys.readouterr().err
    assert "o.partial.mp4" in err and "--overwrite" in err
    assert junk.read_bytes() == b"\0" * 100 and not (tmp_path / "o.mp4").exists()


# -- long recordings and their length ---------------------------------------------------


def test_segmented_recording_files_all_play_and_add_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need_ffmpeg()
    trims: list[bool] = []
    monkeypatch.setattr(segments, "trim_heap", lambda: trims.append(trim_heap()) or True)
    out, stats = tmp_path / "cam.mp4", tmp_path / "s.csv"
    args = ["convert", str(media(TRAFFIC)), str(out), "--stats", str(stats), "--k", "3"]
    assert main([*args, "--segment-time", "3s", "--max-frames", "170", "--no-progress"]) == 0
    # Each finished segment hands its freed memory back (days-long runs stay flat).
    assert len(trims) == 3

    def order(f: Path) -> tuple[str, int]:  # a file converts fast: two may share a second
        stamp, _, n = f.stem.removeprefix("cam-").partition("-")
        return stamp, int(n or 1)

    files = sorted(tmp_path.glob("cam-*.mp4"), key=order)
    assert len(files) == 3 and all(
        re.fullmatch(r"cam-\d{8}T\d{6}Z(-\d+)?\.mp4", f.name) for f in files
    )
    counts = [_decoded(f) for f in files]
    assert sum(counts) == 170 and _stats_frames(stats) == list(range(170))
    assert counts[0] == counts[1] == 72  # 3 s at 23.976 fps
    for f in files:  # each file is timed from its own start
        assert float(stream(ffprobe(f), "video")["start_time"]) == 0.0
    assert not out.exists() and not list(tmp_path.glob("*.partial.*"))


def test_duration_stops_after_that_much_input(tmp_path: Path) -> None:
    out = tmp_path / "o.mp4"
    assert main(["convert", str(media(TRAFFIC)), str(out), "--k", "3", "--duration", "2s"]) == 0
    assert _decoded(out) == 48  # 2 s at 23.976 fps: frames at t < 2 s


# -- truncated input -------------------------------------------------------------------


@pytest.mark.parametrize("clip,read,claimed", [(VTEST, 74, 795), (DASHCAM, 23, 221)])
def test_truncated_input_is_finalised_with_one_warning_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clip: str, read: int, claimed: int
) -> None:
    src = media(clip)
    cut = tmp_path / f"cut{src.suffix}"
    cut.write_bytes(src.read_bytes()[:300_000])  # as `head -c 300000` leaves it
    out = tmp_path / "o.mp4"
    assert main(["convert", str(cut), str(out), "--k", "3", "--no-progress"]) == 1
    err = capsys.readouterr().err
    warning = f"read {read} of {claimed} frames the header claims; the input is truncated"
    lines = [line for line in err.splitlines() if "warning" in line.lower() or "error" in line]
    assert len(lines) == 1 and warning in lines[0], err
    assert _decoded(out) == read
