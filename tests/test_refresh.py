"""The palette refresh: the warm fit run to convergence before any fresh palette."""

from __future__ import annotations

import numpy as np
import pytest

from vidseg import Segmenter
from vidseg.config import EngineConfig
from vidseg.engine.colorspace import to_space
from vidseg.engine.fitting import match_by_overlap, nearest
from vidseg.engine.kmeans import fresh_palette, polish
from vidseg.engine.palette import PaletteTracker


def _sample(photo: np.ndarray, n: int = 4096) -> np.ndarray:
    rng = np.random.default_rng(0)
    pixels = photo.reshape(-1, 3)
    return to_space(pixels[rng.choice(len(pixels), n, replace=False)], "oklab")


def _trailing(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A converged palette of ``x`` and the same palette shifted, as a warm fit that trails."""
    converged, _ = polish(x, fresh_palette(x, 8, seed=0, n_init=1)[0])
    return converged, (converged + np.float32([3.0, 1.0, -1.0])).astype(np.float32)


def test_polish_keeps_ids_and_lowers_the_error(china: np.ndarray) -> None:
    x = _sample(china)
    _, trail = _trailing(x)
    centers, err = polish(x, trail)
    assert err < float(nearest(x, trail)[1].mean())
    # Each centre stays the one nearest where it started: ids are kept.
    np.testing.assert_array_equal(nearest(centers, trail)[0], np.arange(8))


@pytest.mark.parametrize("photo", ["china", "flower"])
def test_refresh_adopts_the_converged_warm_fit_over_an_equal_fresh_one(
    photo: str, request: pytest.FixtureRequest
) -> None:
    x = _sample(request.getfixturevalue(photo))
    _, trail = _trailing(x)
    err_trail = float(nearest(x, trail)[1].mean())
    tracker = PaletteTracker(EngineConfig())
    centers, err = tracker._refresh(x, trail, err_trail)
    assert tracker.refreshes == 0  # no fresh palette: it gains nothing over the converged fit
    assert err < 0.9 * err_trail
    np.testing.assert_array_equal(nearest(centers, trail)[0], np.arange(8))
    # Fewer sampled pixels change id than under the fresh palette matched by overlap.
    fresh = match_by_overlap(x, trail, fresh_palette(x, 8, seed=0, n_init=1)[0])
    before = nearest(x, trail)[0]
    moved = np.mean(nearest(x, centers)[0] != before)
    assert moved < np.mean(nearest(x, fresh)[0] != before)


def test_small_gains_leave_the_palette_alone(china: np.ndarray) -> None:
    """A converged fit that gains less than ``fit_skip`` is not worth moving the colours."""
    x = _sample(china)
    converged, _ = _trailing(x)
    err = float(nearest(x, converged)[1].mean())
    tracker = PaletteTracker(EngineConfig())
    centers, new_err = tracker._refresh(x, converged, err)
    assert centers is converged and new_err == err


def test_segmenter_still_scene_with_refreshes_keeps_labels(china: np.ndarray) -> None:
    rng = np.random.default_rng(1)
    seg = Segmenter(n_clusters=8, seed=0, refresh_interval=3)
    prev, changes = None, []
    for _ in range(12):
        noise = rng.integers(-2, 3, china.shape)
        res = seg.segment(np.clip(china.astype(np.int16) + noise, 0, 255).astype(np.uint8))
        if prev is not None:
            changes.append(float((res.labels != prev).mean()))
        prev = res.labels
    assert max(changes) < 0.05


def test_polish_of_a_sample_with_fewer_colours_than_clusters_is_quiet() -> None:
    frame = np.zeros((40, 40, 3), np.uint8)
    frame[:, 10:20] = (255, 0, 0)
    frame[:, 20:] = (0, 0, 255)
    x = to_space(frame.reshape(-1, 3), "oklab")
    init = np.concatenate([x[:1], x[15:16], x[30:31], x[:5] + np.arange(5)[:, None]])
    centers, err = polish(x, init.astype(np.float32))  # filterwarnings=error: no warning
    np.testing.assert_array_equal(centers, init)
    assert err == 0.0
