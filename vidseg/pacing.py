"""Live pacing: when the runner takes the next frame from a live source.

A live frame segmented while the writer is still busy waits behind another
frame's encode and reaches the output old.  Two policies:

``latency``     one frame in flight: the next frame is taken when the last one
                is written, so it is the newest capture and never waits
                (latency about one segmentation plus one encode; segmenting and
                encoding do not overlap, so a source faster than that is
                thinned to 1 / (segment + encode) frames per second);
``throughput``  segmenting overlaps writing, timed so a frame's segmentation
                ends about when the writer frees up (both durations learnt as
                it goes): more frames per second, about one encode more latency.
"""

from __future__ import annotations

import threading
import time

__all__ = ["PACINGS", "LivePacer"]

PACINGS = ("latency", "throughput")

_SMOOTH = 0.1  # weight of the newest duration in the running means


class LivePacer:
    """Hands out turns to segment; the writer reports when each result is written.

    With ``overlap`` at most two results are in flight (one being written, one
    being segmented), without it one.
    """

    def __init__(self, overlap: bool = False) -> None:
        self._overlap = overlap
        self._cond = threading.Condition()
        self._pending = 0  # results handed on and not yet written
        self._write_started: float | None = None
        self._write_s = 0.0
        self._segment_s = 0.0

    def wait_turn(self, timeout: float) -> bool:
        """Block until a new frame should be taken; False after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                now = time.monotonic()
                if self._pending == 0:
                    return True
                if self._pending == 1 and self._overlap:
                    started = self._write_started if self._write_started is not None else now
                    ready_at = started + self._write_s - self._segment_s
                    if now >= ready_at:
                        return True
                    wake = min(ready_at, deadline)
                else:
                    wake = deadline
                if now >= deadline:
                    return False
                self._cond.wait(wake - now)

    def segmented(self, seconds: float) -> None:
        """The caller segmented a frame in ``seconds`` and hands the result on."""
        with self._cond:
            self._segment_s = _mean(self._segment_s, seconds)
            self._pending += 1

    def writing(self) -> None:
        """The writer starts on the oldest pending result."""
        with self._cond:
            self._write_started = time.monotonic()
            self._cond.notify_all()  # a waiting turn can now be timed from the start

    def written(self) -> None:
        """The writer finished that result."""
        with self._cond:
            if self._write_started is not None:
                took = time.monotonic() - self._write_started
                self._write_s = _mean(self._write_s, took)
            self._write_started = None
            self._pending -= 1
            self._cond.notify_all()


def _mean(mean: float, value: float) -> float:
    """Running mean with exponential forgetting; the first value sets it."""
    return value if mean == 0.0 else mean + _SMOOTH * (value - mean)
