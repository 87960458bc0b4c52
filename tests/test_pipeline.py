"""The runner: ordered lossless files, live dropping, errors, stop, truncated input."""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from media import cv2_read, frames, media

from vidseg import Segmentation, Segmenter, SinkError, SourceOpenError, SourceReadError
from vidseg.frames import FrameResult, StreamInfo
from vidseg.io.data_sinks import stats_sink
from vidseg.io.sources import ArraySource, LiveSource, VideoFileSource
from vidseg.io.video_sink import VideoFileSink
from vidseg.pipeline import RunSummary, run
from vidseg.summary import LatencyLog, latency_figures


class RecordingSink:
    """Keeps what it is given, to check order and completeness."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.results: list[FrameResult] = []
        self.state = "new"
        self.fail_at = fail_at

    def open(self, info: StreamInfo) -> None:
        self.state = "open"

    def write(self, result: FrameResult) -> None:
        if self.fail_at is not None and len(self.results) == self.fail_at:
            raise SinkError("disk full (simulated)")
        self.results.append(result)

    def close(self) -> None:
        self.state = "closed"

    def abort(self) -> None:
        self.state = "aborted"


def test_file_run_is_lossless_ordered_and_encoded(tmp_path: Path) -> None:
    clip = frames(30, (160, 96))
    rec = RecordingSink()
    out = tmp_path / "out.mp4"
    summary = run(
        ArraySource(clip, fps=25), Segmenter(n_clusters=4), [VideoFileSink(out), rec], queue_size=2
    )
    assert summary.frames_in == summary.frames_out == 30 and summary.dropped == 0
    assert [r.frame.index for r in rec.results] == list(range(30))
    assert rec.state == "closed"
    assert cv2_read(out)[:3] == (30, 160, 96)
    for r in rec.results:
        np.testing.assert_allclose(r.stats.area_share.sum(), 1.0)
        assert r.view.shape == (96, 160, 3)
        assert r.stats.frame == r.frame.index
    assert summary.fps > 0 and summary.mean_inertia > 0
    assert summary.latency_ms == {} and "latency" not in summary.describe()  # read ahead


@pytest.mark.parametrize(
    "view,width", [("recolor", 160), ("palette", 160), ("side-by-side", 320), ("overlay", 160)]
)
def test_views(view: str, width: int) -> None:
    rec = RecordingSink()
    run(ArraySource(frames(3, (160, 96))), Segmenter(n_clusters=4), [rec], view=view)
    assert rec.results[-1].view.shape == (96, width, 3)
    if view == "side-by-side":
        np.testing.assert_array_equal(rec.results[-1].view[:, :160], rec.results[-1].frame.image)
    if view == "palette":  # a fixed colour per id, whatever the scene
        res = rec.results[-1]
        for j in np.unique(res.segmentation.labels)[:2]:
            colours = res.view[res.segmentation.labels == j]
            assert len(np.unique(colours, axis=0)) == 1


def test_sink_error_is_reraised_and_sinks_aborted(tmp_path: Path) -> None:
    bad = RecordingSink(fail_at=5)
    other = RecordingSink()
    with pytest.raises(SinkError, match="disk full"):
        run(ArraySource(frames(40, (64, 48))), Segmenter(n_clusters=3), [other, bad])
    assert bad.state == other.state == "aborted"


def test_reader_error_is_reraised_in_the_caller() -> None:
    images = [*frames(5, (64, 48)), np.zeros((48, 64, 3), np.float32)]
    rec = RecordingSink()
    with pytest.raises(ValueError, match="uint8"):
        run(ArraySource(images), Segmenter(n_clusters=3), [rec])
    assert rec.state == "aborted" and len(rec.results) <= 5
    assert not [t for t in threading.enumerate() if t.name.startswith("vidseg-")]


def test_segmenter_error_is_reraised_and_threads_joined() -> None:
    rec = RecordingSink()
    with pytest.raises(ValueError, match="n_clusters"):
        run(ArraySource(frames(50, (64, 48))), Segmenter(n_clusters=1), [rec])
    assert rec.state == "aborted"
    assert not [t for t in threading.enumerate() if t.name.startswith("vidseg-")]


def test_stop_event_aborts_and_keeps_partial_output(tmp_path: Path) -> None:
    stop = threading.Event()
    out = tmp_path / "out.mp4"

    def on_frame(result: FrameResult, summary: RunSummary) -> None:
        if result.frame.index == 10:
            stop.set()

    summary = run(
        ArraySource(frames(200, (96, 64))),
        Segmenter(n_clusters=3),
        [VideoFileSink(out)],
        stop=stop,
        on_frame=on_frame,
    )
    assert 0 < summary.frames_out < 200
    assert not out.exists()
    partial = tmp_path / "out.partial.mp4"
    assert cv2_read(partial)[0] == summary.frames_out


def test_live_source_drops_oldest_and_stays_current() -> None:
    """A live source much faster than the segmenter: frames dropped, output stays current."""
    big = frames(1, (1280, 720))[0]
    images = [np.roll(big, 3 * i, axis=1) for i in range(60)]
    rec = RecordingSink()
    summary = run(ArraySource(images, live=True), Segmenter(n_clusters=8), [rec])
    assert summary.dropped > 0
    assert summary.frames_out + summary.dropped == summary.frames_in == 60
    indices = [r.frame.index for r in rec.results]
    assert indices == sorted(indices) and len(set(indices)) == len(indices)
    assert indices[-1] == 59  # the newest frame is never the one dropped
    assert summary.latency_ms["p95"] >= summary.latency_ms["p50"] > 0
    assert "latency p50" in summary.describe()


class TimedSegmenter:
    """A Segmenter that takes at least ``delay`` seconds and records when each call started."""

    def __init__(self, delay: float) -> None:
        self.inner = Segmenter(n_clusters=3)
        self.delay = delay
        self.starts: list[float] = []

    def segment(self, image: np.ndarray) -> Segmentation:
        self.starts.append(time.monotonic())
        time.sleep(self.delay)
        return self.inner.segment(image)


class SlowSink(RecordingSink):
    """Takes ``delay`` seconds per frame and records when each write started and ended."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.spans: list[tuple[float, float]] = []

    def write(self, result: FrameResult) -> None:
        t0 = time.monotonic()
        time.sleep(self.delay)
        super().write(result)
        self.spans.append((t0, time.monotonic()))


@pytest.mark.parametrize("pacing", ["latency", "throughput"])
def test_live_pacing(pacing: str) -> None:
    """latency: a frame is taken only once the last one is written; throughput: the
    next frame is segmented while the last is written, never more than two in flight."""
    photo = frames(1, (96, 64))[0]

    def camera() -> Iterator[np.ndarray]:  # 200 fps, faster than segment + write
        for i in range(80):
            time.sleep(0.005)
            yield np.roll(photo, i, axis=1)

    seg, sink = TimedSegmenter(0.01), SlowSink(0.04)
    seg.inner.segment(photo)  # load the compiled kernels before the clock matters
    summary = run(ArraySource(camera(), live=True), seg, [sink], live_pacing=pacing)  # type: ignore[arg-type]
    assert summary.frames_out == len(sink.spans) == len(seg.starts) >= 5
    assert summary.frames_out + summary.dropped == 80
    overlapped = [seg.starts[j] < sink.spans[j - 1][1] for j in range(1, len(seg.starts))]
    if pacing == "latency":
        assert not any(overlapped)
    else:
        assert sum(overlapped) >= len(overlapped) // 2
        assert all(seg.starts[j] >= sink.spans[j - 2][1] for j in range(2, len(seg.starts)))


def test_unknown_live_pacing_is_refused() -> None:
    with pytest.raises(ValueError, match="live_pacing must be one of latency, throughput"):
        run(ArraySource(frames(2, (32, 24))), Segmenter(n_clusters=3), [], live_pacing="fast")


class _CameraChangingSize(LiveSource):
    """A live camera whose link drops once and comes back at another frame size."""

    def __init__(self, parts: list[list[np.ndarray]]) -> None:
        self._parts = iter(parts)
        self._part: list[np.ndarray] = []
        super().__init__("cam", reconnect_attempts=1, reconnect_backoff=0.0)

    def _connect(self) -> None:
        self._part = next(self._parts, [])
        if not self._part:
            raise SourceOpenError("refused")

    def _read(self) -> Iterator[np.ndarray]:
        for image in self._part:
            time.sleep(0.03)
            yield image
        raise SourceReadError("link dropped")

    def _disconnect(self) -> None:
        self._part = []


def test_live_size_change_reopens_the_sinks(tmp_path: Path) -> None:
    """Frames after a reconnect at another size go to a second, playable file; the
    statistics table goes on; nothing is resized."""
    src = _CameraChangingSize([frames(12, (96, 64)), frames(10, (64, 80))])
    video, stats = VideoFileSink(tmp_path / "cam.mp4"), stats_sink(tmp_path / "cam.csv")
    with pytest.raises(SourceReadError, match="gave up after 1 reconnect attempts"):
        run(src, Segmenter(n_clusters=3), [video, stats])
    first, second = cv2_read(tmp_path / "cam.mp4"), cv2_read(tmp_path / "cam-2.mp4")
    assert first[1:3] == (96, 64) and second[1:3] == (64, 80)
    # Live: frames may be dropped while the run warms up, but every frame segmented
    # reaches both outputs.
    assert first[0] >= 1 and second[0] >= 1
    assert first[0] + second[0] == stats.frames_written
    assert video.outputs == [tmp_path / "cam.mp4"] and video.path == tmp_path / "cam-2.mp4"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cam-2.mp4", "cam.csv", "cam.mp4"]


def test_live_info_size_differing_from_the_first_frame_reopens_nothing(tmp_path: Path) -> None:
    src = ArraySource(frames(5, (96, 64)), live=True)
    src.info = dataclasses.replace(src.info, width=640, height=480)  # what a driver claimed
    run(src, Segmenter(n_clusters=3), [VideoFileSink(tmp_path / "cam.mp4")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cam.mp4"]
    assert cv2_read(tmp_path / "cam.mp4")[1:3] == (96, 64)


def test_max_frames() -> None:
    rec = RecordingSink()
    summary = run(ArraySource(frames(20, (64, 48))), Segmenter(n_clusters=3), [rec], max_frames=7)
    assert summary.frames_out == 7 and len(rec.results) == 7


def test_truncated_file_processes_what_decodes_then_raises(tmp_path: Path) -> None:
    # An AVI cut short loses its index and ends in a torn packet.
    data = media("vtest_pedestrians_static.avi").read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    out = tmp_path / "out.mp4"
    rec = RecordingSink()
    source = VideoFileSource(cut)
    with pytest.raises(SourceReadError):
        run(source, Segmenter(n_clusters=3), [VideoFileSink(out), rec])
    assert rec.state == "closed" and len(rec.results) > 0
    assert cv2_read(out)[0] == len(rec.results)


def test_real_clip_runs_with_scene_and_stats(tmp_path: Path) -> None:
    rec = RecordingSink()
    summary = run(
        VideoFileSource(media("o4n_horses_panning.mp4")),
        Segmenter(n_clusters=6),
        [rec],
        max_frames=40,
    )
    assert summary.frames_out == 40
    times = [r.frame.time_s for r in rec.results]
    assert all(b > a for a, b in itertools.pairwise(times))
    np.testing.assert_allclose(times[1] - times[0], 1001 / 30000, rtol=1e-3)


def test_latency_log_stays_bounded_and_uniform_over_a_long_run() -> None:
    # A days-long live run must not grow its latency record without bound.
    log = LatencyLog(capacity=1000)
    for i in range(100_000):
        log.append(i / 1000.0)
    values = log.values()
    assert 500 <= len(values) <= 1000
    steps = np.diff(values)
    assert np.allclose(steps, steps[0], rtol=1e-3)  # a uniform sample, in time order (float32)
    assert values[0] == 0.0 and values[-1] > 99.0 - steps[0] * 1.01
    figures = latency_figures(log)
    assert abs(figures["p50"] - 50_000) < 200 and figures["first_half"] < figures["second_half"]


def test_the_runner_threads_carry_their_names_for_the_os() -> None:
    # `top -H` / /proc show each part of a days-long run under its own name.
    seen: set[str] = set()

    class Spy:
        def open(self, info: StreamInfo) -> None: ...

        def write(self, result: FrameResult) -> None:
            tid = threading.get_native_id()
            seen.add(Path(f"/proc/self/task/{tid}/comm").read_text().strip())

        def close(self) -> None: ...

        def abort(self) -> None: ...

    run(ArraySource(frames(4, (64, 48))), Segmenter(n_clusters=2), [Spy()])
    assert seen == {"vidseg-write"}
