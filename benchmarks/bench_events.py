"""What the event rules and the lighting guard cost per frame, and where the real clips' events are.

In process (the event sink runs in the pipeline's writer thread, so this is
what it adds there), on the shared parking-lot clip at its full 768x432:

* ``lighting guard``  :meth:`LightingGuard.observe` (thumbnail, cells, comparison);
* ``rule: any``       an ``any`` change rule (median window, earth mover's distance);
* ``rule: ids``       a change rule on two cluster ids;
* ``rule: colour``    an ``above`` rule on a colour (nearest cluster in Lab).

The segmentation and zone statistics are computed once beforehand and not timed.

``--truth`` prints, for the acceptance tests' zones, the share of each zone
that differs from the clip's median background by more than 30 grey levels
(exposure-normalised), every 0.5 s: where the tests' expected event times come from.

    python benchmarks/bench_events.py            # 300 frames
    python benchmarks/bench_events.py --quick    # 40 frames, a smoke run
    python benchmarks/bench_events.py --truth    # the zones' ground truth
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _clips import media_dir

from vidseg.analysis.config import parse_analysis
from vidseg.analysis.lighting import LightingGuard
from vidseg.analysis.rules import RuleTracker
from vidseg.analysis.rules_config import LightingSettings, parse_rules
from vidseg.analysis.zonestats import ZoneLayout
from vidseg.engine import Segmenter
from vidseg.io.sources import VideoFileSource

PARKING = "intel_parking_lot_static.mp4"
LANE = [[0.35, 0.3], [0.6, 0.3], [0.6, 0.7], [0.35, 0.7]]
# The acceptance tests' zones: clip, zone name, relative polygon.
TRUTH = [
    (PARKING, "lane", LANE),
    (PARKING, "kerb", [[0.75, 0.05], [0.95, 0.05], [0.95, 0.85], [0.75, 0.85]]),
    ("vtest_pedestrians_static.avi", "grass", [[0.05, 0.6], [0.5, 0.6], [0.5, 0.95], [0.05, 0.95]]),
    ("o4n_traffic_topdown_static.mp4", "far-lane", [[0.5, 0], [1, 0], [1, 0.12], [0.5, 0.12]]),
]  # fmt: skip
RULES = [
    {"name": "any", "zone": "lane"},
    {"name": "ids", "zone": "lane", "clusters": [1, 2]},
    {"name": "colour", "zone": "lane", "clusters": "#d07080", "trigger": "above", "enter": 0.3},
]


def _frames(name: str, limit: int | None = None, scale: float = 1.0) -> tuple[list, float]:
    images = []
    with VideoFileSource(media_dir() / name) as src:
        fps = src.info.fps
        for f in src:
            if limit is not None and len(images) >= limit:
                break
            images.append(
                cv2.resize(f.image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            )
    return images, fps


def costs(n: int) -> None:
    images, fps = _frames(PARKING, n)
    h, w = images[0].shape[:2]
    cfg = parse_analysis({"zones": [{"name": "lane", "units": "relative", "points": LANE}]})
    layout = ZoneLayout.build(cfg, w, h)
    seg = Segmenter(8, seed=0)
    segs = [seg.segment(im) for im in images]
    zones = [layout.measure(s.labels, s.n_clusters) for s in segs]
    rows = []
    guard = LightingGuard(LightingSettings())
    t = time.perf_counter()
    for i, image in enumerate(images):
        guard.observe(image, i / fps)
    rows.append(("lighting guard", time.perf_counter() - t))
    for spec in RULES:
        tracker = RuleTracker(parse_rules([spec], zone_names={"lane"}, source="")[0])
        t = time.perf_counter()
        for i, (s, z) in enumerate(zip(segs, zones, strict=True)):
            tracker.update(z, s.palette, time_s=i / fps, frame=i)
        rows.append((f"rule: {spec['name']}", time.perf_counter() - t))
    print(f"in-process cost per frame, {len(images)} frames of {PARKING} at {w}x{h}")
    print(f"{'step':<16} {'ms/frame':>9}")
    for name, seconds in rows:
        print(f"{name:<16} {1000 * seconds / len(images):>9.3f}")


def truth() -> None:
    for name, zone, points in TRUTH:
        images, fps = _frames(name, scale=0.5)
        grey = np.stack([cv2.cvtColor(im, cv2.COLOR_BGR2GRAY) for im in images]).astype(np.float32)
        background = np.median(grey, axis=0)
        h, w = background.shape
        mask = np.zeros((h, w), np.uint8)
        cv2.fillPoly(mask, [np.round(np.array(points) * [w, h]).astype(np.int32)], 1)
        inside = mask.astype(bool)
        step = max(1, round(fps / 2))
        cells = []
        for i in range(0, len(grey), step):
            gain = np.median(grey[i]) / np.median(background)
            share = float((np.abs(grey[i] - background * gain) > 30)[inside].mean())
            cells.append(f"{i / fps:.1f}:{share:.2f}")
        print(f"{name} zone {zone} (time_s:share differing from the background)")
        print(" ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 frames (a smoke run)")
    parser.add_argument("--truth", action="store_true", help="print the zones' ground truth")
    args = parser.parse_args()
    if args.truth:
        truth()
    else:
        costs(40 if args.quick else 300)


if __name__ == "__main__":
    main()
