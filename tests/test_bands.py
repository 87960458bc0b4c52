"""The labelling pass in row bands (label_threads > 1): same output, threads owned and stopped."""

from __future__ import annotations

import gc
import itertools
import threading
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from media import DASHCAM, TRAFFIC, media

from vidseg import ConfigError, Segmenter
from vidseg.cli import main
from vidseg.engine.bands import BandWorkers, band_bounds
from vidseg.io.sources import VideoFileSource


def _band_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("vidseg-band-")]


def _clip(name: str, n: int, start: int = 0) -> list[np.ndarray]:
    with VideoFileSource(media(name), audio=False) as src:
        return [f.image for f in itertools.islice(src, start, start + n)]


@pytest.fixture(scope="module")
def real_frames() -> list[np.ndarray]:
    """A dashcam drive (960x540), then a hard cut to the same size of another real clip."""
    dash = _clip(DASHCAM, 24)
    h, w = dash[0].shape[:2]
    traffic = [cv2.resize(f, (w, h)) for f in _clip(TRAFFIC, 6)]
    return dash + traffic + dash[:4]


@pytest.mark.parametrize("threads", [2, 3])
def test_bands_give_byte_identical_results_on_real_clips(
    real_frames: list[np.ndarray], threads: int
) -> None:
    one = Segmenter(8, seed=0)
    with Segmenter(8, seed=0, label_threads=threads) as many:
        for frame in real_frames:
            a, b = one.segment(frame), many.segment(frame)
            np.testing.assert_array_equal(a.labels, b.labels)
            np.testing.assert_array_equal(a.counts, b.counts)
            np.testing.assert_array_equal(a.centers, b.centers)
            np.testing.assert_array_equal(a.centroids, b.centroids)
            assert a.scene_cut == b.scene_cut
        assert len(_band_threads()) == threads - 1
        assert many.scene_cuts_ == one.scene_cuts_ >= 1  # the cut emptied the table
    assert _band_threads() == []


def test_close_stops_the_helpers_and_the_segmenter_goes_on(real_frames: list[np.ndarray]) -> None:
    seg = Segmenter(8, seed=0, label_threads=2)
    seg.segment(real_frames[0])
    assert [t.name for t in _band_threads()] == ["vidseg-band-1"]
    seg.close()
    seg.close()
    assert _band_threads() == []
    seg.segment(real_frames[1])  # restarts them
    assert len(_band_threads()) == 1
    seg.close()


def test_a_dropped_segmenter_stops_its_helpers(real_frames: list[np.ndarray]) -> None:
    seg = Segmenter(8, seed=0, label_threads=2)
    seg.segment(real_frames[0])
    thread = _band_threads()[0]
    del seg
    gc.collect()
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_small_frames_are_labelled_in_one_call(china: np.ndarray) -> None:
    small = np.ascontiguousarray(china[:200, :300])
    with Segmenter(8, seed=0, label_threads=2) as seg, warnings.catch_warnings():
        warnings.simplefilter("error")
        seg.segment(small)
        assert _band_threads() == []


def test_label_threads_is_validated() -> None:
    with pytest.raises(ConfigError, match="label_threads"):
        Segmenter(8, label_threads=0).segment(np.zeros((4, 4, 3), np.uint8))


def test_band_bounds_cover_every_pixel_once() -> None:
    for h, w, n in [(720, 1280, 2), (5, 3, 3), (7, 4, 4)]:
        bounds = band_bounds(h, w, n)
        assert bounds[0][0] == 0 and bounds[-1][1] == h * w
        assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))


def test_worker_errors_reach_the_caller_and_the_pool_goes_on() -> None:
    def boom() -> None:
        raise RuntimeError("band failed")

    done: list[int] = []
    with BandWorkers(2) as workers:
        with pytest.raises(RuntimeError, match="band failed"):
            workers.run([lambda: done.append(0), boom])
        workers.run([lambda: done.append(1), lambda: done.append(2)])
        assert workers.alive == 1
        with pytest.raises(ValueError, match="3 tasks for 2 threads"):
            workers.run([boom, boom, boom])
    assert sorted(done) == [0, 1, 2]
    assert workers.alive == 0
    with pytest.raises(ValueError, match="n_threads >= 2"):
        BandWorkers(1)


def test_convert_with_two_label_threads_matches_one_and_stops_them(tmp_path: Path) -> None:

    clip = str(media(DASHCAM))
    for threads in ("1", "2"):
        args = ["convert", clip, str(tmp_path / f"{threads}.mp4"), "--max-frames", "6", "-q"]
        args += ["--stats", str(tmp_path / f"{threads}.csv"), "--label-threads", threads]
        assert main(args) == 0
        assert _band_threads() == []
    assert (tmp_path / "1.csv").read_text() == (tmp_path / "2.csv").read_text()
