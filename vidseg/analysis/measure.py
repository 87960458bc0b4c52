"""The analysis ``measure`` step: zone statistics, unmasked-frame statistics, maps.

:class:`ZoneMeasure` is handed to :func:`vidseg.pipeline.run` as ``measure``, so
it runs in the writer thread, off the segmenting thread, before any sink sees
the result.  Per frame it

* puts ``{name: ZoneStats}`` (``"frame"`` first, then the zones) in
  ``result.extras["zones"]``;
* with masks, replaces ``result.stats`` by the statistics of the unmasked
  frame (pixels, shares of the unmasked area, centroids of unmasked pixels),
  so every downstream number leaves the masked pixels out;
* adds the labels to the ownership / activity maps (when kept);
* adds each zone's shares to the run's means for the closing summary.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from ..frames import FrameResult
from .config import FRAME, AnalysisConfig
from .maps import MapAccumulator
from .zonestats import ZoneLayout

__all__ = ["ZoneMeasure"]

log = logging.getLogger(__name__)


class ZoneMeasure:
    """Measures every result of a run against one :class:`ZoneLayout`.

    Parameters
    ----------
    cfg : AnalysisConfig
        Zones and masks (re-rasterised if a live source changes frame size).
    layout : ZoneLayout
        ``cfg`` rasterised for the source's announced frame size.
    keep_maps : bool
        Accumulate the ownership / activity maps.
    """

    def __init__(self, cfg: AnalysisConfig, layout: ZoneLayout, *, keep_maps: bool) -> None:
        self.cfg, self.layout, self.keep_maps = cfg, layout, keep_maps
        self.maps: MapAccumulator | None = None
        self.frames = 0
        self._share_sum: dict[str, np.ndarray] = {}
        self._palette = np.zeros((0, 3), np.uint8)

    def __call__(self, result: FrameResult) -> None:
        """Measure one result (the run's ``measure`` hook)."""
        seg = result.segmentation
        labels = seg.labels
        h, w = labels.shape
        if (w, h) != (self.layout.width, self.layout.height):
            log.warning("frame size changed to %dx%d: zones and masks re-rasterised", w, h)
            self.layout = ZoneLayout.build(self.cfg, w, h)
            self.maps = None
        k = seg.n_clusters
        zones = self.layout.measure(labels, k)
        result.extras["zones"] = zones
        if self.layout.ignore is not None:
            frame = zones[FRAME]
            result.stats = dataclasses.replace(
                result.stats,
                pixels=frame.pixels,
                area_share=frame.share,
                centroids=frame.centroids,
            )
        if self.keep_maps:
            if self.maps is None:
                self.maps = MapAccumulator(w, h, self.layout.ignore)
            self.maps.update(labels, result.frame.image, seg.palette)
        for name, z in zones.items():
            total = self._share_sum.get(name)
            if total is None or len(total) < k:
                grown = np.zeros(k, np.float64)
                if total is not None:
                    grown[: len(total)] = total
                total = self._share_sum[name] = grown
            total[:k] += z.share
        self._palette = result.stats.colors_bgr
        self.frames += 1

    def mean_shares(self) -> dict[str, np.ndarray]:
        """Each zone's (and ``"frame"``'s) mean share per cluster over the frames measured."""
        n = max(self.frames, 1)
        return {name: total / n for name, total in self._share_sum.items()}

    def table(self) -> str:
        """Mean share of each cluster per zone, as an aligned text table (last colours)."""
        if not self.frames:
            return "no frames\n"
        means = self.mean_shares()
        names = list(means)
        width = max(7, *(len(n) for n in names))
        lines = ["cluster  colour   " + "  ".join(f"{n:>{width}}" for n in names)]
        k = max(len(v) for v in means.values())
        for j in range(k):
            colour = (
                "#{2:02X}{1:02X}{0:02X}".format(*self._palette[j])
                if j < len(self._palette)
                else "-"
            )
            cells = "  ".join(
                f"{100 * means[n][j]:>{width - 1}.1f}%" if j < len(means[n]) else " " * width
                for n in names
            )
            lines.append(f"{j:>7}  {colour:7}  {cells}")
        return "\n".join(lines) + "\n"
