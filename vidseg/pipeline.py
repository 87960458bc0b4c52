"""The runner: the only module that knows the stage order.

:func:`run` reads frames from a source, segments them, renders the view,
collects statistics and hands every :class:`~vidseg.frames.FrameResult` to
each sink.  Decode, segmentation and encode overlap in three threads:

``vidseg-read``   iterates the source into the input queue;
the caller        segments and renders (the caller's thread, so signal handlers
                  and ``KeyboardInterrupt`` reach it);
``vidseg-write``  writes results to the sinks, in order.

Both queues are bounded.  For files the input queue blocks, so no frame is ever
dropped and order is kept; for live sources both queues hold one item, the
input keeps only the newest frame, counting the ones it replaced, and a
:class:`~vidseg.pacing.LivePacer` decides when the next one is taken, so
latency stays bounded (one segmentation plus one encode by default) when
processing falls behind.  A worker's exception is re-raised in the caller; on any error or stop
the sinks are aborted (partial outputs kept and named), on success closed.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from .engine import Segmenter
from .errors import SourceReadError
from .frames import Frame, FrameResult, StreamInfo
from .io.sources import FrameSource
from .pacing import PACINGS, LivePacer
from .render import VIEWS
from .stats import ClusterStats

__all__ = ["RunSummary", "Sink", "run"]

log = logging.getLogger(__name__)

_POLL = 0.1  # seconds between checks of the stop flag while waiting on a queue


class Sink(Protocol):
    """What :func:`run` writes to (video files, stats tables, windows, servers).

    Optional: ``reopen(info)``, called between two frames when a live source's
    frame size changed (``info`` has the new size); sinks without it go on.
    """

    def open(self, info: StreamInfo) -> None: ...

    def write(self, result: FrameResult) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


@dataclass
class RunSummary:
    """What a run did.

    Attributes
    ----------
    frames_in : int
        Frames the source delivered.
    frames_out : int
        Frames segmented and written to every sink.
    dropped : int
        Live frames dropped because processing fell behind (always 0 for files).
    elapsed_s : float
        Wall time of the run.
    scene_cuts : int
        Frames on which the palette was re-seeded after the first.
    mean_inertia : float
        Mean fit error over the frames segmented (clustering-space units squared).
    latency_ms : dict
        Live sources: capture-to-written latency, ``p50``, ``p95``, ``max`` and
        ``first_half`` / ``second_half`` means (equal halves mean it is not
        growing).  Empty for files, which are read ahead on purpose.
    stopped_by : int or None
        The signal number that stopped the run, if any.
    """

    frames_in: int = 0
    frames_out: int = 0
    dropped: int = 0
    elapsed_s: float = 0.0
    scene_cuts: int = 0
    mean_inertia: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    stopped_by: int | None = None

    @property
    def fps(self) -> float:
        """Frames written per second of wall time."""
        return self.frames_out / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def describe(self) -> str:
        """One human-readable line."""
        text = (
            f"{self.frames_out} frames written of {self.frames_in} read in "
            f"{self.elapsed_s:.1f} s ({self.fps:.1f} fps), {self.dropped} dropped, "
            f"{self.scene_cuts} scene cuts, mean fit error {self.mean_inertia:.2f}"
        )
        if self.latency_ms:
            text += (
                f", latency p50 {self.latency_ms['p50']:.0f} ms p95 {self.latency_ms['p95']:.0f} ms"
            )
        return text


class _Stop(Exception):
    """Internal: the run was asked to stop."""


class _LatestQueue:
    """Bounded queue for live sources: a put on a full queue drops the oldest item."""

    def __init__(self, maxsize: int) -> None:
        self._items: collections.deque[Any] = collections.deque()
        self._maxsize = maxsize
        self._cond = threading.Condition()
        self.dropped = 0

    def put(self, item: Any, stop: threading.Event) -> None:
        with self._cond:
            # Control items (end of stream, errors) never drop a frame and are never dropped.
            while (
                isinstance(item, Frame)
                and len(self._items) >= self._maxsize
                and isinstance(self._items[0], Frame)
            ):
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self._cond.notify()

    def get(self, timeout: float) -> Any:
        with self._cond:
            if not self._items:
                self._cond.wait(timeout)
            if not self._items:
                raise queue.Empty
            return self._items.popleft()


class _BlockingQueue:
    """Bounded lossless queue: a put waits for room (checking the stop flag)."""

    dropped = 0

    def __init__(self, maxsize: int) -> None:
        self._q: queue.Queue[Any] = queue.Queue(maxsize)

    def put(self, item: Any, stop: threading.Event) -> None:
        while True:
            if stop.is_set():
                raise _Stop
            try:
                self._q.put(item, timeout=_POLL)
                return
            except queue.Full:
                continue

    def get(self, timeout: float) -> Any:
        return self._q.get(timeout=timeout)


_END = object()


@dataclass
class _Failure:
    error: BaseException


@dataclass
class _Reopen:
    """Writer instruction: the frame size changed; reopen the sinks for ``info``."""

    info: StreamInfo


def run(
    source: FrameSource,
    segmenter: Segmenter,
    sinks: Sequence[Sink],
    *,
    view: str = "recolor",
    overlay_alpha: float = 0.5,
    max_frames: int | None = None,
    queue_size: int = 8,
    live_pacing: str = "latency",
    stop: threading.Event | None = None,
    on_frame: Callable[[FrameResult, RunSummary], None] | None = None,
) -> RunSummary:
    """Segment every frame of ``source`` and write the results to ``sinks``.

    Parameters
    ----------
    source : FrameSource
        Where frames come from; closed when the run ends.
    segmenter : Segmenter
        The engine (its palette carries over between calls).
    sinks : sequence of Sink
        Opened with ``source.info`` first; closed on success, aborted otherwise.
    view : str
        What video sinks show (see :mod:`vidseg.render`).
    overlay_alpha : float
        Colour weight of the ``overlay`` view.
    max_frames : int, optional
        Stop after this many frames.
    queue_size : int
        Frames buffered between stages for files (live sources keep one).
    live_pacing : str
        ``"latency"`` or ``"throughput"``: when a live source's next frame is
        taken (see :mod:`vidseg.pacing`); ignored for files.
    stop : threading.Event, optional
        Set it (e.g. from a signal handler) to stop cleanly; ``RunSummary.stopped_by``
        is then whatever the caller stored, the sinks are aborted.
    on_frame : callable, optional
        Called in the segmenting thread with each result and the running summary
        (progress bars, status lines).

    Returns
    -------
    RunSummary

    Raises
    ------
    SourceReadError
        After the sinks were closed, when the input ended early on corrupt data
        (everything decodable was processed and written).
    Exception
        Any error of a stage, re-raised here after the sinks were aborted.
    """
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}; got {view!r}")
    if live_pacing not in PACINGS:
        raise ValueError(f"live_pacing must be one of {', '.join(PACINGS)}; got {live_pacing!r}")
    stop = stop if stop is not None else threading.Event()
    info = source.info
    live = info.live
    stream = info  # the current frame size, for live sources that change it
    inbox: _LatestQueue | _BlockingQueue = _LatestQueue(1) if live else _BlockingQueue(queue_size)
    outbox = _BlockingQueue(1 if live else queue_size)
    pacer = LivePacer(overlap=live_pacing == "throughput") if live else None
    summary = RunSummary()
    latencies: list[float] = []
    inertia_sum = 0.0
    segmented = 0
    failures: list[BaseException] = []
    start = time.monotonic()

    def read() -> None:
        try:
            for frame in source:
                if stop.is_set():
                    break
                inbox.put(frame, stop)
                summary.frames_in += 1
                if max_frames is not None and summary.frames_in >= max_frames:
                    break
            inbox.put(_END, stop)
        except _Stop:
            pass
        except BaseException as exc:  # re-raised in the caller
            inbox.put(_Failure(exc), stop)

    def write() -> None:
        try:
            while True:
                try:
                    item = outbox.get(timeout=_POLL)
                except queue.Empty:
                    if stop.is_set():
                        return
                    continue
                if item is _END:
                    return
                if isinstance(item, _Reopen):
                    for sink in sinks:
                        reopen = getattr(sink, "reopen", None)
                        if reopen is not None:
                            reopen(item.info)
                    continue
                if pacer is not None:
                    pacer.writing()
                for sink in sinks:
                    sink.write(item)
                if live:
                    latencies.append(time.monotonic() - item.frame.captured_at)
                summary.frames_out += 1
                if pacer is not None:
                    pacer.written()
        except BaseException as exc:
            failures.append(exc)
            stop.set()

    for sink in sinks:
        sink.open(info)
    reader = threading.Thread(target=read, name="vidseg-read", daemon=True)
    writer = threading.Thread(target=write, name="vidseg-write", daemon=True)
    source_error: SourceReadError | None = None
    ok = False
    try:
        reader.start()
        writer.start()
        while True:
            if stop.is_set():
                raise _Stop
            if pacer is not None and not pacer.wait_turn(_POLL):
                continue
            try:
                item = inbox.get(timeout=_POLL)
            except queue.Empty:
                continue
            if item is _END:
                break
            if isinstance(item, _Failure):
                if isinstance(item.error, SourceReadError) and summary.frames_in > 0:
                    source_error = item.error
                    break
                raise item.error
            size = (item.image.shape[1], item.image.shape[0])
            if live and size != (stream.width, stream.height):
                # A reconnected camera or stream came back at another size; before
                # the first frame the sinks have no size yet, so nothing to reopen.
                stream = dataclasses.replace(stream, width=size[0], height=size[1])
                if segmented:
                    outbox.put(_Reopen(stream), stop)
            t_seg = time.monotonic()
            seg = segmenter.segment(item.image)
            stats = ClusterStats.from_segmentation(seg, frame_index=item.index, time_s=item.time_s)
            # The view is rendered lazily, by the sinks, in the writer thread.
            result = FrameResult(
                frame=item,
                segmentation=seg,
                stats=stats,
                view_name=view,
                overlay_alpha=overlay_alpha,
            )
            if seg.scene_cut and seg.frame_index > 0:
                summary.scene_cuts += 1
            inertia_sum += seg.inertia
            segmented += 1
            summary.dropped = inbox.dropped
            if pacer is not None:
                pacer.segmented(time.monotonic() - t_seg)
            outbox.put(result, stop)
            if on_frame is not None:
                on_frame(result, summary)
        outbox.put(_END, stop)
        writer.join()
        if failures:
            raise failures[0]
        ok = True
    except _Stop:
        if failures:
            raise failures[0] from None
    finally:
        stop.set()
        source.close()
        writer.join(timeout=30)
        reader.join(timeout=5)
        summary.elapsed_s = time.monotonic() - start
        summary.dropped = inbox.dropped
        summary.mean_inertia = inertia_sum / segmented if segmented else 0.0
        summary.latency_ms = _latency(latencies)
        _finish_sinks(sinks, ok)
    if source_error is not None:
        raise source_error
    return summary


def _finish_sinks(sinks: Sequence[Sink], ok: bool) -> None:
    """Close every sink on success, abort them otherwise; the first close error wins."""
    error: BaseException | None = None
    for sink in sinks:
        try:
            if ok:
                sink.close()
            else:
                sink.abort()
        except BaseException as exc:
            log.error("finishing %r failed: %s", sink, exc)
            error = error or exc
    if error is not None and ok:
        raise error


def _latency(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ms = np.asarray(values) * 1000.0
    half = max(len(ms) // 2, 1)
    return {
        "p50": float(np.percentile(ms, 50)),
        "p95": float(np.percentile(ms, 95)),
        "max": float(ms.max()),
        "first_half": float(ms[:half].mean()),
        "second_half": float(ms[half:].mean()) if len(ms) > 1 else float(ms[0]),
    }
