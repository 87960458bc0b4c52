"""Live controls: one path into the runner (k, view, pause, re-seed, stop, snapshot)."""

from __future__ import annotations

import json
import threading
import time

import cv2
import numpy as np
import pytest
from media import VTEST, frames, media

from vidseg import ConfigError, Segmenter, SinkError
from vidseg.control import RunControl
from vidseg.frames import FrameResult, StreamInfo
from vidseg.io.sources import ArraySource, VideoFileSource
from vidseg.pipeline import RunSummary, run


class Recorder:
    """Keeps every result; counts idle turns."""

    def __init__(self) -> None:
        self.results: list[FrameResult] = []
        self.idles = 0

    def open(self, info: StreamInfo) -> None:
        pass

    def write(self, result: FrameResult) -> None:
        self.results.append(result)

    def idle(self) -> None:
        self.idles += 1

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


def _script(control: RunControl, steps: dict[int, object]):
    """An on_frame callback that issues requests after given frames (like a user would)."""

    def on_frame(result: FrameResult, summary: RunSummary) -> None:
        step = steps.get(result.frame.index)
        if step is not None:
            step(control)  # type: ignore[operator]

    return on_frame


def test_k_change_keeps_surviving_ids_and_colours() -> None:
    clip = frames(30, (192, 108))
    ctl = RunControl(n_clusters=6)
    rec = Recorder()
    run(
        ArraySource(clip, fps=25),
        Segmenter(6, seed=0),
        [rec],
        control=ctl,
        on_frame=_script(
            ctl, {9: lambda c: c.set_n_clusters(9), 19: lambda c: c.change_n_clusters(-4)}
        ),
    )
    ks = [r.stats.n_clusters for r in rec.results]
    assert ks[:11] == [6] * 10 + [9]  # applied between frames 9 and 10, never mid-frame
    assert ks[10:20] == [9] * 10 and ks[20:] == [5] * 10
    assert ctl.state.n_clusters == 5
    for r in rec.results:
        assert r.segmentation.labels.max() < r.stats.n_clusters
        assert r.stats.area_share.sum() == pytest.approx(1.0)
    # The six clusters that survive k 6 -> 9 keep their colour (within a small drift).
    before, after = rec.results[9].stats.colors_bgr, rec.results[10].stats.colors_bgr
    drift = np.abs(before.astype(int) - after[:6].astype(int)).max(axis=1)
    assert np.median(drift) < 20, drift
    assert rec.results[10].stats.scene_cut  # a re-seed, flagged like a cut


def test_view_pause_resume_and_stop_on_a_real_clip() -> None:
    ctl = RunControl(n_clusters=8, view="recolor")
    rec = Recorder()
    paused_at: list[float] = []

    def later(c: RunControl) -> None:
        c.pause()
        paused_at.append(time.monotonic())
        threading.Timer(0.4, c.resume).start()

    steps = {3: lambda c: c.set_view("overlay"), 5: later, 12: lambda c: c.stop()}
    with VideoFileSource(media(VTEST)) as src:
        summary = run(src, Segmenter(8, seed=0), [rec], control=ctl, on_frame=_script(ctl, steps))
    views = [r.display_view for r in rec.results]
    assert views[:4] == ["recolor"] * 4 and set(views[4:]) == {"overlay"}
    assert all(r.view_name == "recolor" for r in rec.results)  # files keep their view
    assert len(rec.results) == 13 and summary.frames_out == 13  # stop ends cleanly
    assert rec.idles > 0  # the writer gave the sinks turns while paused
    assert not ctl.state.paused
    overlay = rec.results[6].render_view("overlay")
    assert overlay.shape == rec.results[6].frame.image.shape
    assert not np.array_equal(overlay, rec.results[6].render_view("recolor"))


def test_reseed_keeps_ids() -> None:
    clip = frames(12, (192, 108))
    ctl = RunControl(n_clusters=5)
    rec = Recorder()
    run(
        ArraySource(clip, fps=25),
        Segmenter(5, seed=0),
        [rec],
        control=ctl,
        on_frame=_script(ctl, {5: lambda c: c.reseed()}),
    )
    assert [r.stats.scene_cut for r in rec.results] == [True] + [False] * 5 + [True] + [False] * 5
    drift = np.abs(
        rec.results[5].stats.colors_bgr.astype(int) - rec.results[6].stats.colors_bgr.astype(int)
    ).max(axis=1)
    assert np.median(drift) < 20, drift


def test_bad_requests_raise_in_the_caller() -> None:
    ctl = RunControl()
    with pytest.raises(ConfigError, match="n_clusters"):
        ctl.set_n_clusters(65)
    with pytest.raises(ConfigError, match="view must be one of"):
        ctl.set_view("sepia")
    ctl.change_n_clusters(+100)  # clamped, not an error

    class Engine:
        k = 0

        def set_n_clusters(self, k: int) -> None:
            self.k = k

        def reseed(self) -> None:
            pass

    engine = Engine()
    ctl.apply(engine)
    assert engine.k == 64


def test_snapshot_writes_original_view_and_stats(tmp_path) -> None:
    ctl = RunControl(n_clusters=4, view="side-by-side")
    with pytest.raises(SinkError, match="no frame"):
        ctl.snapshot(tmp_path)
    clip = frames(6, (160, 96))
    run(ArraySource(clip, fps=25), Segmenter(4, seed=0), [Recorder()], control=ctl)
    snap = ctl.snapshot(tmp_path)
    assert snap.original.parent == tmp_path
    assert snap.original.name.endswith("-original.png")
    assert snap.segmented.name.endswith("-side-by-side.png")
    stem = snap.stats.name.removesuffix(".json")
    assert snap.original.name.startswith(stem) and snap.segmented.name.startswith(stem)
    original = cv2.imread(str(snap.original))
    np.testing.assert_array_equal(original, clip[-1])
    assert cv2.imread(str(snap.segmented)).shape == (96, 320, 3)
    stats = json.loads(snap.stats.read_text())
    assert stats["frame"] == 5 and stats["n_clusters"] == 4 and stats["view"] == "side-by-side"
    assert sum(c["area_share"] for c in stats["clusters"]) == pytest.approx(1.0)
    assert not list(tmp_path.glob(".*.tmp"))
    with pytest.raises(SinkError, match="does not exist"):
        ctl.snapshot(tmp_path / "missing")
