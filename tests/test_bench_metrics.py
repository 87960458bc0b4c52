"""Fast checks of the benchmark metrics (benchmarks/_metrics.py) on synthetic arrays."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "_metrics.py"
_spec = importlib.util.spec_from_file_location("bench_metrics", _PATH)
assert _spec is not None and _spec.loader is not None
metrics = importlib.util.module_from_spec(_spec)
sys.modules["bench_metrics"] = metrics
_spec.loader.exec_module(metrics)


def _blobs(k: int = 8, per: int = 500, spread: float = 2.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = np.stack([np.arange(k) * 30.0, (np.arange(k) % 3) * 40.0, np.zeros(k)], 1)
    labels = np.repeat(np.arange(k), per)
    x = centres[labels] + rng.normal(0, spread, (k * per, 3))
    return x.astype(np.float32), labels, centres


def test_wcss_of_perfect_labels_is_zero():
    _, labels, centres = _blobs(spread=0.0)
    x = centres[labels].astype(np.float32)
    assert metrics.wcss(x, labels, 8) == pytest.approx(0.0, abs=1e-6)


def test_wcss_matches_direct_formula():
    x, labels, _ = _blobs()
    direct = sum(((x[labels == c] - x[labels == c].mean(0)) ** 2).sum() for c in range(8))
    assert metrics.wcss(x, labels, 8) == pytest.approx(direct, rel=1e-6)
    # one cluster holding everything scores against the global mean
    total = ((x - x.mean(0)) ** 2).sum()
    assert metrics.wcss(x, np.zeros(len(x), int)) == pytest.approx(total, rel=1e-6)


def test_reference_ratio_to_itself_is_one():
    x, _, _ = _blobs()
    ref_labels = metrics.reference_labels(x, 8, sample=1000, seed=3)
    ref = metrics.reference_wcss(x, 8, sample=1000, seed=3)
    assert metrics.inertia_ratio(x, ref_labels, ref, 8) == pytest.approx(1.0)
    # well separated blobs: the reference finds them, a scrambled labelling is far worse
    assert metrics.inertia_ratio(x, np.random.default_rng(0).integers(0, 8, len(x)), ref, 8) > 10


def test_reference_cache_computes_once():
    x, _, _ = _blobs()
    cache = metrics.ReferenceCache(8, sample=1000)
    calls = []

    def points():
        calls.append(1)
        return x

    a = cache.get(("clip", 0, "bgr"), points)
    b = cache.get(("clip", 0, "bgr"), points)
    assert a == b and len(calls) == 1 and len(cache) == 1


def test_nearest_center_exact():
    x = np.array([[0, 0, 0], [9, 0, 0], [4, 0, 0], [6, 0, 0]], np.float32)
    c = np.array([[0, 0, 0], [10, 0, 0]], np.float32)
    assert metrics.nearest_center(x, c).tolist() == [0, 1, 0, 1]


def test_label_change():
    a = np.zeros((4, 5), np.uint8)
    assert metrics.label_change(a, a.copy()) == 0.0
    b = a.copy()
    b[0, :] = 3
    assert metrics.label_change(a, b) == pytest.approx(5 / 20)


def test_flicker():
    rng = np.random.default_rng(0)
    inputs = [rng.integers(0, 256, (6, 7, 3), dtype=np.uint8) for _ in range(4)]
    still = [np.full((6, 7, 3), 9, np.uint8)] * 4
    assert metrics.flicker_ratio(inputs, still) == 0.0
    assert metrics.flicker_ratio(inputs, inputs) == pytest.approx(1.0)
    # uint8 differences are exact: |0 - 255| = 255, no wrap-around
    assert (
        metrics.mean_abs_diff(np.zeros((2, 2), np.uint8), np.full((2, 2), 255, np.uint8)) == 255.0
    )


def test_cut_recovered():
    ratios = {10: 1.4, 11: 1.2, 12: 1.03, 20: 1.3, 21: 1.2, 22: 1.1, 23: 1.0}
    assert metrics.cut_recovered(ratios, 10) is True
    assert metrics.cut_recovered(ratios, 20) is False  # 23 is 3 frames after the cut
    assert metrics.cut_recovered(ratios, 50) is None


def test_local_to_space_matches_conventions():
    bgr = np.array([[0, 0, 0], [255, 255, 255], [0, 0, 255]], np.float32)
    ok = metrics.local_to_space(bgr, "oklab")
    assert ok[0] == pytest.approx([0, 0, 0], abs=1e-3)
    assert ok[1] == pytest.approx([100, 0, 0], abs=1e-2)
    assert ok[2, 0] == pytest.approx(62.8, abs=0.1)  # OkLab L of sRGB red
    lab = metrics.local_to_space(bgr, "lab")
    assert lab[1, 0] == pytest.approx(100, abs=0.1)
    assert np.array_equal(metrics.local_to_space(bgr, "bgr"), bgr)


def test_drms_is_the_excess_rms_error():
    assert metrics.drms(4.0 * 100, 1.0 * 100, 100) == pytest.approx(1.0)
    assert metrics.drms(50.0, 50.0, 10) == 0.0


def test_still_label_change_counts_flips_on_still_pixels_only():
    prev = np.full((20, 20, 3), 100, np.uint8)
    cur = prev.copy()
    cur[:, 10:] = 200  # the right half moves
    lab_prev = np.zeros((20, 20), np.uint8)
    lab_cur = lab_prev.copy()
    lab_cur[:2, :2] = 1  # 4 still pixels flip
    lab_cur[:, 15:] = 1  # moving pixels flip too: not counted
    still = metrics.still_mask(prev, cur)
    # The 5x5 box mean spreads the motion 2 pixels into the still half.
    assert still[:, :8].all() and not still[:, 8:].any()
    meter = metrics.StillLabelChange()
    assert np.isnan(meter.ratio)
    meter.add(prev, cur, lab_prev, lab_cur)
    assert meter.ratio == pytest.approx(4 / (20 * 8))
