"""A time span of a video file: frames ``[first, end)`` decoded from a keyframe.

One chunk of ``vidseg convert --chunks`` reads its frames through this source.
PyAV's ``seek(..., backward=True)`` lands on the keyframe at or before the time
asked; the frames decoded from there are dropped until the span starts.  Two
ways to know where a decoded frame is:

* by timestamp (``pts_range``), for containers whose presentation timestamps
  are right (MP4, Matroska): frame-exact however the GOPs are built;
* by counting frames in decode order from the keyframe (``pts_range=None``),
  for AVI, whose decoded timestamps come out of order: exact for closed GOPs
  (one frame per packet, none shown before the keyframe), which is what
  encoders write by default.

Frames keep the input's timestamps (as :class:`VideoFileSource` gives them for
the whole file) and their index in the whole file.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...errors import SourceReadError
from ...frames import Frame
from .file import VideoFileSource

__all__ = ["SpanSource"]

logger = logging.getLogger(__name__)


class SpanSource(VideoFileSource):
    """Frames ``first`` to ``end - 1`` of the video file ``path``, by their index in the file.

    Parameters
    ----------
    path : str or Path
        A seekable video file.
    first, end : int
        The span, as 0-based frame indices of the whole file (presentation order).
    key_index : int
        Index of the keyframe the decode starts from (at or before ``first``).
    key_ts : int
        That keyframe's timestamp (its packet's PTS, else DTS) in the stream's time base.
    pts_range : (int, int or None), optional
        PTS of frame ``first`` and of frame ``end`` (None: the end of the file);
        None counts frames in decode order instead.
    threads : int
        Decoder threads (0: FFmpeg's own choice).

    Raises
    ------
    SourceOpenError
        As :class:`VideoFileSource`.
    SourceReadError
        The seek did not land on the keyframe asked for (the input is not
        seekable frame-exactly), or the span ended before ``end``.

    Examples
    --------
    >>> with SpanSource("clip.mp4", first=250, end=300, key_index=250,
    ...                 key_ts=125000, pts_range=(125000, 150000)) as src:  # doctest: +SKIP
    ...     [f.index for f in src][:3]
    [250, 251, 252]
    """

    def __init__(
        self,
        path: str | Path,
        *,
        first: int,
        end: int,
        key_index: int,
        key_ts: int,
        pts_range: tuple[int, int | None] | None = None,
        threads: int = 0,
    ) -> None:
        if not 0 <= key_index <= first < end:
            raise ValueError(f"need 0 <= key_index <= first < end; got {key_index}, {first}, {end}")
        self._first, self._end = first, end
        self._key_index, self._key_ts = key_index, key_ts
        self._pts_range = pts_range
        super().__init__(path, audio=False, threads=threads)
        self.info = dataclasses.replace(self.info, frame_count=end - first)

    def _video_frames(self) -> Iterator[Any]:
        """The file's frames from the keyframe on (checked: the seek landed on it)."""
        self._seek()
        first = next(self._container.demux(self._video), None)
        landed = None if first is None else (first.pts if first.pts is not None else first.dts)
        if first is None or not first.is_keyframe or landed != self._key_ts:
            raise SourceReadError(
                f"{self.info.name!r}: seeking to timestamp {self._key_ts} landed on "
                f"{landed!r}, not on that keyframe; the input cannot be split frame-exactly "
                "(convert it without --chunks, or remux it to MP4 first)"
            )
        self._seek()  # back to the keyframe: the packet just read is decoded again
        yield from super()._video_frames()

    def _seek(self) -> None:
        self._container.seek(self._key_ts, stream=self._video, backward=True, any_frame=False)

    def _frames(self) -> Iterator[Frame]:
        first, end, kept = self._first, self._end, 0
        lo, hi = self._pts_range if self._pts_range is not None else (0, None)
        for position, frame in enumerate(itertools.chain([self._held], self._decoder)):
            if self._pts_range is not None:
                assert frame.pts is not None  # set by the timestamper
                if frame.pts < lo:
                    continue
                if hi is not None and frame.pts >= hi:
                    break
            else:
                at = self._key_index + position
                if at < first:
                    continue
                if at >= end:
                    break
            frame.index = first + kept
            kept += 1
            yield frame
            if kept == end - first:
                break
        if kept < end - first:
            raise SourceReadError(
                f"{self.info.name!r}: frames {first}-{end - 1} expected, only {kept} decoded "
                "from there; the input is truncated or corrupt"
            ) from self._read_error
