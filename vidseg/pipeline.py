"""The runner: the only module that knows the stage order.

:func:`run` reads frames from a source, segments them, renders the view,
collects statistics and hands every :class:`~vidseg.frames.FrameResult` to
each sink.  Decode, segmentation and encode overlap in three threads:

``vidseg-read``   iterates the source into the input queue;
the caller        applies live controls and segments (the caller's thread, so
                  signal handlers and ``KeyboardInterrupt`` reach it);
``vidseg-write``  measures results and writes them to the sinks, in order
                  (views are rendered there, on first use).

A :class:`~vidseg.control.RunControl` steers a run (k, view, pause, re-seed,
stop): its requests are queued and applied between two frames by the
segmenting thread, the only one that touches the segmenter.

Both queues are bounded.  For files the input queue blocks, so no frame is ever
dropped and order is kept; for live sources both queues hold one item, the
input keeps only the newest frame, counting the ones it replaced, and a
:class:`~vidseg.pacing.LivePacer` decides when the next one is taken, so
latency stays bounded (one segmentation plus one encode by default) when
processing falls behind.  A worker's exception is re-raised in the caller; on any error or stop
the sinks are aborted (partial outputs kept and named), on success closed.  A
live run has no end of its own: stopping it closes the sinks, as at the end of
a file.  A live run may last days, so it has large blocks mapped on their own
(:func:`~vidseg.io.heap.map_large_blocks`, process-wide): its memory stays flat
for about 16% more CPU per frame.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections.abc import Callable, Sequence

from .control import RunControl
from .engine import Segmenter
from .errors import SourceReadError
from .frames import Frame, FrameResult
from .io.heap import map_large_blocks
from .io.sources import FrameSource
from .osthreads import os_named
from .pacing import PACINGS, LivePacer
from .queues import END, POLL, BlockingQueue, Failure, LatestQueue, Reopen, Stop
from .render import VIEWS
from .sink import Sink, finish_sinks
from .stats import ClusterStats
from .summary import LatencyLog, RunSummary, latency_figures

__all__ = ["RunSummary", "Sink", "run"]


_IDLE_POLL = 0.02  # the writer's poll when a sink (a window) needs turns between frames


def run(
    source: FrameSource,
    segmenter: Segmenter,
    sinks: Sequence[Sink],
    *,
    view: str = "recolor",
    overlay_alpha: float = 0.5,
    max_frames: int | None = None,
    duration: float | None = None,
    queue_size: int = 8,
    live_pacing: str = "latency",
    stop: threading.Event | None = None,
    on_frame: Callable[[FrameResult, RunSummary], None] | None = None,
    control: RunControl | None = None,
    measure: Callable[[FrameResult], None] | None = None,
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
        Stop after writing this many frames (live frames dropped do not count).
    duration : float, optional
        Stop before the first frame this many seconds of input time after the
        first one (a live source's time is arrival time).
    queue_size : int
        Frames buffered between stages for files (live sources keep one).
    live_pacing : str
        ``"latency"`` or ``"throughput"``: when a live source's next frame is
        taken (see :mod:`vidseg.pacing`); ignored for files.
    stop : threading.Event, optional
        Set it (e.g. from a signal handler) to stop cleanly; ``RunSummary.stopped_by``
        is then whatever the caller stored.  A file's sinks are aborted (their
        output is incomplete); a live source has no end of its own, so its run
        ends as at the end of the input: sinks closed, outputs under their names.
    on_frame : callable, optional
        Called in the segmenting thread with each result and the running summary
        (progress bars, status lines).
    control : RunControl, optional
        Live controls (k, view, pause, re-seed, stop), applied between two
        frames by the segmenting thread; ``control.stop()`` ends the run like
        the end of the input (sinks closed, not aborted).
    measure : callable, optional
        Called in the writer thread with each result before the sinks see it,
        to add measurements to ``result.extras`` (off the segmenting thread).

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
    return _Run(
        source,
        segmenter,
        sinks,
        view=view,
        overlay_alpha=overlay_alpha,
        max_frames=max_frames,
        duration=duration,
        queue_size=queue_size,
        pacing=live_pacing,
        stop=stop if stop is not None else threading.Event(),
        on_frame=on_frame,
        control=control,
        measure=measure,
    ).execute()


class _Run:
    """One run of the pipeline: the state the three stages share, one method per stage.

    ``read`` (thread ``vidseg-read``) fills the inbox, ``segment`` (the caller's
    thread) turns frames into results, ``write`` (thread ``vidseg-write``)
    hands them to the sinks; ``execute`` starts, joins and finishes them.
    """

    def __init__(
        self,
        source: FrameSource,
        segmenter: Segmenter,
        sinks: Sequence[Sink],
        *,
        view: str,
        overlay_alpha: float,
        max_frames: int | None,
        duration: float | None,
        queue_size: int,
        pacing: str,
        stop: threading.Event,
        on_frame: Callable[[FrameResult, RunSummary], None] | None,
        control: RunControl | None,
        measure: Callable[[FrameResult], None] | None,
    ) -> None:
        self.source, self.segmenter, self.sinks = source, segmenter, sinks
        self.view, self.overlay_alpha, self.max_frames = view, overlay_alpha, max_frames
        self.stop, self.on_frame, self.control, self.measure = stop, on_frame, control, measure
        self.live = source.info.live
        self.duration, self.first_time = duration, None
        # A live run stopped from outside finishes like the end of the input: the
        # caller's event only ends the segmenting loop; ``stop`` ends the threads.
        self.finish: threading.Event | None = None
        if self.live:
            self.finish, self.stop = stop, threading.Event()
        self.stream = source.info  # the current frame size, for live sources that change it
        self.inbox: LatestQueue | BlockingQueue = (
            LatestQueue(1) if self.live else BlockingQueue(queue_size)
        )
        self.outbox = BlockingQueue(1 if self.live else queue_size)
        self.pacer = LivePacer(overlap=pacing == "throughput") if self.live else None
        # Sinks that want a turn while no frame comes (a window's key handling, paused).
        self.idlers = [i for i in (getattr(s, "idle", None) for s in sinks) if i is not None]
        self.summary = RunSummary(live=self.live)
        self.latencies = LatencyLog()
        self.inertia_sum = 0.0
        self.segmented = 0
        self.failures: list[BaseException] = []

    def execute(self) -> RunSummary:
        """Run the stages to the end; finish the sinks; return the summary."""
        start = time.monotonic()
        if self.live:
            map_large_blocks()
        for i, sink in enumerate(self.sinks):
            try:
                sink.open(self.source.info)
            except BaseException:
                # The sinks opened so far keep nothing half-written: abort them.
                self.source.close()
                finish_sinks(self.sinks[:i], ok=False)
                raise
        reader = threading.Thread(
            target=os_named("vidseg-read", self.read), name="vidseg-read", daemon=True
        )
        writer = threading.Thread(
            target=os_named("vidseg-write", self.write), name="vidseg-write", daemon=True
        )
        source_error: SourceReadError | None = None
        ok = False
        try:
            reader.start()
            writer.start()
            source_error = self.segment()
            self.outbox.put(END, self.stop)
            writer.join()
            if self.failures:
                raise self.failures[0]
            ok = True
        except Stop:
            if self.failures:
                raise self.failures[0] from None
        finally:
            self.stop.set()
            self.source.close()
            writer.join(timeout=30)
            reader.join(timeout=5)
            s = self.summary
            s.elapsed_s = time.monotonic() - start
            s.dropped = self.inbox.dropped
            s.mean_inertia = self.inertia_sum / self.segmented if self.segmented else 0.0
            s.latency_ms = latency_figures(self.latencies)
            finish_sinks(self.sinks, ok)
        if source_error is not None:
            raise source_error
        return self.summary

    def read(self) -> None:
        """Reader thread: iterate the source into the inbox, then the end marker."""
        try:
            for frame in self.source:
                if self.stop.is_set():
                    break
                self.inbox.put(frame, self.stop)
                self.summary.frames_in += 1
                # A file loses no frame, so read no more than will be written.
                if not self.live and self.max_frames is not None:
                    if self.summary.frames_in >= self.max_frames:
                        break
            self.inbox.put(END, self.stop)
        except Stop:
            pass
        except BaseException as exc:  # re-raised in the caller
            self.inbox.put(Failure(exc), self.stop)

    def segment(self) -> SourceReadError | None:
        """Caller's thread: take frames, apply controls, segment, hand results on.

        Returns the source's read error when the input broke after some frames
        (everything before it is written); raises ``Stop`` when stopped.
        """
        while True:
            if self.stop.is_set():
                raise Stop
            if self.finish is not None and self.finish.is_set():
                return None
            if self.max_frames is not None and self.segmented >= self.max_frames:
                return None
            if self.control is not None and not self.steer():
                return None
            if self.pacer is not None and not self.pacer.wait_turn(POLL):
                continue
            try:
                item = self.inbox.get(timeout=POLL)
            except queue.Empty:
                continue
            if item is END:
                return None
            if isinstance(item, Failure):
                if isinstance(item.error, SourceReadError) and self.summary.frames_in > 0:
                    return item.error
                raise item.error
            if self.duration is not None:
                self.first_time = item.time_s if self.first_time is None else self.first_time
                if item.time_s - self.first_time >= self.duration:
                    return None
            self.segment_one(item)

    def steer(self) -> bool:
        """Apply queued controls; wait while paused.  False when asked to stop."""
        control = self.control
        assert control is not None
        while True:
            control.apply(self.segmenter)
            if control.stopping:
                return False
            if not control.state.paused or self.stop.is_set():
                return True
            control.wait(POLL)

    def segment_one(self, frame: Frame) -> None:
        """Segment one frame and queue its result for the writer."""
        size = (frame.image.shape[1], frame.image.shape[0])
        if self.live and size != (self.stream.width, self.stream.height):
            # A reconnected camera or stream came back at another size; before
            # the first frame the sinks have no size yet, so nothing to reopen.
            self.stream = dataclasses.replace(self.stream, width=size[0], height=size[1])
            if self.segmented:
                self.outbox.put(Reopen(self.stream), self.stop)
        t_seg = time.monotonic()
        seg = self.segmenter.segment(frame.image)
        stats = ClusterStats.from_segmentation(seg, frame_index=frame.index, time_s=frame.time_s)
        # The view is rendered lazily, by the sinks, in the writer thread.
        result = FrameResult(
            frame=frame,
            segmentation=seg,
            stats=stats,
            view_name=self.view,
            overlay_alpha=self.overlay_alpha,
            display_view=self.control.state.view if self.control is not None else None,
        )
        summary = self.summary
        if seg.scene_cut:  # as the statistics' scene_cut column: the first frame counts
            summary.scene_cuts += 1
        self.inertia_sum += seg.inertia
        self.segmented += 1
        summary.dropped = self.inbox.dropped
        if self.pacer is not None:
            self.pacer.segmented(time.monotonic() - t_seg)
        self.outbox.put(result, self.stop)
        if self.on_frame is not None:
            self.on_frame(result, summary)

    def write(self) -> None:
        """Writer thread: measure each result, hand it to every sink, in order."""
        poll = _IDLE_POLL if self.idlers else POLL
        try:
            while True:
                try:
                    item = self.outbox.get(timeout=poll)
                except queue.Empty:
                    if self.stop.is_set():
                        return
                    for idle in self.idlers:
                        idle()
                    continue
                if item is END:
                    return
                if isinstance(item, Reopen):
                    for sink in self.sinks:
                        reopen = getattr(sink, "reopen", None)
                        if reopen is not None:
                            reopen(item.info)
                    continue
                self.write_one(item)
        except BaseException as exc:
            self.failures.append(exc)
            self.stop.set()

    def write_one(self, result: FrameResult) -> None:
        """Measure ``result`` and write it to every sink."""
        if self.pacer is not None:
            self.pacer.writing()
        if self.measure is not None:
            self.measure(result)
        for sink in self.sinks:
            sink.write(result)
        if self.control is not None:
            self.control.observe(result)
        if self.live:
            self.latencies.append(time.monotonic() - result.frame.captured_at)
        self.summary.frames_out += 1
        if self.pacer is not None:
            self.pacer.written()
