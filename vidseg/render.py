"""Rendering of a segmentation into the image a sink writes (pure functions).

Views
-----
``recolor``       every pixel painted with its cluster's colour (default).
``palette``       a fixed, distinct colour per cluster id (for masks: id 3 is
                  always the same colour, whatever the scene).
``side-by-side``  original | recoloured, twice as wide.
``overlay``       the recoloured image blended over the original, with cluster
                  boundaries drawn in white.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from .config import VIEWS
from .engine.kernels import paint_i420
from .engine.segmentation import Segmentation

if TYPE_CHECKING:
    from .frames import FrameResult

__all__ = ["VIEWS", "fixed_palette", "palette_i420", "render", "render_i420"]


def fixed_palette(k: int) -> np.ndarray:
    """``k`` well-separated BGR colours (golden-angle hues), the same for every call."""
    hues = (np.arange(k) * 137.508) % 360 / 2  # OpenCV hue is 0..180
    sats = np.where(np.arange(k) % 2 == 0, 220, 160)
    vals = np.where(np.arange(k) % 3 == 0, 255, 200)
    hsv = np.stack([hues, sats, vals], axis=1).astype(np.uint8).reshape(-1, 1, 3)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR).reshape(-1, 3)


def render(view: str, frame: np.ndarray, seg: Segmentation, *, alpha: float = 0.5) -> np.ndarray:
    """Return the ``view`` of ``seg`` over ``frame`` as a new (H, W', 3) uint8 BGR image.

    Parameters
    ----------
    view : {"recolor", "palette", "side-by-side", "overlay"}
    frame : ndarray, shape (H, W, 3), uint8
        The original frame (not modified).
    seg : Segmentation
    alpha : float
        Weight of the cluster colours in ``overlay``.
    """
    if view == "recolor":
        return seg.recolor()
    if view == "palette":
        return fixed_palette(seg.n_clusters)[seg.labels]
    if view == "side-by-side":
        return np.concatenate([frame, seg.recolor()], axis=1)
    if view == "overlay":
        out = cv2.addWeighted(seg.recolor(), alpha, frame, 1.0 - alpha, 0.0)
        lab = seg.labels
        edge = np.zeros(lab.shape, bool)
        edge[:, 1:] |= lab[:, 1:] != lab[:, :-1]
        edge[1:, :] |= lab[1:, :] != lab[:-1, :]
        out[edge] = (255, 255, 255)
        return out
    raise ValueError(f"view must be one of {', '.join(VIEWS)}; got {view!r}")


def palette_i420(palette_bgr: np.ndarray) -> np.ndarray:
    """YUV (BT.601, as OpenCV's I420 conversion) of each BGR palette colour, (k, 3) uint8."""
    k = len(palette_bgr)
    tiles = np.repeat(np.repeat(palette_bgr[None, :, :], 2, axis=0), 2, axis=1)  # (2, 2k, 3)
    yuv = cv2.cvtColor(np.ascontiguousarray(tiles, dtype=np.uint8), cv2.COLOR_BGR2YUV_I420)
    y = yuv[:2].reshape(-1)[0 : 2 * k : 2]
    chroma = yuv[2:].reshape(-1)
    return np.stack([y, chroma[:k], chroma[k : 2 * k]], axis=1)


def render_i420(result: FrameResult) -> np.ndarray | None:
    """The result's view as I420 ((3H/2, W) uint8), or None when its size is odd."""
    seg = result.segmentation
    if result.view_name in ("recolor", "palette") and result._view is None:
        h, w = seg.labels.shape
        if h % 2 or w % 2:
            return None
        colours = seg.palette if result.view_name == "recolor" else fixed_palette(seg.n_clusters)
        out = np.empty((h * 3 // 2, w), np.uint8)
        paint_i420(seg.labels, palette_i420(colours), out)
        return out
    view = result.view
    if view.dtype != np.uint8 or view.ndim != 3 or view.shape[2] != 3:
        return None  # not an image an encoder can take; the sink's check names the problem
    if view.shape[0] % 2 or view.shape[1] % 2:
        return None
    return cv2.cvtColor(view, cv2.COLOR_BGR2YUV_I420)
