"""Playing a recorded source in real time, as a live stream (for the web view).

A file decodes as fast as the machine allows; a viewer wants it at its own
frame rate.  :class:`PacedSource` releases each frame of another source when
its timestamp comes due on the wall clock, marks the stream ``live`` (so the
runner keeps only the newest frame and measures latency, as for a camera) and
can start the input over at its end.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator

from ...frames import Frame
from ._base import FrameSource, SourceBase

__all__ = ["PacedSource"]

# Fell this far behind the clock (a slow decode, a paused run): start the clock
# again from here rather than rushing through the late frames.
_REANCHOR_S = 0.25


class PacedSource(SourceBase):
    """Another source played at its own frame rate, optionally in a loop.

    Parameters
    ----------
    opener : callable
        Returns a new source each time it is called: once now, and once more
        for every further pass when ``loop`` is set.
    loop : bool
        Start again at the end of the input (indices and times keep counting).
    clock : callable
        The wall clock in seconds (:func:`time.monotonic`); frames are stamped
        with it.
    wait : callable, optional
        Blocks for the given seconds and returns True if the source was closed
        meanwhile.  By default it waits on the source's own wake-up event, so
        :meth:`close` interrupts it.  A test passes a clock and a wait that
        only move a counter, to check the schedule without real time.

    Examples
    --------
    >>> import numpy as np
    >>> from vidseg.io.sources import ArraySource
    >>> clip = [np.zeros((4, 6, 3), np.uint8)] * 2
    >>> src = PacedSource(lambda: ArraySource(clip, fps=50), loop=True)
    >>> [f.index for f, _ in zip(src, range(5))], src.info.live
    ([0, 1, 2, 3, 4], True)
    >>> src.close()
    """

    def __init__(
        self,
        opener: Callable[[], FrameSource],
        *,
        loop: bool = False,
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        super().__init__()
        self._opener = opener
        self._loop = loop
        self._current = opener()
        self._wake = threading.Event()
        self._clock = clock
        self._wait = self._wake.wait if wait is None else wait
        info = self._current.info
        self.info = dataclasses.replace(
            info,
            live=True,
            audio=None,
            frame_count=None if loop else info.frame_count,
            time_base=None,
        )

    def _frames(self) -> Iterator[Frame]:
        period = 1.0 / self.info.fps if self.info.fps > 0 else 0.04
        index, offset = 0, 0.0
        anchor: float | None = None  # wall time of stream time 0
        while True:
            first: float | None = None  # a pass's first timestamp (files may not start at 0)
            last = 0.0
            for frame in self._current:
                first = frame.time_s if first is None else first
                last = frame.time_s - first
                due = offset + last
                now = self._clock()
                if anchor is None or now - (anchor + due) > _REANCHOR_S:
                    anchor = now - due
                if self._wait(max(anchor + due - now, 0.0)):
                    return
                yield Frame(image=frame.image, index=index, time_s=due, captured_at=self._clock())
                index += 1
            if not self._loop or self._closed or first is None:
                return
            offset += last + period
            self._current = self._opener()

    def _interrupt(self) -> None:
        self._wake.set()

    def _release(self) -> None:
        self._current.close()
