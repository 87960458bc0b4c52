"""Long recordings split into files of a set length, each finished when it closes.

:class:`SegmentedVideoSink` writes a run into consecutive video files named by
the UTC time their first frame was written, ``<stem>-YYYYmmddTHHMMSSZ<suffix>``
(``cam.mp4`` -> ``cam-20261202T101500Z.mp4``): names sort in time order, a
rerun never collides with an earlier recording, and an operator can find the
hour they want.  Each file is a :class:`~vidseg.io.video_sink.VideoFileSink`,
so it is crash-safe while open (fragmented MP4 partial) and finalised under its
name (faststart MP4) when the next one starts; a days-long run never builds one
huge file, and a crash costs at most the open file's last fragment.

>>> segment_name(Path("rec/cam.mp4"), datetime(2026, 12, 2, 10, 15, tzinfo=timezone.utc))
PosixPath('rec/cam-20261202T101500Z.mp4')
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, cast

from ..errors import SinkError
from ..frames import Frame, FrameResult, StreamInfo
from ._partial import partial_path
from .heap import trim_heap
from .remux import recover_leftover
from .video_sink import VideoFileSink

__all__ = ["SegmentedVideoSink", "segment_name"]

logger = logging.getLogger(__name__)


def segment_name(path: Path, start: datetime) -> Path:
    """The file of the segment that starts at ``start`` (UTC): ``<stem>-<time>Z<suffix>``."""
    stamp = start.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return path.with_name(f"{path.stem}-{stamp}{path.suffix}")


class _Rebased:
    """A result whose frame is timed from its segment's start (everything else shared).

    Sharing keeps the view the other sinks may already have rendered.
    """

    def __init__(self, result: FrameResult, frame: Frame) -> None:
        self._result = result
        self.frame = frame

    def __getattr__(self, name: str) -> Any:
        return getattr(self._result, name)


class SegmentedVideoSink:
    """Write a run to consecutive video files of ``segment_time`` seconds each.

    A new file starts with the first frame whose time (``Frame.time_s``; for
    live sources the arrival time, gaps included) is ``segment_time`` or more
    after the current file's first frame, and when a live source's frame size
    changes.  Each file is timed from its own first frame.  The file that ends
    is finalised in a background thread (owned here and joined before the next
    one ends and by :meth:`close` / :meth:`abort`), so a live run keeps taking
    frames meanwhile.  :meth:`close` finalises the open file too; :meth:`abort`
    keeps it as its partial file, playable.

    Parameters
    ----------
    path : str or Path
        Names the files: ``cam.mp4`` gives ``cam-<UTC start>.mp4``; a name already
        taken (by a file or a partial file) gets ``-2``, ``-3`` ... appended.
    segment_time : float
        Seconds of input per file.
    **options
        Passed to each :class:`~vidseg.io.video_sink.VideoFileSink` (codec, crf ...).

    Attributes
    ----------
    outputs : list of Path
        Files finished so far (in order).

    Raises
    ------
    SinkError, EncoderNotFoundError
        As :class:`~vidseg.io.video_sink.VideoFileSink`, checked in the constructor.

    Examples
    --------
    >>> sink = SegmentedVideoSink("cam.mp4", segment_time=600)  # doctest: +SKIP
    """

    def __init__(self, path: str | Path, *, segment_time: float, **options: Any) -> None:
        if not segment_time > 0:
            raise ValueError(f"segment_time must be > 0 seconds, got {segment_time!r}")
        self.path = Path(path)
        self.segment_time = segment_time
        self._options = options
        # Checks directory, container and encoder now, before any work (creates nothing).
        self._new_sink(datetime.now(timezone.utc))
        self._info: StreamInfo | None = None
        self._current: VideoFileSink | None = None
        self._start_time = 0.0
        self._start_pts: int | None = None
        self._finisher: threading.Thread | None = None
        self._finish_errors: list[BaseException] = []
        self._written_before = 0
        self._closed = False
        self.outputs: list[Path] = []

    def __repr__(self) -> str:
        return f"<SegmentedVideoSink {str(self.path)!r} every {self.segment_time:g} s>"

    @property
    def frames_written(self) -> int:
        """Frames written to all files so far."""
        current = self._current.frames_written if self._current is not None else 0
        return self._written_before + current

    def open(self, info: StreamInfo) -> None:
        """Start a run; the first file is created with the first frame.

        Partial files of segments an earlier run left (``<stem>-*.partial<suffix>``)
        are recovered first (:func:`~vidseg.io.remux.recover_leftover`).
        """
        if self._closed or self._info is not None:
            raise SinkError(f"segmented video sink {str(self.path)!r} cannot be opened again")
        self._info = info
        # Segments of an earlier run that was killed: finish them under free names.
        stem, suffix = self.path.stem, self.path.suffix
        for leftover in sorted(self.path.parent.glob(f"{stem}-*.partial{suffix}")):
            recover_leftover(leftover, leftover.with_name(leftover.name.replace(".partial", "")))

    def reopen(self, info: StreamInfo) -> None:
        """The frame size changed: finish the current file; the next frame starts one."""
        self._info = info
        self._end_segment()

    def write(self, result: FrameResult) -> None:
        """Write ``result`` to the current file, first starting a new one when it is due."""
        if self._info is None or self._closed:
            raise SinkError(f"segmented video sink {str(self.path)!r} is not open")
        frame = result.frame
        if self._finisher is not None and not self._finisher.is_alive():
            self._join()
        if self._current is not None and frame.time_s - self._start_time >= self.segment_time:
            self._end_segment()
        if self._current is None:
            self._current = self._new_sink(datetime.now(timezone.utc))
            self._current.open(self._info)
            self._start_time, self._start_pts = frame.time_s, frame.pts
        pts = frame.pts
        if pts is not None and self._start_pts is not None:
            pts -= self._start_pts
        rebased = dataclasses.replace(frame, time_s=frame.time_s - self._start_time, pts=pts)
        self._current.write(cast(FrameResult, _Rebased(result, rebased)))

    def close(self) -> None:
        """Finalise the open file and wait for every file to be finished.

        Raises
        ------
        SinkError
            A file could not be finalised (its partial file is kept and named).
        """
        if self._closed:
            return
        self._closed = True
        self._end_segment()
        self._join()
        if self._finish_errors:
            raise SinkError(str(self._finish_errors[0]))

    def abort(self) -> None:
        """Stop after an error: finished files stay; the open one is kept as its partial."""
        if self._closed:
            return
        self._closed = True
        self._join()
        current, self._current = self._current, None
        if current is not None:
            current.abort()

    # -- internals -------------------------------------------------------------

    def _new_sink(self, start: datetime) -> VideoFileSink:
        base = segment_name(self.path, start)
        name, n = base, 1
        while name.exists() or partial_path(name).exists():
            n += 1
            name = base.with_name(f"{base.stem}-{n}{base.suffix}")
        return VideoFileSink(name, **self._options)

    def _end_segment(self) -> None:
        """Hand the open file to a background thread that finalises it."""
        current, self._current = self._current, None
        if current is None:
            return
        self._join()
        self._written_before += current.frames_written
        self._finisher = threading.Thread(
            target=self._finish, args=(current,), name="vidseg-segment", daemon=True
        )
        self._finisher.start()

    def _finish(self, sink: VideoFileSink) -> None:
        try:
            sink.close()
        except BaseException as exc:  # reported by close()
            logger.error("%s", exc)
            self._finish_errors.append(exc)
            return
        if sink.frames_written:
            self.outputs.append(sink.path)
            logger.info("segment %r finished (%d frames)", str(sink.path), sink.frames_written)

    def _join(self) -> None:
        if self._finisher is not None:
            self._finisher.join()
            self._finisher = None
            # The finished file's encoder, muxer and remux freed tens of MiB that glibc
            # would keep; trimmed once the thread is gone (its exit frees some too).
            trim_heap()
