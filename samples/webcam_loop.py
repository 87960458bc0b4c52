"""A webcam loop: segment live frames and show them in a window.

Usage: python samples/webcam_loop.py [SOURCE] [--k 8] [--frames N] [--headless]
SOURCE is a camera index (default 0), a stream URL, a file, or "demo" for the
built-in clip.  Keys in the window: q quits, +/- change k, r re-seeds.
--headless skips the window (for machines without a display).
"""

import argparse
import time

import cv2

from vidseg import Segmenter
from vidseg.io.sources import open_source

parser = argparse.ArgumentParser()
parser.add_argument("source", nargs="?", default="0")
parser.add_argument("--k", type=int, default=8)
parser.add_argument("--frames", type=int, default=None)
parser.add_argument("--headless", action="store_true")
args = parser.parse_args()

k = args.k
segmenter = Segmenter(n_clusters=k, seed=0)
last = time.monotonic()
with open_source(args.source) as source:
    for frame in source:
        result = segmenter.segment(frame.image)
        now = time.monotonic()
        fps, last = 1.0 / max(now - last, 1e-6), now
        view = result.recolor()
        cv2.putText(
            view,
            f"{fps:4.1f} fps  k={k}",
            (10, 24),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.7,
            (255, 255, 255),
            2,
        )
        if args.headless:
            print(
                f"frame {frame.index}: {fps:.1f} fps, areas "
                + " ".join(f"{a:.2f}" for a in result.areas)
            )
        else:
            cv2.imshow("vidseg", view)
            key = cv2.waitKey(1) & 0xFF
            if key == ord("q"):
                break
            if key in (ord("+"), ord("-")):
                k = min(64, k + 1) if key == ord("+") else max(2, k - 1)
                segmenter = Segmenter(n_clusters=k, seed=0)  # a new palette for the new k
            if key == ord("r"):
                segmenter.reset()
        if args.frames is not None and frame.index + 1 >= args.frames:
            break
cv2.destroyAllWindows()
