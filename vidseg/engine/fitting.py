"""Sample-level helpers of the segmenter: input checks, histograms, matching (pure).

Everything here works on the pixel sample (a few thousand colours), never on
the full frame.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = [
    "as_bgr",
    "colour_histogram",
    "exposure_gain",
    "hist_distance",
    "match",
    "nearest",
    "refill_empty",
]

_HIST_BITS = 2  # 4 levels per channel -> 64-bin histogram for cut detection
_GAIN_STEP = 0.01  # exposure change below which the warm start is left alone
_MIN_LIGHT = 5.0  # lightness under which a pixel's ratio is mostly noise


def as_bgr(frame: np.ndarray) -> np.ndarray:
    """Validate a frame and return it as a C-contiguous (H, W, 3) uint8 BGR array.

    Grayscale (H, W) or (H, W, 1) and BGRA (H, W, 4) are converted; anything else
    raises a ``ValueError`` that names the problem.  The input is never modified.
    """
    if not isinstance(frame, np.ndarray):
        raise ValueError(f"frame must be a numpy array; got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise ValueError(
            f"frame must be uint8 (0..255); got dtype {frame.dtype}: convert with "
            "np.clip(frame, 0, 255).astype(np.uint8)"
        )
    if frame.size == 0:
        raise ValueError(f"frame is empty (shape {frame.shape})")
    if frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] == 1):
        return cv2.cvtColor(frame.reshape(frame.shape[:2]), cv2.COLOR_GRAY2BGR)
    if frame.ndim == 3 and frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(
            f"frame must have shape (H, W, 3) BGR, (H, W) gray or (H, W, 4) BGRA; got {frame.shape}"
        )
    return np.ascontiguousarray(frame)


def colour_histogram(sample_bgr: np.ndarray) -> np.ndarray:
    """64-bin (4 levels per channel) normalised colour histogram of (N, 3) uint8 pixels."""
    q = sample_bgr >> (8 - _HIST_BITS)
    idx = (q[:, 0].astype(np.intp) << (2 * _HIST_BITS)) | (q[:, 1] << _HIST_BITS) | q[:, 2]
    return np.bincount(idx, minlength=1 << (3 * _HIST_BITS)) / len(idx)


def hist_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Total-variation distance of two normalised histograms, 0 (same) .. 1 (disjoint)."""
    return 0.5 * float(np.abs(a - b).sum())


def nearest(x: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centre index and squared distance for each row of ``x``."""
    x64 = x.astype(np.float64, copy=False)
    c64 = centers.astype(np.float64, copy=False)
    d2 = (x64 * x64).sum(axis=1)[:, None] - 2.0 * (x64 @ c64.T) + (c64 * c64).sum(axis=1)
    idx = d2.argmin(axis=1)
    return idx, np.maximum(d2[np.arange(len(x)), idx], 0.0)


def match(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Reorder ``new`` so each centre takes the id of the old centre it is closest to.

    When k changed, the ids that survive (``0 .. min(k_old, k_new) - 1``) are
    matched and the extra new centres take the ids after them, in their order.
    """
    # SciPy is imported on first use, like scikit-learn (see kmeans.py).
    from scipy.optimize import linear_sum_assignment

    kept = min(len(old), len(new))
    cost = ((old[:kept, None, :] - new[None, :, :]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    out = np.empty_like(new)
    out[rows] = new[cols]
    rest = np.setdiff1d(np.arange(len(new)), cols)
    out[kept:] = new[rest]
    return out


def refill_empty(x: np.ndarray, centers: np.ndarray, min_gain: float) -> np.ndarray:
    """Move clusters that own no sampled pixel onto the worst-fitted pixels.

    Deterministic (largest remaining error first); a cluster stays put when no
    pixel is farther than ``min_gain`` (squared distance) from its centre, as in
    a frame with fewer colours than clusters.
    """
    idx, d2 = nearest(x, centers)
    empty = np.flatnonzero(np.bincount(idx, minlength=len(centers)) == 0)
    centers = centers.copy()
    for j in empty:
        worst = int(d2.argmax())
        if d2[worst] <= min_gain:
            break
        centers[j] = x[worst]
        d2 = np.minimum(d2, ((x - centers[j]) ** 2).sum(axis=1))
    return centers


def exposure_gain(x: np.ndarray, prev: np.ndarray | None, space: str) -> float | None:
    """Scale of every colour since the previous frame (an exposure change), if not ~1.

    ``x`` and ``prev`` are the same pixel positions of two frames in the clustering
    space.  An exposure change scales linear light, which scales OkLab, CIELAB's
    a/b (and roughly L) and gamma-encoded BGR alike, so the median per-position
    lightness ratio measures it, robust to whatever moves in the frame.  Returns
    None when it is within 1% of 1 or cannot be measured.
    """
    if prev is None or len(prev) != len(x):
        return None
    # Lightness: L in the Lab spaces, B+G+R in BGR.
    now, before = (x.sum(axis=1), prev.sum(axis=1)) if space == "bgr" else (x[:, 0], prev[:, 0])
    lit = before > _MIN_LIGHT
    if lit.sum() < len(x) // 4:
        return None
    gain = float(np.median(now[lit] / before[lit]))
    return gain if abs(gain - 1.0) > _GAIN_STEP else None
