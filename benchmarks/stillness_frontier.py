"""Label stability against fit error on still frames, with the centres frozen.

How far can a labelling rule cut the label flips that sensor noise causes,
and what does it cost in fit error?  The centres come from vidseg on the clip's
first frames and then stay fixed (the best case for every rule, with no centre
jitter); each rule labels the same frames, scored against exact nearest-centre
labels.  Rules: exact nearest centre; hysteresis (keep the previous label while
the colour is within a margin of the bisecting plane, as the engine does); and
nearest centre of a temporally smoothed colour (an exponential moving average
per pixel), alone and with a small margin.  It also prints how many of the exact
labels' changes fall on pixels whose colour really changed (moving content):
no rule that follows the picture can avoid those.

    python benchmarks/stillness_frontier.py                        # parking lot, frames 5-45
    python benchmarks/stillness_frontier.py o4n_traffic_topdown_static.mp4 5 150
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _clips
from _metrics import wcss

from vidseg import Segmenter
from vidseg.engine.colorspace import to_space


class Frozen:
    """Nearest-centre geometry for a fixed set of centres (OkLab)."""

    def __init__(self, centers: np.ndarray) -> None:
        self.c = centers.astype(np.float64)
        sep = np.sqrt(((self.c[:, None] - self.c[None]) ** 2).sum(-1))
        np.fill_diagonal(sep, 1.0)
        self.sep = sep

    def d2(self, x: np.ndarray) -> np.ndarray:
        return ((x[:, None, :] - self.c[None]) ** 2).sum(-1)

    def hold(self, x: np.ndarray, prev: np.ndarray, margin: float) -> np.ndarray:
        """Previous label while within ``margin`` of the bisecting plane, else the nearest."""
        d = self.d2(x)
        best = d.argmin(1)
        rows = np.arange(len(x))
        t = (d[rows, prev] - d[rows, best]) / (2 * self.sep[prev, best])
        return np.where(t <= margin, prev, best)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("clip", nargs="?", default="intel_parking_lot_static.mp4")
    p.add_argument("first", nargs="?", type=int, default=5)
    p.add_argument("last", nargs="?", type=int, default=45)
    args = p.parse_args()
    clip = _clips.real_clip(_clips.media_dir() / args.clip, args.last)
    seg = Segmenter(n_clusters=8, seed=0, hysteresis=0.0)
    for frame in clip.frames[: args.first + 1]:
        seg.segment(frame)
    geo = Frozen(seg.centers_)
    xs = [to_space(f.reshape(-1, 3), "oklab").astype(np.float64) for f in clip.frames[args.first :]]
    exact = [geo.d2(x).argmin(1) for x in xs]
    base = [wcss(x, lab, 8) for x, lab in zip(xs, exact, strict=True)]

    def report(rule: str, labels: list[np.ndarray]) -> None:
        flips = np.mean([(a != b).mean() for a, b in zip(labels[1:], labels[:-1], strict=True)])
        ratio = np.median([wcss(x, lab, 8) / b for x, lab, b in zip(xs, labels, base, strict=True)])
        print(f"{rule:36} {flips * 100:6.2f}% {ratio:8.3f}", flush=True)

    print(f"{args.clip} frames {args.first}-{args.last}, centres frozen, k=8, OkLab")
    print(f"{'rule':36} {'flips':>7} {'ratio':>8}   (ratio: fit error / exact labels')")
    report("exact nearest centre", exact)
    # A floor for any faithful labelling: pixels whose colour really changed
    # (|dB|+|dG|+|dR| far above sensor noise) and whose nearest centre changed.
    frames = [f.reshape(-1, 3).astype(np.int16) for f in clip.frames[args.first :]]
    for t in (30, 60):
        moved = [
            ((a != b) & (np.abs(f1 - f0).sum(axis=1) > t)).mean()
            for a, b, f0, f1 in zip(exact[:-1], exact[1:], frames[:-1], frames[1:], strict=True)
        ]
        print(f"{f'  of which colour moved > {t}':36} {np.mean(moved) * 100:6.2f}%")
    for margin in (0.25, 0.5, 1.0):
        labels = [exact[0]]
        for x in xs[1:]:
            labels.append(geo.hold(x, labels[-1], margin))
        report(f"hysteresis margin {margin}", labels)
    for alpha, margin in ((0.5, None), (0.3, None), (0.2, None), (0.5, 0.1), (0.5, 0.2)):
        ema, labels = xs[0].copy(), [exact[0]]
        for x in xs[1:]:
            ema = (1 - alpha) * ema + alpha * x
            if margin is None:
                labels.append(geo.d2(ema).argmin(1))
            else:
                labels.append(geo.hold(ema, labels[-1], margin))
        tag = f"smoothed colour a={alpha}" + (f" + margin {margin}" if margin else "")
        report(tag, labels)
    return 0


if __name__ == "__main__":
    sys.exit(main())
