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
        self._member = member.T.astype(np.int64)
        self._runs = _runs(combo)
        self._n_combos = len(codes)

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
        c, k = self._n_combos, n_clusters
        counts = np.zeros((c, k), np.int64)
        box = np.empty((c, k, 4), np.int32)
        box[:, :, :2] = np.iinfo(np.int32).max
        box[:, :, 2:] = -1
        sums = np.zeros((c, k, 2), np.float64)
        _zone_pass(labels, *self._runs, counts, box, sums, np.empty(k, np.int32))
        zc = self._member @ counts  # (zones, k)
        zs = np.einsum("zc,ckd->zkd", self._member, sums)
        w1, h1 = max(self.width - 1, 1), max(self.height - 1, 1)
        out = {}
        for z, name in enumerate(self.names):
            rows = self._member[z].astype(bool)
            pixels = zc[z]
            present = pixels > 0
            zb = np.full((k, 4), -1, np.int32)
            if rows.any():
                sub = box[rows]
                zb[:, :2] = sub[:, :, :2].min(axis=0)
                zb[:, 2:] = sub[:, :, 2:].max(axis=0)
                zb[~present] = -1
            with np.errstate(invalid="ignore", divide="ignore"):
                cen = zs[z] / pixels[:, None] / np.array([w1, h1], np.float64)
            cen[~present] = np.nan
            out[name] = ZoneStats(
                name=name, area=int(pixels.sum()), pixels=pixels, bbox=zb, centroids=cen
            )
        return out


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
def _zone_pass(
    labels, row_ptr, run_x0, run_x1, run_combo, counts, box, sums, first
):  # pragma: no cover
    """Counts, bounding boxes and position sums per (combination, cluster)."""
    h = labels.shape[0]
    k = counts.shape[1]
    for y in range(h):
        row = labels[y]
        for r in range(row_ptr[y], row_ptr[y + 1]):
            c = run_combo[r]
            x1 = run_x1[r]
            for j in range(k):
                first[j] = -1
            x = run_x0[r]
            while x < x1:
                lbl = row[x]
                s = x
                x += 1
                while x < x1 and row[x] == lbl:
                    x += 1
                n = x - s
                counts[c, lbl] += n
                sums[c, lbl, 0] += 0.5 * (s + x - 1) * n
                sums[c, lbl, 1] += y * n
                if first[lbl] < 0:
                    first[lbl] = s
                b = box[c, lbl]
                if x > b[2]:
                    b[2] = x
            for j in range(k):
                if first[j] >= 0:
                    b = box[c, j]
                    if first[j] < b[0]:
                        b[0] = first[j]
                    if y < b[1]:
                        b[1] = y
                    b[3] = y + 1
