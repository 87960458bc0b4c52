"""Views and the direct-to-YUV painting used by the encoder."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vidseg import Segmenter
from vidseg.frames import Frame, FrameResult
from vidseg.render import VIEWS, fixed_palette, render
from vidseg.stats import ClusterStats


def _result(image: np.ndarray, view: str) -> FrameResult:
    seg = Segmenter(n_clusters=6, seed=0).segment(image)
    stats = ClusterStats.from_segmentation(seg, frame_index=0, time_s=0.0)
    return FrameResult(
        frame=Frame(image=image, index=0, time_s=0.0), segmentation=seg, stats=stats, view_name=view
    )


def _reference_i420(bgr: np.ndarray) -> np.ndarray:
    """BT.601 I420 with chroma averaged over each 2x2 block (OpenCV's own conversion
    takes the top-left pixel's chroma, so it is computed per pixel on a 2x upscale)."""
    h, w = bgr.shape[:2]
    per_pixel = cv2.cvtColor(
        cv2.resize(bgr, (2 * w, 2 * h), interpolation=cv2.INTER_NEAREST), cv2.COLOR_BGR2YUV_I420
    )
    y = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)[:h]
    planes = []
    for plane in (per_pixel[2 * h : 2 * h + h // 2], per_pixel[2 * h + h // 2 :]):
        full = plane.reshape(h, w).astype(np.float64)
        planes.append(
            np.floor(full.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)) + 0.5)
            .astype(np.uint8)
            .reshape(h // 4, w)
        )
    return np.concatenate([y, *planes])


@pytest.mark.parametrize("view", VIEWS)
def test_i420_is_the_views_yuv_with_averaged_chroma(china: np.ndarray, view: str) -> None:
    image = np.ascontiguousarray(china[:424, :640])
    res = _result(image, view)
    i420 = res.view_i420
    assert i420 is not None and i420.dtype == np.uint8
    expected = _reference_i420(res.view)
    assert i420.shape == expected.shape
    h = res.view.shape[0]
    np.testing.assert_allclose(i420[:h], expected[:h], atol=1)  # luma
    chroma = np.abs(i420[h:].astype(int) - expected[h:].astype(int))
    if view in ("recolor", "palette"):  # painted from labels: averaged chroma
        assert chroma.max() <= 1
    else:  # converted by OpenCV: top-left chroma, close on average
        assert chroma.mean() < 3


def test_odd_size_has_no_i420(china: np.ndarray) -> None:
    res = _result(np.ascontiguousarray(china[:425, :639]), "recolor")
    assert res.view_i420 is None
    assert res.view.shape == (425, 639, 3)


def test_views_do_not_touch_the_input(china: np.ndarray) -> None:
    before = china.copy()
    seg = Segmenter(n_clusters=4, seed=0).segment(china)
    for view in VIEWS:
        render(view, china, seg)
    np.testing.assert_array_equal(china, before)
    with pytest.raises(ValueError, match="view must be one of"):
        render("sepia", china, seg)


def test_fixed_palette_is_distinct_and_stable() -> None:
    pal = fixed_palette(16)
    assert len(np.unique(pal, axis=0)) == 16
    np.testing.assert_array_equal(pal[:8], fixed_palette(8))


def test_overlay_draws_boundaries(china: np.ndarray) -> None:
    res = _result(china, "overlay")
    lab = res.segmentation.labels
    edge = np.zeros(lab.shape, bool)
    edge[:, 1:] |= lab[:, 1:] != lab[:, :-1]
    assert np.all(res.view[edge] == 255)
