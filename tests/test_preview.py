"""`vidseg preview`: a real window under Xvfb, real keys (xdotool), real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from media import write_clip
from xwin import (
    HEIGHT,
    WIDTH,
    close_window,
    find_window,
    key,
    screenshot,
    wait_for,
    wait_painted,
    window_size,
    xvfb,
)

from vidseg.errors import DisplayError
from vidseg.io.demo import sample_photo
from vidseg.io.display import check_display, gui_backend
from vidseg.io.sources import LoopSource, VideoFileSource
from vidseg.render import fixed_palette


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    with xvfb() as d:
        yield d


@pytest.fixture(scope="module")
def still_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One second (25 frames) of a still real photo, 480x320: steady clusters."""
    photo = cv2.resize(sample_photo("china.jpg"), (480, 320), interpolation=cv2.INTER_AREA)
    return write_clip(tmp_path_factory.mktemp("clip") / "still.mp4", [photo] * 25)


def _start(display: str | None, *args: str, cwd: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    if display is not None:
        env["DISPLAY"] = display
    with (cwd / "stderr.txt").open("w") as err:  # the child keeps its own copy
        return subprocess.Popen(
            [sys.executable, "-m", "vidseg", *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
        )


def _finish(proc: subprocess.Popen[str], timeout: float = 120) -> int:
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


def _snapshot(display: str, wid: int, snaps: Path) -> dict:
    """Press s; wait for the new snapshot; its JSON (with the stem added)."""
    before = set(snaps.glob("*.json"))
    key(display, wid, "s")
    new = wait_for(lambda: set(snaps.glob("*.json")) - before)
    path = sorted(new)[-1]
    record = json.loads(path.read_text())
    record["stem"] = path.with_suffix("")
    return record


def _colors(record: dict) -> np.ndarray:
    return np.array([[c["b"], c["g"], c["r"]] for c in record["clusters"]], int)


def test_keys_change_k_view_snapshot_and_quit(
    display: str, still_clip: Path, tmp_path: Path
) -> None:
    snaps = tmp_path / "snaps"
    snaps.mkdir()
    proc = _start(
        display, "preview", str(still_clip), "--loop", "--snapshots", str(snaps), cwd=tmp_path
    )
    try:
        wid = find_window(display, "vidseg: ")
        wait_for(lambda: window_size(display, wid) == (480, 320))  # Qt maps, then sizes
        first = _snapshot(display, wid, snaps)
        assert first["n_clusters"] == 8 and first["view"] == "recolor"
        stem = first["stem"]
        original = cv2.imread(f"{stem}-original.png")
        segmented = cv2.imread(f"{stem}-recolor.png")
        assert original.shape == segmented.shape == (320, 480, 3)

        key(display, wid, "plus")
        # OpenCV's waitKey keeps only the last of the keys that arrive between two
        # polls, so the next key goes once this one was taken.
        wait_for(lambda: "k 8 -> 9" in (tmp_path / "stderr.txt").read_text())
        second = wait_for(lambda: (r := _snapshot(display, wid, snaps))["n_clusters"] == 9 and r)
        drift = np.abs(_colors(first) - _colors(second)[:8]).max(axis=1)
        assert np.median(drift) < 20, drift  # the 8 surviving ids keep their colours

        # v: recolor -> palette; the window then shows the fixed palette's colours
        # (measured below the HUD panel and above the message line).
        palette = fixed_palette(9).astype(int)

        def palette_share(img: np.ndarray) -> float:
            px = img[160:290, 200:].reshape(-1, 1, 3).astype(int)
            return float((np.abs(px - palette[None]).max(axis=2).min(axis=1) <= 2).mean())

        wait_painted(display, wid)
        assert palette_share(screenshot(display, wid)) < 0.5
        key(display, wid, "v")
        shares: list[float] = []

        def shows_palette() -> bool:
            shares.append(palette_share(screenshot(display, wid)))
            return shares[-1] > 0.95

        try:
            wait_for(shows_palette)
        except AssertionError:
            cv2.imwrite(str(tmp_path / "window.png"), screenshot(display, wid))
            raise AssertionError(
                f"palette share {shares[-5:]}; see {tmp_path}/window.png"
            ) from None
        # Pause, then quit while paused: the held frame does not keep the run alive.
        key(display, wid, "space")
        wait_for(lambda: "paused" in (tmp_path / "stderr.txt").read_text())
        key(display, wid, "q")
        assert _finish(proc) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = (tmp_path / "stderr.txt").read_text()
    assert "k 8 -> 9" in log and "quit from the window" in log


def test_large_frames_fit_the_screen_and_closing_quits(display: str, tmp_path: Path) -> None:
    photo = cv2.resize(sample_photo("china.jpg"), (1600, 1000), interpolation=cv2.INTER_AREA)
    clip = write_clip(tmp_path / "big.mp4", [photo] * 10)
    snaps = tmp_path / "snaps"
    snaps.mkdir()
    proc = _start(display, "preview", str(clip), "--loop", "--snapshots", str(snaps), cwd=tmp_path)
    try:
        wid = find_window(display, "vidseg: ")
        # Shown at most 90% of the 1280x720 screen, aspect kept ...
        factor = min(0.9 * WIDTH / 1600, 0.9 * HEIGHT / 1000)
        fitted = (round(1600 * factor), round(1000 * factor))
        wait_for(lambda: window_size(display, wid) == fitted)  # Qt maps, then sizes
        assert screenshot(display, wid).shape == (fitted[1], fitted[0], 3)
        # ... while snapshots and statistics keep the full size.
        record = _snapshot(display, wid, snaps)
        assert (record["width"], record["height"]) == (1600, 1000)
        assert cv2.imread(f"{record['stem']}-original.png").shape == (1000, 1600, 3)
        close_window(display, wid)  # what a window manager's close button sends
        assert _finish(proc) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "window closed" in (tmp_path / "stderr.txt").read_text()


@pytest.mark.parametrize("bogus", [None, "unused"])
def test_no_display_exits_2_with_one_line(bogus: str | None, tmp_path: Path) -> None:
    env_display = None
    if bogus is not None:  # a display number no server listens on
        n = next(n for n in range(99, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists())
        env_display = f":{n}"
    proc = _start(env_display, "preview", "demo", cwd=tmp_path)
    assert _finish(proc) == 2  # not negative: no SIGABRT, no core dump
    lines = (tmp_path / "stderr.txt").read_text().splitlines()
    assert len(lines) == 1 and "vidseg serve" in lines[0], lines


def test_missing_camera_exits_1_suggesting_the_demo(display: str, tmp_path: Path) -> None:
    proc = _start(display, "preview", "7", cwd=tmp_path)
    assert _finish(proc) == 1
    lines = (tmp_path / "stderr.txt").read_text().splitlines()
    assert len(lines) == 1 and "vidseg preview demo" in lines[0], lines


def test_a_file_plays_to_its_end_and_exits_0(
    display: str, still_clip: Path, tmp_path: Path
) -> None:
    stats = tmp_path / "s.csv"
    proc = _start(
        display, "preview", str(still_clip), "--fast", "--stats", str(stats), cwd=tmp_path
    )
    assert _finish(proc) == 0
    assert "25 frames shown" in (tmp_path / "stderr.txt").read_text()
    assert stats.read_text().count("\n") == 1 + 25 * 8  # every frame, full statistics


@pytest.mark.parametrize("command", ["convert", "analyze"])
def test_preview_while_writing(
    command: str, display: str, still_clip: Path, tmp_path: Path
) -> None:
    out = ["out.mp4"] if command == "convert" else ["--stats", "s.csv"]
    proc = _start(display, command, str(still_clip), *out, "--preview", cwd=tmp_path)
    assert _finish(proc) == 0, (tmp_path / "stderr.txt").read_text()
    assert (tmp_path / out[-1]).stat().st_size > 0
    assert "first frame shown" in (tmp_path / "stderr.txt").read_text()


def test_check_display_reads_the_screen(display: str) -> None:
    screen = check_display({"DISPLAY": display})
    assert (screen.width, screen.height) == (WIDTH, HEIGHT)
    with pytest.raises(DisplayError, match=r"DISPLAY is not set.*vidseg serve"):
        check_display({})
    assert gui_backend()  # pip's opencv-python has Qt


def test_loop_source_continues_indices_and_times(still_clip: Path) -> None:
    src = LoopSource(lambda: VideoFileSource(still_clip, audio=False))
    got = []
    for frame in src:
        got.append((frame.index, frame.time_s))
        if len(got) == 60:
            break
    src.close()
    assert [i for i, _ in got] == list(range(60))
    times = np.array([t for _, t in got])
    np.testing.assert_allclose(np.diff(times), 0.04, atol=1e-6)  # no jump back at the loops
    assert src.passes == 2


def test_sigterm_while_paused_finishes(display: str, still_clip: Path, tmp_path: Path) -> None:
    proc = _start(display, "preview", str(still_clip), "--loop", cwd=tmp_path)
    try:
        wid = find_window(display, "vidseg: ")
        key(display, wid, "space")
        wait_for(lambda: "paused" in (tmp_path / "stderr.txt").read_text())
        proc.send_signal(signal.SIGTERM)
        assert _finish(proc) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
