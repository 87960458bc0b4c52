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
_FLAT = 0.5  # lightness spread under which a frame has no layout to compare
_GRID = (16, 9)  # cells across and down for the layout's noise-proof figure
_STILL = 1.0  # median lightness change (L units) under which a frame's layout held


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


def match_by_overlap(x: np.ndarray, old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Reorder ``new`` so as few points of ``x`` as possible change cluster id.

    For a palette that replaces another on the same picture (a refresh), what
    matters is which pixels each cluster holds, not how close the colours are:
    in a low-contrast scene a shift of every grey band matches colours one band
    off and relabels most of the frame.  Ties in overlap fall back to colour
    distance.
    """
    k = len(new)
    before, after = nearest(x, old)[0], nearest(x, new)[0]
    overlap = np.zeros((len(old), k), np.float64)
    np.add.at(overlap, (before, after), 1.0)
    colour = ((old[:, None, :] - new[None, :, :]) ** 2).sum(axis=2)
    cost = -overlap + 1e-9 * colour / max(float(colour.max()), 1e-12)
    from scipy.optimize import linear_sum_assignment  # loaded with the first fit

    rows, cols = linear_sum_assignment(cost)
    out = np.empty_like(new)
    out[rows] = new[cols]
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


def _lightness(x: np.ndarray, space: str) -> np.ndarray:
    """L in the Lab spaces, B+G+R in BGR (the same convention as :func:`exposure_gain`)."""
    return x.sum(axis=1) if space == "bgr" else x[:, 0]


def _ranks(v: np.ndarray) -> np.ndarray:
    """Average ranks of ``v`` (ties share their mean rank), float64."""
    # Ties all get their mean rank, so the order among them is irrelevant: the
    # default sort is 5x faster than a stable one on the 4,096-pixel sample.
    order = np.argsort(v)
    sorted_v = v[order]
    starts = np.flatnonzero(np.r_[True, sorted_v[1:] != sorted_v[:-1]])
    ends = np.r_[starts[1:], len(v)]
    mean_rank = (starts + ends - 1) / 2.0
    ranks = np.empty(len(v), np.float64)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def layout_cells(positions: np.ndarray, height: int, width: int) -> np.ndarray:
    """Cell of a 16 x 9 grid for each flat pixel position (for :func:`structure_change`)."""
    rows, cols = positions // width, positions % width
    return ((rows * _GRID[1] // height) * _GRID[0] + cols * _GRID[0] // width).astype(np.intp)


def structure_change(
    x: np.ndarray, prev: np.ndarray | None, space: str, cells: np.ndarray
) -> tuple[float, float] | None:
    """How much the picture's layout changed, per pixel and per grid cell.

    ``x`` and ``prev`` are the same pixel positions of two frames, ``cells`` their
    :func:`layout_cells`.  Returns ``(pixels, grid)``: 1 - the rank correlation of
    the positions' lightness, and the same for the cells' mean lightness.  Any
    monotone change of tone (exposure, a flash, clouds, a light switched on)
    keeps which places are brighter than which, so both stay near 0; a cut, even
    to a shot of the same colours, reshuffles them (on the shared clips: pixels
    0.26-0.53 at cuts and at most 0.18 within a shot, 0.05 for a flash).  Sensor
    noise on a flat scene reshuffles single pixels but not cell means, which is
    what the grid figure is for.  None when either frame is too flat to rank.
    """
    if prev is None or len(prev) != len(x) or len(cells) != len(x):
        return None
    now, before = _lightness(x, space), _lightness(prev, space)
    if float(now.std()) < _FLAT or float(before.std()) < _FLAT:
        return None
    if float(np.median(np.abs(now - before))) < _STILL:
        # Most places kept their lightness: the layout held (a static camera's usual
        # frame), and the ranking, the costly part, is not needed.
        return 0.0, 0.0
    pixels = _rank_change(now, before)
    count = np.bincount(cells, minlength=_GRID[0] * _GRID[1])
    seen = count > 0
    grid_now = np.bincount(cells, weights=now, minlength=len(count))[seen] / count[seen]
    grid_before = np.bincount(cells, weights=before, minlength=len(count))[seen] / count[seen]
    # Rounded to a whole lightness unit: cells of one flat area tie instead of ranking noise.
    grid = _rank_change(np.round(grid_now), np.round(grid_before))
    return pixels, grid


def _rank_change(a: np.ndarray, b: np.ndarray) -> float:
    if float(a.std()) == 0.0 or float(b.std()) == 0.0:
        return 0.0
    rho = np.corrcoef(_ranks(a), _ranks(b))[0, 1]
    return float(1.0 - rho) if np.isfinite(rho) else 0.0


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
