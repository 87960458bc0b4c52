"""One chunk of a chunked conversion, as a Dask task: its frames into a video and statistics.

:func:`segment_chunk` is what ``vidseg convert --chunks`` submits, one call per
:class:`~vidseg.dist.chunks.Chunk`.  It runs the ordinary pipeline
(:func:`vidseg.pipeline.run`) on a :class:`~vidseg.io.sources.span.SpanSource`
with the ordinary sinks, the segmenter warm-started from the run's shared
palette so cluster ids mean the same in every chunk.  The frames before the
chunk's start (its overlap, where the warm start settles) are segmented but not
written.  The video has no audio: the join copies the input's audio whole.  It
lives in an importable module because the scheduler unpickles the task too.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..config import Config
from .chunks import Chunk
from .threads import budget_config, limit_process_threads

__all__ = ["ChunkJob", "ChunkOutput", "chunk_paths", "segment_chunk"]


@dataclass(frozen=True, kw_only=True)
class ChunkJob:
    """What one chunk task does (pickled to the worker).

    Parameters
    ----------
    source : str
        The input video (a path the workers can read).
    chunk : Chunk
        The frames to segment and write.
    video : str
        The chunk's video file (written as ``<stem>.partial<suffix>`` until complete).
    stats : str, optional
        The chunk's statistics file (.csv / .ndjson), or None.
    palette : str
        The shared starting palette, as the palette file's JSON text.
    cfg : Config
        The run's validated configuration.
    """

    source: str
    chunk: Chunk
    video: str
    stats: str | None
    palette: str
    cfg: Config


@dataclass(frozen=True, kw_only=True)
class ChunkOutput:
    """What a finished chunk task hands back."""

    number: int
    video: str
    stats: str | None
    frames: int
    first_pts: int | None
    time_base: Fraction | None
    first_colors: tuple[tuple[float, ...], ...]
    last_colors: tuple[tuple[float, ...], ...]
    handover: int | None
    handover_colors: tuple[tuple[tuple[float, ...], ...], tuple[tuple[float, ...], ...]] | None
    handover_pair: tuple[float, float] | None  # (SLC, flicker) of the hand-over's frame pair
    seconds: float
    threads: int


Colors = tuple[tuple[float, ...], ...]


def _colors(stats: Any) -> Colors:
    return tuple(map(tuple, stats.colors_bgr.tolist()))


class _ChunkWriter:
    """The chunk's one sink: drops the overlap, hands over in the window, fans out to ``sinks``.

    Frames before ``chunk.start`` are not written.  Frames ``[chunk.window,
    chunk.end)`` are held until the window is complete, each with the next
    chunk's result for it (``result.extras["next"]``, from :meth:`measure`); then
    the own results up to the hand-over frame and the next chunk's from there
    are written (:func:`~vidseg.dist.handover.choose_handover`).
    """

    def __init__(self, sinks: list[Any], chunk: Chunk, successor: Any) -> None:
        self.sinks, self.chunk, self.successor = sinks, chunk, successor
        self.first_pts: int | None = None
        self.first_colors: Colors = ()
        self.last_colors: Colors = ()
        self.handover: int | None = None
        self.handover_colors: tuple[Colors, Colors] | None = None
        self.handover_pair: tuple[float, float] | None = None
        self._before: Any = None
        self._held: list[Any] = []
        self._chooser: Any = None

    def measure(self, result: Any) -> None:
        """The next chunk's warm-up, on the frames it covers (the run's writer thread)."""
        chunk = self.chunk
        if self.successor is None or chunk.next_lead is None:
            return
        if result.frame.index >= chunk.next_lead:
            seg = self.successor.segment(result.frame.image)
            if result.frame.index >= chunk.window:
                result.extras["next"] = seg

    def open(self, info: object) -> None:
        for sink in self.sinks:
            sink.open(info)

    def write(self, result: Any) -> None:
        index = result.frame.index
        if index < self.chunk.start:
            return
        if index < self.chunk.window or "next" not in result.extras:
            self._emit(result)
            self._before = result
            return
        if self._chooser is None:
            from .handover import HandoverChooser

            self._chooser = HandoverChooser(
                _state(self._before.frame.image, self._before.segmentation)
            )
        # Scored now, so only the results are held (not their recoloured frames).
        image = result.frame.image
        self._chooser.add(_state(image, result.segmentation), _state(image, result.extras["next"]))
        self._held.append(result)
        if index == self.chunk.end - 1:
            self._hand_over()

    def _hand_over(self) -> None:
        from ..frames import FrameResult
        from ..stats import ClusterStats

        held, self._held = self._held, []
        if not held:
            return
        nexts = [r.extras.pop("next") for r in held]
        at, slc, flicker = self._chooser.best()
        self.handover_pair = (slc, flicker)
        for result in held[:at]:
            self._emit(result)
        last_own = held[at - 1] if at else self._before
        for result, seg in zip(held[at:], nexts[at:], strict=True):
            frame = result.frame
            stats = ClusterStats.from_segmentation(
                seg, frame_index=frame.index, time_s=frame.time_s
            )
            self._emit(
                FrameResult(
                    frame=frame,
                    segmentation=seg,
                    stats=stats,
                    view_name=result.view_name,
                    overlay_alpha=result.overlay_alpha,
                )
            )
            if self.handover is None:
                self.handover = frame.index
                self.handover_colors = (_colors(last_own.stats), _colors(stats))

    def _emit(self, result: Any) -> None:
        colors = _colors(result.stats)
        if self.first_pts is None:
            self.first_pts, self.first_colors = result.frame.pts, colors
        self.last_colors = colors
        for sink in self.sinks:
            sink.write(result)

    def close(self) -> None:
        from ..sink import finish_sinks

        self._hand_over()  # a window the input ended in
        finish_sinks(self.sinks, ok=True)

    def abort(self) -> None:
        from ..sink import finish_sinks

        finish_sinks(self.sinks, ok=False)


def _state(image: Any, seg: Any) -> Any:
    from .handover import State

    return State(image=image, labels=seg.labels, recolor=seg.recolor(), colors=seg.palette)


def _budget(budgets: Mapping[str, int]) -> int:
    """This task's thread budget: its worker host's entry in ``budgets`` (1 outside Dask)."""
    try:
        from distributed import get_worker
        from distributed.comm import get_address_host

        worker = get_worker()
    except (ImportError, ValueError):
        return 1
    return budgets.get(get_address_host(worker.address), 1)


def segment_chunk(job: ChunkJob, budgets: Mapping[str, int]) -> ChunkOutput:
    """Segment ``job.chunk`` of ``job.source`` into ``job.video`` (and ``job.stats``).

    ``budgets`` maps a worker host to the threads each task there may use.

    Raises
    ------
    VidsegError
        Unreadable or corrupt input, unwritable output; as ``vidseg convert``.
    """
    from ..engine import Segmenter
    from ..engine.palette_file import Palette
    from ..io.data_sinks import stats_sink
    from ..io.sources.span import SpanSource
    from ..io.video_sink import VideoFileSink
    from ..pipeline import run
    from ..sink import Sink

    began = time.monotonic()
    threads = _budget(budgets)
    cfg = budget_config(job.cfg, threads)
    chunk, out = job.chunk, cfg.output
    sinks: list[Sink] = [
        VideoFileSink(
            job.video,
            codec=out.codec,
            crf=out.crf,
            preset=out.preset,
            cabac=out.cabac,
            overwrite=True,  # the run's own work directory
            keep_audio=False,
            threads=out.encoder_threads,
        )
    ]
    if job.stats is not None:
        sinks.append(stats_sink(job.stats, overwrite=True))
    palette = Palette.from_json(job.palette, source="the shared palette")
    with (
        limit_process_threads(threads),
        Segmenter.from_config(cfg.engine) as segmenter,
        Segmenter.from_config(cfg.engine) as successor,
    ):
        segmenter.set_palette(palette)
        # The next chunk's warm-up, computed here too for the hand-over window.
        successor.set_palette(palette)
        writer = _ChunkWriter(sinks, chunk, successor if chunk.window < chunk.end else None)
        source = SpanSource(
            job.source,
            first=chunk.lead,
            end=chunk.end,
            key_index=chunk.key_index,
            key_ts=chunk.key_ts,
            pts_range=chunk.pts_range,
            threads=cfg.run.decoder_threads,
        )
        time_base = source.info.time_base
        summary = run(
            source,
            segmenter,
            [writer],
            view=out.view,
            overlay_alpha=out.overlay_alpha,
            measure=writer.measure,
        )
    return ChunkOutput(
        number=chunk.number,
        video=job.video,
        stats=job.stats,
        frames=summary.frames_out - (chunk.start - chunk.lead),
        first_pts=writer.first_pts,
        first_colors=writer.first_colors,
        last_colors=writer.last_colors,
        handover=writer.handover,
        handover_colors=writer.handover_colors,
        handover_pair=writer.handover_pair,
        time_base=time_base,
        seconds=time.monotonic() - began,
        threads=threads,
    )


def chunk_paths(
    workdir: Path, number: int, suffix: str, stats_suffix: str | None
) -> tuple[str, str | None]:
    """The video and statistics files of chunk ``number`` in ``workdir``.

    >>> chunk_paths(Path("/w"), 3, ".mp4", ".csv")
    ('/w/chunk-003.mp4', '/w/chunk-003.csv')
    """
    stem = workdir / f"chunk-{number:03d}"
    stats = None if stats_suffix is None else str(stem.with_suffix(stats_suffix))
    return str(stem.with_suffix(suffix)), stats
