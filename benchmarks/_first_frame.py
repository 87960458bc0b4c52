"""Run ``vidseg ARGS`` in this process and report launch-to-first-frame-segmented.

``python benchmarks/_first_frame.py convert IN OUT --max-frames 1`` runs the CLI
exactly as ``python -m vidseg`` would, and prints to stderr one line
``first-frame-s <seconds since this process started>`` when the first
``Segmenter.segment()`` call returns (process start from ``/proc/self/stat``,
so the interpreter's own start-up counts too).
"""

from __future__ import annotations

import os
import sys
import time


def _since_process_start() -> float:
    with open("/proc/self/stat") as f:
        start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")


def main() -> int:
    offset = _since_process_start() - time.perf_counter()
    from vidseg import cli
    from vidseg.engine import segmenter

    original = segmenter.Segmenter.segment
    reported: list[bool] = []

    def timed(self: segmenter.Segmenter, frame: object) -> object:
        result = original(self, frame)  # type: ignore[arg-type]
        if not reported:
            reported.append(True)
            print(f"first-frame-s {time.perf_counter() + offset:.3f}", file=sys.stderr)
        return result

    segmenter.Segmenter.segment = timed  # type: ignore[method-assign]
    return cli.main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
