"""The command line, in-process and as a real process (signals, exit codes)."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from media import (
    TRAFFIC,
    cv2_read,
    ffprobe,
    frames,
    free_port,
    media,
    need_ffmpeg,
    patch_avi_frame_count,
    serve_stream,
    stream,
    wait_listening,
    write_clip,
)

from vidseg.cli import main

REPO = Path(__file__).parents[1]


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "convert" in capsys.readouterr().out


def test_every_config_key_has_a_flag(capsys: pytest.CaptureFixture[str]) -> None:
    from vidseg.config import field_specs

    with pytest.raises(SystemExit):
        main(["convert", "--help"])
    text = capsys.readouterr().out
    for _, f in field_specs():
        assert "--" + f.name.replace("_", "-") in text
    assert "--k " in text


def test_config_command_prints_config_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config"]) == 0
    assert capsys.readouterr().out == (REPO / "config.yaml").read_text()


def test_demo_writes_video_stats_and_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo.mp4"
    assert main(["demo", str(out), "--max-frames", "12", "--k", "5", "-q"]) == 0
    assert cv2_read(out)[:3] == (12, 640, 360)
    with (tmp_path / "demo.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 12 * 5
    assert {"frame", "time_s", "cluster", "pixels", "area_share", "color_hex"} <= set(rows[0])
    text = capsys.readouterr().out
    assert "mean area" in text and "12 frames written" in text


def test_convert_real_clip_with_stats_labels_and_overrides(tmp_path: Path) -> None:
    out = tmp_path / "o.mkv"
    stats = tmp_path / "s.ndjson"
    code = main(
        [
            "convert",
            str(media("vtest_pedestrians_static.avi")),
            str(out),
            "--k",
            "4",
            "--max-frames",
            "15",
            "--view",
            "side-by-side",
            "--stats",
            str(stats),
            "--labels",
            str(tmp_path / "labels"),
            "--color-space",
            "lab",
            "-q",
        ]
    )
    assert code == 0
    n, w, h, _ = cv2_read(out)
    assert (n, w, h) == (15, 960, 360)
    assert len(stats.read_text().splitlines()) == 15
    assert len(list((tmp_path / "labels").glob("*.png"))) == 15


def test_config_file_is_used_and_validated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("engine:\n  n_clusterz: 4\n")
    assert main(["demo", str(tmp_path / "d.mp4"), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'n_clusters'" in err and err.count("\n") == 1
    cfg.write_text("engine:\n  n_clusters: 99\n")
    assert main(["demo", str(tmp_path / "d.mp4"), "--config", str(cfg)]) == 2
    assert "n_clusters must be in [2, 64], got 99" in capsys.readouterr().err
    assert not list(tmp_path.glob("d*"))


@pytest.mark.parametrize(
    "args,code,message",
    [
        (["--k", "1"], 2, "n_clusters must be in [2, 64], got 1"),
        (["--codec", "nosuchcodec"], 2, "nosuchcodec"),
    ],
)
def test_bad_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: int, message: str
) -> None:
    assert main(["demo", str(tmp_path / "d.mp4"), *args]) == code
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_unknown_view_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as info:
        main(["demo", str(tmp_path / "d.mp4"), "--view", "sepia"])
    assert info.value.code == 2


def test_bad_inputs_and_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o.mp4"
    assert main(["convert", str(tmp_path / "missing.mp4"), str(out)]) == 1
    assert "not found" in capsys.readouterr().err
    text = tmp_path / "notes.mp4"
    text.write_text("hello, not a video\n")
    assert main(["convert", str(text), str(out)]) == 1
    assert "notes.mp4" in capsys.readouterr().err
    assert main(["demo", str(tmp_path / "nodir" / "d.mp4")]) == 1
    assert "does not exist" in capsys.readouterr().err
    out.write_bytes(b"x")
    assert main(["demo", str(out)]) == 2  # bad usage: nothing was done (exit-code table)
    assert "--overwrite" in capsys.readouterr().err
    assert out.read_bytes() == b"x"
    assert not list(tmp_path.glob("*.partial.*"))


def test_header_that_lies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Fewer frames than the header claims looks exactly like a file cut at a packet
    # boundary: everything is written, under its name, and reported (issue 13).
    clip = write_clip(tmp_path / "lie.avi", frames(20, (96, 64)), codec="mjpeg", rate=25)
    patch_avi_frame_count(clip, 40)
    out = tmp_path / "o.mp4"
    assert main(["convert", str(clip), str(out), "--no-progress", "--k", "3"]) == 1
    assert "read 20 of 40 frames the header claims" in capsys.readouterr().err
    assert cv2_read(out)[0] == 20


def test_vtest_full_conversion_keeps_every_frame_and_audio(tmp_path: Path) -> None:
    need_ffmpeg()
    out = tmp_path / "vtest.mp4"
    assert main(["convert", str(media("vtest_pedestrians_static.avi")), str(out), "-q"]) == 0
    probe = ffprobe(out, count=True)
    video = stream(probe, "video")
    assert video["codec_name"] == "h264" and video["pix_fmt"] == "yuv420p"
    assert int(video["nb_read_frames"]) == 795
    assert abs(float(probe["format"]["duration"]) - 79.5) < 0.6
    assert stream(probe, "audio")["codec_name"] == "aac"


def _spawn(tmp_path: Path, out: Path) -> subprocess.Popen[str]:
    # A live-like slow input: an image sequence is read as fast as it decodes, so the
    # run is stretched by converting many frames of a large clip.
    images = tmp_path / "imgs"
    images.mkdir()
    import cv2

    for i, img in enumerate(frames(400, (320, 240))):
        cv2.imwrite(str(images / f"f{i:04d}.png"), img)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vidseg",
            "convert",
            str(images),
            str(out),
            "--stats",
            str(tmp_path / "s.csv"),
            "--no-progress",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )


def _wait_for_rows(csv_path: Path, rows: int, proc: subprocess.Popen[str]) -> None:
    partial = csv_path.with_name(csv_path.stem + ".partial.csv")
    for _ in range(600):
        if partial.exists() and partial.read_text().count("\n") > rows:
            return
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.05)
    raise AssertionError("the run produced no statistics")


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_finalises_partial_output(tmp_path: Path, sig: int, code: int) -> None:
    out = tmp_path / "o.mp4"
    proc = _spawn(tmp_path, out)
    _wait_for_rows(tmp_path / "s.csv", 8 * 20, proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert not out.exists()
    partial = tmp_path / "o.partial.mp4"
    assert "o.partial.mp4" in err
    n = cv2_read(partial)[0]
    assert 0 < n < 400
    stats_rows = (tmp_path / "s.partial.csv").read_text().count("\n") - 1
    assert stats_rows == 8 * n


def test_sigkill_leaves_playable_partial(tmp_path: Path) -> None:
    need_ffmpeg()
    out = tmp_path / "o.mp4"
    proc = _spawn(tmp_path, out)
    _wait_for_rows(tmp_path / "s.csv", 8 * 100, proc)
    proc.kill()
    proc.communicate(timeout=30)
    partial = tmp_path / "o.partial.mp4"
    probe = ffprobe(partial, count=True)
    assert int(stream(probe, "video")["nb_read_frames"]) > 0


def test_truncated_input_keeps_what_decodes_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = media("vtest_pedestrians_static.avi").read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    out = tmp_path / "o.mp4"
    assert (
        main(["convert", str(cut), str(out), "--k", "3", "--stats", str(tmp_path / "s.csv")]) == 1
    )
    err = capsys.readouterr().err
    assert "corrupt packets skipped" in err and "of 795 frames the header claims" in err
    n = cv2_read(out)[0]
    assert 400 < n < 795
    assert (tmp_path / "s.csv").read_text().count("\n") == 3 * n + 1


@pytest.mark.parametrize("pacing", ["latency", "throughput"])
def test_convert_live_network_stream(
    tmp_path: Path, pacing: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real MPEG-TS stream over TCP (ffmpeg, real time) through `vidseg convert`: the
    video and statistics are written and in place when the stream ends, and the loss
    of the stream is a one-line error with exit code 1."""
    need_ffmpeg()
    port = free_port()
    server = serve_stream(media(TRAFFIC), port, 2.0)
    out, stats = tmp_path / "live.mp4", tmp_path / "live.csv"
    try:
        wait_listening(port, server)
        args = [f"tcp://127.0.0.1:{port}", str(out), "--stats", str(stats), "--k", "4"]
        code = main(["convert", *args, "--reconnect-attempts", "0", "--live-pacing", pacing])
    finally:
        server.kill()
        server.wait()
    assert code == 1
    assert "gave up after 0 reconnect attempts" in capsys.readouterr().err
    n, width, height, _ = cv2_read(out)
    assert (width, height) == (640, 360) and n >= 10
    with stats.open() as f:
        rows = list(csv.DictReader(f))
    assert len({r["frame"] for r in rows}) == n and len(rows) == 4 * n
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.csv", "live.mp4"]
