"""Per-cluster area statistics of one frame (pure: no I/O).

>>> import numpy as np
>>> from vidseg import Segmenter
>>> from vidseg.stats import ClusterStats
>>> frame = np.zeros((10, 10, 3), np.uint8); frame[:, 5:] = (0, 0, 255)
>>> seg = Segmenter(n_clusters=2, seed=0).segment(frame)
>>> st = ClusterStats.from_segmentation(seg, frame_index=0, time_s=0.0)
>>> sorted(st.pixels.tolist()), sorted(st.color_hex)
([50, 50], ['#000000', '#FF0000'])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .engine.segmentation import Segmentation

__all__ = ["ROW_FIELDS", "ClusterStats"]

# Columns of the tidy per-cluster table (one row per frame x cluster).
ROW_FIELDS = (
    "frame",
    "time_s",
    "cluster",
    "pixels",
    "area_share",
    "color_hex",
    "b",
    "g",
    "r",
    "cx",
    "cy",
    "scene_cut",
)


@dataclass(frozen=True, eq=False)
class ClusterStats:
    """Area statistics of every cluster in one frame.

    Attributes
    ----------
    frame : int
        Frame index in the stream (0-based).
    time_s : float
        Presentation time in seconds (from the container's timestamps).
    width, height : int
        Frame size.
    pixels : ndarray, shape (k,), int64
        Pixels per cluster.
    area_share : ndarray, shape (k,), float64
        Share of the frame per cluster (sums to 1).
    colors_bgr : ndarray, shape (k, 3), uint8
        Cluster colours, BGR.
    centroids : ndarray, shape (k, 2), float64
        Mean (x, y) position per cluster as a fraction of width/height (NaN if empty).
    scene_cut : bool
        The palette was re-seeded on this frame.
    inertia : float
        Fit error of the frame (mean squared distance in the clustering space).
    """

    frame: int
    time_s: float
    width: int
    height: int
    pixels: np.ndarray
    area_share: np.ndarray
    colors_bgr: np.ndarray
    centroids: np.ndarray
    scene_cut: bool
    inertia: float

    @classmethod
    def from_segmentation(
        cls, seg: Segmentation, *, frame_index: int, time_s: float
    ) -> ClusterStats:
        """Collect the statistics of ``seg`` (no recomputation: the engine counted them)."""
        h, w = seg.labels.shape
        return cls(
            frame=frame_index,
            time_s=time_s,
            width=w,
            height=h,
            pixels=seg.counts,
            area_share=seg.areas,
            colors_bgr=seg.palette,
            centroids=seg.centroids,
            scene_cut=seg.scene_cut,
            inertia=seg.inertia,
        )

    @property
    def n_clusters(self) -> int:
        """Number of clusters k."""
        return len(self.pixels)

    @property
    def color_hex(self) -> list[str]:
        """Cluster colours as ``#RRGGBB`` strings."""
        return [f"#{r:02X}{g:02X}{b:02X}" for b, g, r in self.colors_bgr.tolist()]

    def rows(self) -> list[dict[str, Any]]:
        """One dict per cluster with the keys of :data:`ROW_FIELDS` (a tidy table)."""
        hexes = self.color_hex
        out = []
        for j in range(self.n_clusters):
            b, g, r = (int(v) for v in self.colors_bgr[j])
            cx, cy = (float(v) for v in self.centroids[j])
            out.append(
                {
                    "frame": self.frame,
                    "time_s": round(self.time_s, 6),
                    "cluster": j,
                    "pixels": int(self.pixels[j]),
                    "area_share": float(self.area_share[j]),
                    "color_hex": hexes[j],
                    "b": b,
                    "g": g,
                    "r": r,
                    "cx": None if np.isnan(cx) else round(cx, 5),
                    "cy": None if np.isnan(cy) else round(cy, 5),
                    "scene_cut": self.scene_cut,
                }
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """One JSON-ready object for the whole frame (the NDJSON record)."""
        return {
            "frame": self.frame,
            "time_s": round(self.time_s, 6),
            "width": self.width,
            "height": self.height,
            "scene_cut": self.scene_cut,
            "inertia": round(self.inertia, 4),
            "clusters": [
                {k: v for k, v in row.items() if k not in ("frame", "time_s", "scene_cut")}
                for row in self.rows()
            ],
        }
