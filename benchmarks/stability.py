"""Still-pixel label change (SLC), flicker and the quality bar on the static clips.

A fast loop for tuning the engine's stability (the full table is
``bench_segmenter.py``): per clip, SLC = label flips on still pixels / still
pixels (a pixel is still when the 5x5 box mean of |dB|+|dG|+|dR| between the two
frames is <= 12), flicker, and the per-frame quality bar (ratio <= 1.02 or
dRMS <= 0.05 against ``KMeans(k, n_init=4)`` on a 20k-pixel sample, OkLab x 100)
on every ``--stride``-th frame.

    python benchmarks/stability.py [--frames 150] [--stride 5] [key=value ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _metrics
from _clips import load_video, media_dir

from vidseg import Segmenter

STATIC = (
    "intel_parking_lot_static.mp4",
    "o4n_traffic_topdown_static.mp4",
    "vtest_pedestrians_static.avi",
)


def measure(frames: list[np.ndarray], stride: int, **options: object) -> dict[str, float]:
    """SLC, flicker, median / p95 ratio and dRMS of a default segmenter on ``frames``."""
    seg = Segmenter(8, seed=0, **options)
    slc = _metrics.StillLabelChange()
    flick = _metrics.FlickerMeter()
    ratios, drms = [], []
    prev = prev_out = prev_lab = None
    for i, frame in enumerate(frames):
        res = seg.segment(frame)
        out = res.recolor()
        if prev is not None:
            slc.add(prev, frame, prev_lab, res.labels)
            flick.add(prev, frame, prev_out, out)
        if i % stride == 0 and i >= 3:
            x = _metrics.frame_pixels(frame, "oklab")
            own = _metrics.wcss(x, res.labels, 8)
            ref = _metrics.reference_wcss(x, 8, sample=20000, n_init=4)
            ratios.append(own / ref)
            drms.append(_metrics.drms(own, ref, len(x)))
        prev, prev_out, prev_lab = frame, out, res.labels
    ok = [r <= 1.02 or d <= 0.05 for r, d in zip(ratios, drms, strict=True)]
    return {
        "slc": slc.ratio,
        "flicker": flick.ratio,
        "ratio_med": float(np.median(ratios)),
        "ratio_p95": float(np.percentile(ratios, 95)),
        "drms_med": float(np.median(drms)),
        "drms_p95": float(np.percentile(drms, 95)),
        "bar_share": float(np.mean(ok)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--stride", type=int, default=5)
    parser.add_argument("--clips", nargs="*", default=list(STATIC))
    parser.add_argument("options", nargs="*", help="engine settings, e.g. hysteresis=0.3")
    args = parser.parse_args(argv)
    options = {k: float(v) if "." in v else int(v) for k, v in (o.split("=") for o in args.options)}
    head = f"{'clip':32s} {'SLC':>7s} {'flicker':>7s} {'ratio med':>9s} {'p95':>6s}"
    print(f"{head} {'dRMS med':>8s} {'p95':>6s} {'bar':>5s}  {options}")
    for name in args.clips:
        frames = load_video(media_dir() / name, args.frames)
        m = measure(frames, args.stride, **options)
        print(
            f"{Path(name).stem:32s} {100 * m['slc']:6.2f}% {m['flicker']:7.3f} "
            f"{m['ratio_med']:9.3f} {m['ratio_p95']:6.3f} {m['drms_med']:8.3f} "
            f"{m['drms_p95']:6.3f} {100 * m['bar_share']:4.0f}%"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
