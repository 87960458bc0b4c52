"""The analysis statistics files: the stats sinks of :mod:`vidseg.io.data_sinks` plus zones.

Same lifecycle as the plain stats sinks (partial file, one flushed record per
frame, renamed on close, kept on abort); they read the zone statistics the
run's ``measure`` step put in ``result.extras["zones"]`` and the lighting flag
of the event detector (``result.extras["lighting"]``, false when absent).

CSV (:data:`ANALYSIS_FIELDS`): one row per frame x zone x cluster; the zone
``frame`` is the whole unmasked frame.  ``share_of_zone`` is the cluster's share
of the zone's unmasked pixels, ``area_share`` its share of the unmasked frame,
``cx``/``cy`` its mean position (fractions of width/height), ``x0 y0 x1 y1``
its bounding box in the zone (frame pixels, ``x1``/``y1`` exclusive; empty
cells when the cluster is absent).

NDJSON: one object per frame: ``frame, time_s, width, height, scene_cut,
lighting, inertia, clusters`` (as ``vidseg convert`` writes them, over the
unmasked frame) and ``zones``: ``{name: {area, pixels, share, bbox}}`` for the
configured zones (``bbox`` entries ``[x0, y0, x1, y1]`` or ``null``).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from ..errors import SinkError
from ..frames import FrameResult
from ..io.data_sinks import StatsCsvSink, StatsNdjsonSink, _jsonable, stats_sink
from ..stats import ClusterStats
from .config import FRAME
from .zonestats import ZoneStats

__all__ = [
    "ANALYSIS_FIELDS",
    "AnalysisCsvSink",
    "AnalysisNdjsonSink",
    "analysis_stats_sink",
]

ANALYSIS_FIELDS = (
    "frame",
    "time_s",
    "zone",
    "cluster",
    "pixels",
    "share_of_zone",
    "area_share",
    "color_hex",
    "b",
    "g",
    "r",
    "cx",
    "cy",
    "x0",
    "y0",
    "x1",
    "y1",
    "scene_cut",
    "lighting",
)


class _WithResult:
    """Keeps the result being written, for ``_record`` (which the base hands only stats)."""

    _result: FrameResult | None = None

    def write(self, result: FrameResult) -> None:
        """Append the frame's statistics and zones and flush them to disk."""
        self._result = result
        try:
            super().write(result)  # type: ignore[misc]
        finally:
            self._result = None

    def _zones(self) -> dict[str, ZoneStats]:
        assert self._result is not None
        zones = self._result.extras.get("zones")
        if zones is None:
            raise SinkError(
                f"{type(self).__name__} needs result.extras['zones']; run it with the "
                "analysis measure step (vidseg.apps.analyze)"
            )
        return dict(zones)

    def _lighting(self) -> bool:
        assert self._result is not None
        return bool(self._result.extras.get("lighting", False))


class AnalysisCsvSink(_WithResult, StatsCsvSink):
    """Tidy per-frame x zone x cluster rows (see the module docstring); a crash loses one frame."""

    _kind = "analysis stats CSV sink"

    def __init__(self, path: str | Path, *, overwrite: bool = False) -> None:
        super().__init__(path, overwrite=overwrite)
        self._rows = csv.writer(self._buffer, lineterminator="\n")

    def _header(self) -> str:
        self._rows.writerow(ANALYSIS_FIELDS)
        return self._take()

    def _record(self, stats: ClusterStats) -> str:
        zones, lighting = self._zones(), self._lighting()
        frame_area = zones[FRAME].area
        hexes = stats.color_hex
        bgr = stats.colors_bgr.tolist()
        t = round(stats.time_s, 6)
        for z in zones.values():
            share = z.share.tolist()
            of_frame = (z.pixels / frame_area).tolist() if frame_area else [0.0] * len(share)
            pixels, boxes, cen = z.pixels.tolist(), z.bbox.tolist(), z.centroids.tolist()
            for j, (b, g, r) in enumerate(bgr):
                cx, cy = cen[j]
                box = boxes[j] if pixels[j] else ["", "", "", ""]
                self._rows.writerow(
                    (
                        stats.frame,
                        t,
                        z.name,
                        j,
                        pixels[j],
                        share[j],
                        of_frame[j],
                        hexes[j],
                        b,
                        g,
                        r,
                        "" if cx != cx else round(cx, 5),  # NaN: absent cluster
                        "" if cy != cy else round(cy, 5),
                        *box,
                        stats.scene_cut,
                        lighting,
                    )
                )
        return self._take()


class AnalysisNdjsonSink(_WithResult, StatsNdjsonSink):
    """One JSON object per frame with the clusters and the zones (see the module docstring)."""

    _kind = "analysis stats NDJSON sink"

    def _record(self, stats: ClusterStats) -> str:
        zones, base = self._zones(), stats.to_dict()
        obj: dict[str, Any] = {
            k: base[k] for k in ("frame", "time_s", "width", "height", "scene_cut")
        }
        obj["lighting"] = self._lighting()
        obj["inertia"], obj["clusters"] = base["inertia"], base["clusters"]
        obj["zones"] = {
            z.name: {
                "area": z.area,
                "pixels": z.pixels.tolist(),
                "share": z.share.tolist(),
                "bbox": [
                    b if n else None
                    for b, n in zip(z.bbox.tolist(), z.pixels.tolist(), strict=True)
                ],
            }
            for z in zones.values()
            if z.name != FRAME
        }
        return json.dumps(_jsonable(obj), separators=(",", ":"), allow_nan=False) + "\n"


def analysis_stats_sink(
    path: str | Path, *, overwrite: bool = False
) -> AnalysisCsvSink | AnalysisNdjsonSink:
    """The analysis stats sink for ``path``'s suffix: ``.csv``, or ``.ndjson``/``.jsonl``.

    Raises
    ------
    SinkError
        Unsupported suffix, or the output cannot be written (checked now).
    """
    plain = stats_sink(path, overwrite=overwrite)  # picks the format, checks the output
    if isinstance(plain, StatsCsvSink):
        return AnalysisCsvSink(path, overwrite=overwrite)
    return AnalysisNdjsonSink(path, overwrite=overwrite)
