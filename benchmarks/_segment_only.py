"""A whole-process segment-only run: decode + segment + statistics CSV, no encoder.

The stand-in for ``vidseg analyze`` until it lands (the same work minus zones and
events): ``python benchmarks/_segment_only.py FILE STATS.csv [--label-threads N]``.
Prints nothing; exits 0 when every frame was written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("input", type=Path)
    parser.add_argument("stats", type=Path)
    parser.add_argument("--label-threads", type=int, default=2)
    args = parser.parse_args()
    # Imported after parsing, as the CLI does.
    import cv2

    from vidseg.engine import Segmenter
    from vidseg.io.data_sinks import stats_sink
    from vidseg.io.sources import open_source
    from vidseg.pipeline import run

    cv2.setNumThreads(1)
    source = open_source(str(args.input), audio=False)
    with Segmenter(8, seed=0, label_threads=args.label_threads) as segmenter:
        summary = run(source, segmenter, [stats_sink(args.stats, overwrite=True)])
    return 0 if summary.frames_out > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
