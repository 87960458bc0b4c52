"""A source that plays another one over and over (``vidseg preview --loop``)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator

from ...errors import SourceOpenError
from ...frames import Frame
from ._base import FrameSource, SourceBase

__all__ = ["LoopSource"]

logger = logging.getLogger(__name__)


class LoopSource(SourceBase):
    """Reopens a finite source at its end, with indices and timestamps continuing.

    Each pass comes from ``opener()``; frames of pass ``n`` are shifted by the
    length of the passes before (last timestamp plus one frame interval), so
    the timestamps keep increasing and a player paced by them never jumps back.

    Parameters
    ----------
    opener : callable
        Returns a new, open source of the same input (e.g. ``lambda:
        VideoFileSource(path)``); called once at construction and at each end.

    Raises
    ------
    SourceOpenError
        From ``opener``; or a live source (it has no end to loop at).

    Examples
    --------
    >>> import numpy as np
    >>> from vidseg.io.sources import ArraySource
    >>> src = LoopSource(lambda: ArraySource([np.zeros((4, 4, 3), np.uint8)] * 2, fps=10))
    >>> [(f.index, round(f.time_s, 3)) for f, _ in zip(src, range(5))]
    [(0, 0.0), (1, 0.1), (2, 0.2), (3, 0.3), (4, 0.4)]
    >>> src.close()
    """

    def __init__(self, opener: Callable[[], FrameSource]) -> None:
        super().__init__()
        self._opener = opener
        self._current = opener()
        if self._current.info.live:
            self._current.close()
            raise SourceOpenError(f"{self._current.info.name!r} is live; only files can loop")
        self.info = dataclasses.replace(self._current.info, frame_count=None)
        self.passes = 0

    def _frames(self) -> Iterator[Frame]:
        index, shift_s, shift_pts = 0, 0.0, 0
        step_s = 1.0 / self.info.fps if self.info.fps > 0 else 0.04
        tb = self.info.time_base
        while True:
            last: Frame | None = None
            for frame in self._current:
                last = dataclasses.replace(
                    frame,
                    index=index,
                    time_s=frame.time_s + shift_s,
                    pts=None if frame.pts is None else frame.pts + shift_pts,
                )
                index += 1
                yield last
            if last is None:  # a pass without frames would loop forever
                return
            self.passes += 1
            shift_s = last.time_s + step_s
            shift_pts = round(shift_s / tb) if tb else 0
            logger.debug("%r: pass %d ended; looping", self.info.name, self.passes)
            self._current.close()
            self._current = self._opener()

    def _release(self) -> None:
        self._current.close()
