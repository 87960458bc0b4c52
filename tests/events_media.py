"""Helpers for the events tests: real clips at reduced size, and a real pipeline run with rules.

The clips are decoded once per test session (cached), shrunk and thinned to a
few hundred frames; :func:`run_rules` runs them through :func:`vidseg.pipeline.run`
with the real segmenter, the analyze core's zone statistics and an
:class:`~vidseg.analysis.events.EventSink`.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from tests.media import media
from vidseg.analysis.config import parse_analysis
from vidseg.analysis.events import EventSink
from vidseg.analysis.rules_config import EventsSettings, parse_events_settings, parse_rules
from vidseg.analysis.zonestats import ZoneLayout
from vidseg.engine import Segmenter
from vidseg.frames import FrameResult, StreamInfo
from vidseg.io.sources import ArraySource, VideoFileSource
from vidseg.pipeline import run

PARKING = "intel_parking_lot_static.mp4"  # 768x432, 12.5 fps, 377 frames
PEDESTRIANS = "vtest_pedestrians_static.avi"  # 480x360, 10 fps, 795 frames
TRAFFIC = "o4n_traffic_topdown_static.mp4"  # 640x360, 23.976 fps, 480 frames


@functools.lru_cache(maxsize=8)
def _decoded(name: str, scale: float, step: int, start_s: float, stop_s: float) -> tuple:
    images, fps = [], 0.0
    with VideoFileSource(media(name)) as src:
        fps = src.info.fps
        for f in src:
            if f.time_s >= stop_s:
                break
            if f.time_s >= start_s and f.index % step == 0:
                small = cv2.resize(f.image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                images.append(small)
    for image in images:
        image.flags.writeable = False
    return tuple(images), fps / step


def clip(
    name: str, *, scale: float = 0.4, step: int = 2, start_s: float = 0.0, stop_s: float = 1e9
) -> tuple[list[np.ndarray], float]:
    """Frames of a shared clip, ``scale``d, every ``step``-th, in [start_s, stop_s); and their fps.

    Frame ``i`` of the result is at ``start_s + i / fps`` (as ArraySource times it,
    plus the offset the caller adds).
    """
    images, fps = _decoded(name, scale, step, start_s, stop_s)
    return [im.copy() for im in images], fps


@dataclass
class RunOutput:
    """What a run with rules left: the event records, the per-frame lighting flags, the sink."""

    records: list[dict[str, Any]]
    lighting: list[bool]
    sink: EventSink
    path: Path

    def events(self, rule: str) -> list[dict[str, Any]]:
        """End records of ``rule``'s events."""
        return [r for r in self.records if r["type"] == "end" and r["rule"] == rule]


class _Flags:
    """A sink after the EventSink: records each result's lighting flag."""

    def __init__(self) -> None:
        self.flags: list[bool] = []

    def open(self, info: StreamInfo) -> None:
        pass

    def write(self, result: FrameResult) -> None:
        self.flags.append(bool(result.extras["lighting"]))

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


def run_rules(
    images: list[np.ndarray],
    fps: float,
    zones: dict[str, list[list[float]]],
    rules: list[dict[str, Any]],
    folder: Path,
    *,
    settings: EventsSettings | None = None,
    n_clusters: int = 8,
) -> RunOutput:
    """Run ``images`` through the pipeline with ``zones`` (relative polygons) and ``rules``."""
    h, w = images[0].shape[:2]
    cfg = parse_analysis(
        {"zones": [{"name": n, "units": "relative", "points": p} for n, p in zones.items()]}
    )
    layout = ZoneLayout.build(cfg, w, h)
    parsed = parse_rules(rules, zone_names=set(zones), source="test")
    path = folder / "events.ndjson"
    sink = EventSink(
        path,
        parsed,
        settings or parse_events_settings({}, source="test"),
        outlines=layout.polygons,
    )
    flags = _Flags()

    def measure(result: FrameResult) -> None:
        seg = result.segmentation
        result.extras["zones"] = layout.measure(seg.labels, seg.n_clusters)

    run(
        ArraySource(images, fps=fps),
        Segmenter(n_clusters, seed=0),
        [sink, flags],
        measure=measure,
    )
    records = [json.loads(line) for line in path.read_text().splitlines()]
    return RunOutput(records=records, lighting=flags.flags, sink=sink, path=path)


def overlaps(event: dict[str, Any], lo: float, hi: float, offset: float = 0.0) -> bool:
    """Whether an end record's [start, end] overlaps [lo, hi] (clip seconds)."""
    return bool(event["start"]["time_s"] + offset <= hi and event["end"]["time_s"] + offset >= lo)
