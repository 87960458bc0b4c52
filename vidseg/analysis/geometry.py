"""Zone and mask polygons in a frame: units, bounds, rasterising to pixel masks (pure).

Coordinates are continuous: ``(0, 0)`` is the top-left corner of the frame and
``(W, H)`` (pixels) or ``(1, 1)`` (relative) its bottom-right corner.  A pixel
belongs to a polygon when its centre lies inside it (see :func:`rasterise`).

>>> square = ((0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0))
>>> rasterise(to_pixels(square, "relative", 4, 2), 4, 2).astype(int).tolist()
[[1, 1, 0, 0], [1, 1, 0, 0]]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["outside_frame", "rasterise", "to_pixels"]

Point = tuple[float, float]


def to_pixels(points: Sequence[Point], units: str, width: int, height: int) -> np.ndarray:
    """The polygon in pixel coordinates, ``(n, 2)`` float64 (relative: scaled by W, H)."""
    p = np.asarray(points, np.float64).reshape(-1, 2)
    if units == "relative":
        return p * np.array([width, height], np.float64)
    if units == "pixels":
        return p.copy()
    raise ValueError(f"units must be relative or pixels; got {units!r}")


def outside_frame(points_px: np.ndarray, width: int, height: int) -> int | None:
    """Index of the first vertex outside the ``width`` x ``height`` frame, or ``None``."""
    x, y = points_px[:, 0], points_px[:, 1]
    bad = np.flatnonzero((x < 0) | (y < 0) | (x > width) | (y > height))
    return int(bad[0]) if len(bad) else None


def rasterise(points_px: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pixels whose centre lies in the polygon: ``(H, W)`` bool (even-odd rule).

    Edges are half-open (a centre on a left or top edge is in, on a right or
    bottom edge out), so zones that share an edge split its pixels without
    overlap, and a polygon over the whole frame covers every pixel.

    Parameters
    ----------
    points_px : ndarray, shape (n, 2)
        Vertices in pixel coordinates (see the module docstring).
    width, height : int
        Frame size; parts of the polygon outside it are clipped.
    """
    p = np.asarray(points_px, np.float64)
    q = np.roll(p, -1, axis=0)
    yc = np.arange(height, dtype=np.float64)[:, None] + 0.5
    y0, y1 = p[:, 1], q[:, 1]
    active = (yc >= np.minimum(y0, y1)) & (yc < np.maximum(y0, y1))  # (H, n)
    dy = np.where(y1 != y0, y1 - y0, 1.0)
    xs = np.where(active, p[:, 0] + (yc - y0) / dy * (q[:, 0] - p[:, 0]), np.inf)
    xs.sort(axis=1)  # each row has an even number of crossings, then inf
    # Pixel i is in a span [a, b) when its centre i + 0.5 is: i in [ceil(a - .5), ceil(b - .5)).
    edge = np.where(np.isfinite(xs), np.clip(np.ceil(xs - 0.5), 0, width), width).astype(np.intp)
    diff = np.zeros((height, width + 1), np.int32)
    rows = np.arange(height)
    for j in range(0, p.shape[0] - 1, 2):
        np.add.at(diff, (rows, edge[:, j]), 1)
        np.add.at(diff, (rows, edge[:, j + 1]), -1)
    return np.cumsum(diff[:, :width], axis=1) > 0
