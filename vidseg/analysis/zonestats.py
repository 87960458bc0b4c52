"""Per-zone statistics of a label map, every zone in one pass (pure, compiled).

:class:`ZoneLayout` rasterises the configured zones and masks once per frame
size.  Each pixel gets a *combination id*: which set of zones it lies in
(masked pixels get none, and belong to no zone, not even ``frame``).  The rows
are cut into runs of one combination, so :meth:`ZoneLayout.measure` walks the
labels once, run by run, and within a run label-run by label-run: a pixel costs
one comparison, and counts, bounding boxes and centroid sums are updated once
per run of equal labels.  The combinations are then summed into zones.

>>> import numpy as np
>>> from vidseg.analysis.config import parse_analysis
>>> cfg = parse_analysis({"zones": [{"name": "left", "units": "relative",
...     "points": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]}]})
>>> layout = ZoneLayout.build(cfg, 4, 2)
>>> labels = np.array([[0, 1, 1, 1], [0, 0, 1, 1]], np.uint8)
>>> zones = layout.measure(labels, 2)
>>> zones["left"].pixels.tolist(), zones["left"].share.tolist(), zones["frame"].area
([3, 1], [0.75, 0.25], 8)
>>> zones["left"].bbox.tolist()  # x0, y0, x1, y1 (exclusive) per cluster
[[0, 0, 2, 2], [1, 0, 2, 1]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from ..errors import ConfigError
from .config import FRAME, AnalysisConfig, Mask
from .geometry import outside_frame, rasterise, to_pixels

__all__ = ["ZoneLayout", "ZoneStats"]


@dataclass(frozen=True, eq=False)
class ZoneStats:
    """One zone's statistics in one frame (only its unmasked pixels count).

    Attributes
    ----------
    name : str
        Zone name, or ``"frame"`` for the whole unmasked frame.
    area : int
        Unmasked pixels in the zone.
    pixels : ndarray, shape (k,), int64
        Pixels of each cluster in the zone.
    bbox : ndarray, shape (k, 4), int32
        ``x0, y0, x1, y1`` (``x1``/``y1`` exclusive, frame pixels) of each
        cluster's pixels in the zone; a row of -1 when the cluster is absent.
    centroids : ndarray, shape (k, 2), float64
        Mean ``(x, y)`` of each cluster's pixels in the zone as fractions of
        ``(W - 1, H - 1)`` (as :class:`~vidseg.stats.ClusterStats`); NaN when absent.
    """

    name: str
    area: int
    pixels: np.ndarray
    bbox: np.ndarray
    centroids: np.ndarray

    @property
    def share(self) -> np.ndarray:
        """Share of the zone's unmasked area per cluster (zeros when the area is 0)."""
        if self.area == 0:
            return np.zeros(len(self.pixels), np.float64)
        return self.pixels / float(self.area)


class ZoneLayout:
    """The zones and masks of an :class:`AnalysisConfig` rasterised for one frame size.

    Attributes
    ----------
    width, height : int
    names : tuple of str
        ``"frame"`` followed by the configured zones, in order.
    ignore : ndarray, shape (H, W), bool, or None
        Masked pixels (``None`` without masks).
    zone_masks : dict of str to ndarray
        Each zone's pixels (before masking), ``(H, W)`` bool.
    polygons : dict of str to ndarray
        Each zone's vertices in pixels, ``(n, 2)`` float64.
    """

    def __init__(
        self,
        width: int,
        height: int,
        zone_masks: dict[str, np.ndarray],
        polygons: dict[str, np.ndarray],
        ignore: np.ndarray | None,
    ) -> None:
        self.width, self.height = width, height
        self.names = (FRAME, *zone_masks)
        self.zone_masks, self.polygons, self.ignore = zone_masks, polygons, ignore
        code = np.zeros((height, width), np.uint64)
        for bit, zone in enumerate(zone_masks.values()):
            code[zone] |= np.uint64(1 << bit)
        keep = np.ones((height, width), bool) if ignore is None else ~ignore
        codes, inverse = np.unique(code[keep], return_inverse=True)
        combo = np.full((height, width), -1, np.int32)
        combo[keep] = inverse.reshape(-1)
        bits = np.uint64(1) << np.arange(len(zone_masks), dtype=np.uint64)
        # member[c, z]: combination c lies in zone z (zone 0 = the frame).
        member = np.ones((len(codes), 1 + len(zone_masks)), bool)
        member[:, 1:] = (codes[:, None] & bits[None, :]) != 0
        self._member = np.ascontiguousarray(member.T)  # (zones, combinations)
        self._runs = _runs(combo)

    @classmethod
    def build(cls, cfg: AnalysisConfig, width: int, height: int) -> ZoneLayout:
        """Rasterise ``cfg``'s zones and masks for a ``width`` x ``height`` frame.

        Raises
        ------
        ConfigError
            A polygon reaches outside the frame, or a PNG mask is unreadable or
            of another size (one line naming the key and the fix).
        """
        zone_masks, polygons = {}, {}
        for i, zone in enumerate(cfg.zones):
            pts = _inside(
                zone.units, zone.points, f"analysis.zones[{i}] ({zone.name})", width, height
            )
            polygons[zone.name] = pts
            zone_masks[zone.name] = rasterise(pts, width, height)
        ignore = None
        for i, mask in enumerate(cfg.masks):
            m = _mask_pixels(mask, f"analysis.masks[{i}]", width, height)
            ignore = m if ignore is None else ignore | m
        return cls(width, height, zone_masks, polygons, ignore)

    def measure(self, labels: np.ndarray, n_clusters: int) -> dict[str, ZoneStats]:
        """Statistics of every zone (and ``"frame"``) for one ``(H, W)`` uint8 label map."""
        z, k = len(self.names), n_clusters
        pixels = np.empty((z, k), np.int64)
        bbox = np.empty((z, k, 4), np.int32)
        centroids = np.empty((z, k, 2), np.float64)
        flat = labels.reshape(-1)
        # Whole 8-pixel words let a run of one label be skipped 8 pixels at a time.
        words = flat.view(np.uint64) if flat.size % 8 == 0 else np.empty(0, np.uint64)
        _measure(flat, words, self.width, *self._runs, self._member, k, pixels, bbox, centroids)
        return {
            name: ZoneStats(
                name=name,
                area=int(pixels[i].sum()),
                pixels=pixels[i],
                bbox=bbox[i],
                centroids=centroids[i],
            )
            for i, name in enumerate(self.names)
        }


def _inside(
    units: str | None, points: tuple[tuple[float, float], ...], where: str, w: int, h: int
) -> np.ndarray:
    pts = to_pixels(points, units or "pixels", w, h)
    bad = outside_frame(pts, w, h)
    if bad is not None:
        x, y = points[bad]
        raise ConfigError(
            f"{where}.points[{bad}] [{x:g}, {y:g}] is outside the {w}x{h} frame; keep "
            f"pixel points within 0..{w} x 0..{h} (or use units: relative)"
        )
    return pts


def _mask_pixels(mask: Mask, where: str, w: int, h: int) -> np.ndarray:
    if mask.png is None:
        return rasterise(_inside(mask.units, mask.points, where, w, h), w, h)
    import cv2

    image = cv2.imread(str(mask.png), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise ConfigError(f"{where}.png {str(mask.png)!r} is not a readable image; give a PNG")
    if image.shape != (h, w):
        raise ConfigError(
            f"{where}.png {str(mask.png)!r} is {image.shape[1]}x{image.shape[0]} but the "
            f"frame is {w}x{h}; give a mask image of the frame's size"
        )
    return image >= 128


def _runs(combo: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cut each row into runs of one combination: ``(row_ptr, x0, x1, combo)``; masked dropped."""
    h, w = combo.shape
    starts = np.ones((h, w), bool)
    starts[:, 1:] = combo[:, 1:] != combo[:, :-1]
    flat = np.flatnonzero(starts)
    ends = np.append(flat[1:], h * w)
    row = flat // w
    ends = np.minimum(ends, (row + 1) * w)  # a run never crosses a row end
    ids = combo.reshape(-1)[flat]
    keep = ids >= 0
    flat, ends, row, ids = flat[keep], ends[keep], row[keep], ids[keep]
    row_ptr = np.searchsorted(row, np.arange(h + 1)).astype(np.int64)
    x0 = (flat - row * w).astype(np.int32)
    x1 = (ends - row * w).astype(np.int32)
    return row_ptr, x0, x1, ids.astype(np.int32)


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _measure(
    flat, words, width, row_ptr, run_x0, run_x1, run_combo, member, k, pixels, bbox, centroids
):  # pragma: no cover
    """Counts, bounding boxes and centroids per zone: one pass, then combinations -> zones."""
    n_combos = member.shape[1]
    counts = np.zeros((n_combos, k), np.int64)
    box = np.empty((n_combos, k, 4), np.int32)
    box[:, :, :2] = np.iinfo(np.int32).max
    box[:, :, 2:] = -1
    sums = np.zeros((n_combos, k, 2), np.float64)
    _runs_pass(flat, words, width, row_ptr, run_x0, run_x1, run_combo, counts, box, sums)
    h = len(row_ptr) - 1
    w1, h1 = max(width - 1, 1), max(h - 1, 1)
    for z in range(member.shape[0]):
        for j in range(k):
            n = 0
            sx = sy = 0.0
            x0 = y0 = np.iinfo(np.int32).max
            x1 = y1 = -1
            for c in range(n_combos):
                if member[z, c] and counts[c, j] > 0:
                    n += counts[c, j]
                    sx += sums[c, j, 0]
                    sy += sums[c, j, 1]
                    x0, y0 = min(x0, box[c, j, 0]), min(y0, box[c, j, 1])
                    x1, y1 = max(x1, box[c, j, 2]), max(y1, box[c, j, 3])
            pixels[z, j] = n
            if n == 0:
                bbox[z, j, :] = -1
                centroids[z, j, :] = np.nan
            else:
                bbox[z, j, 0], bbox[z, j, 1], bbox[z, j, 2], bbox[z, j, 3] = x0, y0, x1, y1
                centroids[z, j, 0] = sx / n / w1
                centroids[z, j, 1] = sy / n / h1


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _runs_pass(
    flat, words, width, row_ptr, run_x0, run_x1, run_combo, counts, box, sums
):  # pragma: no cover
    """Counts, bounding boxes and position sums per (combination, cluster)."""
    k = counts.shape[1]
    first = np.empty(k, np.int64)
    use_words = len(words) > 0
    ones = np.uint64(0x0101010101010101)
    for y in range(len(row_ptr) - 1):
        base = y * width
        for r in range(row_ptr[y], row_ptr[y + 1]):
            c = run_combo[r]
            end = base + run_x1[r]
            first[:] = -1
            x = base + run_x0[r]
            while x < end:  # one label-run per turn
                lbl = flat[x]
                s = x
                x += 1
                if use_words:
                    while x < end and (x & 7) != 0 and flat[x] == lbl:
                        x += 1
                    if (x & 7) == 0:
                        pattern = np.uint64(lbl) * ones
                        while x + 8 <= end and words[x >> 3] == pattern:
                            x += 8
                while x < end and flat[x] == lbl:
                    x += 1
                n = x - s
                xs = s - base
                counts[c, lbl] += n
                sums[c, lbl, 0] += (xs + 0.5 * (n - 1)) * n
                sums[c, lbl, 1] += y * n
                if first[lbl] < 0:
                    first[lbl] = xs
                if xs + n > box[c, lbl, 2]:
                    box[c, lbl, 2] = xs + n
            for j in range(k):
                if first[j] >= 0:
                    if first[j] < box[c, j, 0]:
                        box[c, j, 0] = first[j]
                    if y < box[c, j, 1]:
                        box[c, j, 1] = y
                    box[c, j, 3] = y + 1
