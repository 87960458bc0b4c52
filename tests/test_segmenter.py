"""Behaviour of vidseg.Segmenter: exact areas, stable ids, cuts, inputs, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import BLOCK_COLORS, blocks
from scipy.optimize import linear_sum_assignment

from vidseg import ConfigError, EmptyClusterWarning, Segmenter
from vidseg.engine.colorspace import to_space
from vidseg.io.demo import demo_frames


def _noisy(img: np.ndarray, rng: np.random.Generator, sigma: float = 3.0) -> np.ndarray:
    return np.clip(img + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("space", ["bgr", "lab", "oklab"])
def test_exact_areas_of_known_blocks(space: str) -> None:
    widths = [10, 20, 30, 40]
    frame = blocks(widths)
    res = Segmenter(n_clusters=4, seed=0, color_space=space).segment(frame)
    assert res.labels.shape == frame.shape[:2] and res.labels.dtype == np.uint8
    assert res.areas.dtype == np.float64
    np.testing.assert_allclose(res.areas.sum(), 1.0)
    np.testing.assert_allclose(sorted(res.areas), np.array(widths) / sum(widths))
    np.testing.assert_array_equal(np.bincount(res.labels.ravel(), minlength=4), res.counts)
    # Each band is one cluster whose centre is the band's colour (reported in BGR).
    for i, w0 in enumerate(np.cumsum([0, *widths[:-1]])):
        band = res.labels[:, w0 : w0 + widths[i]]
        assert np.unique(band).size == 1
        np.testing.assert_allclose(res.centers[band[0, 0]], BLOCK_COLORS[i], atol=1.5)
    assert res.centers.dtype == np.float32 and res.centers.shape == (4, 3)


def test_recolor_keeps_shape_dtype_and_paints_cluster_colours() -> None:
    frame = blocks([15, 25])
    res = Segmenter(n_clusters=2, seed=0).segment(frame)
    out = res.recolor()
    assert out.shape == frame.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out, res.palette[res.labels])
    np.testing.assert_allclose(out.astype(float), frame.astype(float), atol=1.5)
    buf = np.zeros_like(frame)
    assert res.recolor(out=buf) is buf
    with pytest.raises(ValueError, match="out must be"):
        res.recolor(out=np.zeros((2, 2, 3), np.uint8))


def test_labels_in_range_and_input_untouched(china: np.ndarray) -> None:
    before = china.copy()
    res = Segmenter(n_clusters=8, seed=0).segment(china)
    np.testing.assert_array_equal(china, before)
    assert res.labels.max() < 8
    np.testing.assert_allclose(res.areas.sum(), 1.0)
    assert np.all(res.areas > 0)
    assert np.all((res.centroids >= 0) & (res.centroids <= 1))


def test_fixed_seed_is_deterministic(china: np.ndarray) -> None:
    clip = list(demo_frames(6, (160, 96)))
    runs = []
    for _ in range(2):
        seg = Segmenter(n_clusters=6, seed=3)
        runs.append([seg.segment(f) for f in clip])
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a.labels, b.labels)
        np.testing.assert_array_equal(a.centers, b.centers)


def test_ids_stay_put_while_an_object_moves() -> None:
    """A red square slides over a static two-tone background: no label shuffling."""
    rng = np.random.default_rng(0)
    background = blocks([60, 60], height=80, colors=BLOCK_COLORS[[3, 4]])
    seg = Segmenter(n_clusters=3, seed=0)
    ids = []
    for t in range(12):
        frame = background.copy()
        frame[20:40, 5 + 8 * t : 25 + 8 * t] = (0, 0, 255)
        res = seg.segment(_noisy(frame, rng))
        ids.append((res.labels[70, 2], res.labels[70, 117], res.labels[30, 15 + 8 * t]))
        assert not res.scene_cut or t == 0
    assert len(set(ids)) == 1, ids
    assert len(set(ids[0])) == 3


def test_static_noisy_scene_keeps_labels_stable(china: np.ndarray) -> None:
    rng = np.random.default_rng(1)
    seg = Segmenter(n_clusters=8, seed=0)
    prev = None
    changes = []
    for _ in range(8):
        res = seg.segment(_noisy(china, rng, sigma=2.0))
        if prev is not None:
            changes.append(float((res.labels != prev).mean()))
        prev = res.labels
    # Without hysteresis the same noise flips several percent of the pixels.
    base = Segmenter(n_clusters=8, seed=0, hysteresis=0.0, still_threshold=0)
    prev = None
    base_changes = []
    rng = np.random.default_rng(1)
    for _ in range(8):
        res = base.segment(_noisy(china, rng, sigma=2.0))
        if prev is not None:
            base_changes.append(float((res.labels != prev).mean()))
        prev = res.labels
    assert np.mean(changes) < 0.6 * np.mean(base_changes)


def test_cut_between_two_photos_reseeds_and_keeps_ids_matched(
    china: np.ndarray, flower: np.ndarray
) -> None:
    seg = Segmenter(n_clusters=6, seed=0)
    first = seg.segment(china)
    assert first.scene_cut  # the first frame seeds the palette
    assert not seg.segment(china).scene_cut
    cut = seg.segment(flower)
    assert cut.scene_cut and seg.scene_cuts_ == 1
    back = seg.segment(china)
    assert back.scene_cut and seg.scene_cuts_ == 2
    # Back on the first photo, each id has (nearly) its old colour: matched, not shuffled.
    cost = ((first.centers[:, None] - back.centers[None]) ** 2).sum(axis=2)
    _, cols = linear_sum_assignment(cost)
    np.testing.assert_array_equal(cols, np.arange(6))
    assert (first.labels == back.labels).mean() > 0.9


def test_fast_assignment_agrees_with_exact_nearest_centre(china: np.ndarray) -> None:
    seg = Segmenter(n_clusters=8, seed=0)
    res = seg.segment(china)  # first frame: no hysteresis, pure nearest-centre
    x = to_space(china.reshape(-1, 3), "oklab").astype(np.float64)
    c = seg.centers_.astype(np.float64)
    exact = ((x[:, None] - c[None]) ** 2).sum(axis=2).argmin(axis=1)
    agree = (exact == res.labels.ravel()).mean()
    assert agree > 0.97, agree
    # Pixels that disagree sit near a decision boundary: the fit error barely grows.
    d = ((x[:, None] - c[None]) ** 2).sum(axis=2)
    rows = np.arange(len(x))
    assert d[rows, res.labels.ravel()].sum() < 1.01 * d[rows, exact].sum()


def test_reset_forgets_palette(china: np.ndarray) -> None:
    seg = Segmenter(n_clusters=4, seed=0)
    seg.segment(china)
    assert seg.centers_ is not None and seg.frames_seen_ == 1
    seg.reset()
    assert seg.centers_ is None and seg.frames_seen_ == 0
    assert seg.segment(china).scene_cut


def test_empty_clusters_when_fewer_colours_than_k() -> None:
    frame = blocks([20, 20])
    seg = Segmenter(n_clusters=5, seed=0)
    with pytest.warns(EmptyClusterWarning, match="only 2 distinct colours"):
        res = seg.segment(frame)
    assert np.count_nonzero(res.areas) == 2
    np.testing.assert_allclose(sorted(res.areas)[-2:], [0.5, 0.5])
    res2 = seg.segment(frame)  # warm frames stay quiet and stable
    np.testing.assert_array_equal(res.labels, res2.labels)


def test_grayscale_and_bgra_are_converted() -> None:
    gray = np.zeros((20, 20), np.uint8)
    gray[:, 10:] = 200
    res = Segmenter(n_clusters=2, seed=0).segment(gray)
    np.testing.assert_allclose(sorted(res.areas), [0.5, 0.5])
    np.testing.assert_allclose(res.centers.max(axis=0), [200, 200, 200], atol=1.5)
    bgra = np.dstack([blocks([10, 10]), np.full((40, 20), 255, np.uint8)])
    res = Segmenter(n_clusters=2, seed=0).segment(bgra)
    assert res.labels.shape == (40, 20)


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (np.zeros((4, 4, 3), np.float32), "must be uint8"),
        (np.zeros((0, 4, 3), np.uint8), "empty"),
        (np.zeros((4, 4, 2), np.uint8), r"must have shape \(H, W, 3\)"),
        (np.zeros((2, 4, 4, 3), np.uint8), "must have shape"),
        ([[1, 2, 3]], "numpy array"),
    ],
)
def test_bad_frames_get_clear_errors(frame: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Segmenter(n_clusters=2).segment(frame)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_clusters": 1}, r"n_clusters must be in \[2, 64\], got 1"),
        ({"n_clusters": 65}, r"n_clusters must be in \[2, 64\], got 65"),
        ({"n_clusters": 8, "color_space": "hsv"}, "color_space must be one of bgr, lab, oklab"),
        ({"n_clusters": 8, "hysterisis": 1.0}, "did you mean 'hysteresis'"),
        ({"n_clusters": 2.5}, "whole number"),
    ],
)
def test_bad_settings_name_the_setting(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        Segmenter(**kwargs).segment(blocks([5, 5]))
    assert isinstance(info.value, ValueError)


def test_frame_size_change_is_handled(china: np.ndarray) -> None:
    seg = Segmenter(n_clusters=4, seed=0)
    seg.segment(china)
    small = china[::2, ::2].copy()
    res = seg.segment(small)
    assert res.labels.shape == small.shape[:2]
    np.testing.assert_allclose(res.areas.sum(), 1.0)


def test_from_config_and_get_params() -> None:
    from vidseg.config import Config

    cfg = Config().with_overrides({"n_clusters": 5, "color_space": "lab"})
    seg = Segmenter.from_config(cfg.engine)
    assert seg.n_clusters == 5 and seg.color_space == "lab"
    assert seg.get_params()["hysteresis"] == cfg.engine.hysteresis


def test_static_scene_keeps_its_centres_and_a_change_refits(china: np.ndarray) -> None:
    rng = np.random.default_rng(2)
    seg = Segmenter(n_clusters=6, seed=0)
    seg.segment(_noisy(china, rng, 1.0))
    seg.segment(_noisy(china, rng, 1.0))
    centres = seg.centers_.copy()
    for _ in range(4):
        seg.segment(_noisy(china, rng, 1.0))
    assert seg.skipped_fits_ >= 3
    np.testing.assert_array_equal(seg.centers_, centres)
    # A brighter scene no longer fits: the centres follow it.
    seg.segment(np.clip(china.astype(int) + 40, 0, 255).astype(np.uint8))
    assert not np.array_equal(seg.centers_, centres)
    never = Segmenter(n_clusters=6, seed=0, fit_skip=0.0)
    for _ in range(4):
        never.segment(_noisy(china, rng, 1.0))
    assert never.skipped_fits_ == 0


def test_exposure_swing_keeps_labels_and_fit(china: np.ndarray) -> None:
    """An exposure ramp (every colour scaled, 3% per frame) moves the centres with it:
    labels stay put and the fit error keeps following the darkening frame."""
    seg = Segmenter(n_clusters=8, seed=0, refresh_interval=0)
    first = seg.segment(china)
    prev, changes = first.labels, []
    for t in range(1, 16):
        frame = np.clip(china.astype(np.float32) * 0.97**t, 0, 255).astype(np.uint8)
        res = seg.segment(frame)
        changes.append(float((res.labels != prev).mean()))
        prev = res.labels
        assert not res.scene_cut
    # The centres darkened with the frame, by about the frame's own lightness scale.
    light = [np.median(to_space(f.reshape(-1, 3), "oklab")[:, 0]) for f in (frame, china)]
    scale = light[0] / light[1]
    lightness = seg.centers_[:, 0].mean() / to_space(first.centers, "oklab")[:, 0].mean()
    assert abs(lightness - scale) < 0.03
    assert np.mean(changes) < 0.02
