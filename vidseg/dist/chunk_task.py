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
from fractions import Fraction
from collections.abc import Mapping
from dataclasses import dataclass
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
    seconds: float
    threads: int


class _FromFrame:
    """A sink that passes on only the results of frames ``start`` and later (drops the overlap)."""

    def __init__(self, sink: Any, start: int) -> None:
        self.sink, self.start = sink, start
        self.first_pts: int | None = None
        # The cluster colours (BGR) of the first and last frame written: the join
        # matches ids across a boundary by them.
        self.first_colors: tuple[tuple[float, ...], ...] = ()
        self.last_colors: tuple[tuple[float, ...], ...] = ()

    def open(self, info: object) -> None:
        self.sink.open(info)

    def write(self, result: Any) -> None:
        if result.frame.index >= self.start:
            colors = tuple(map(tuple, result.stats.colors_bgr.tolist()))
            if self.first_pts is None:
                self.first_pts, self.first_colors = result.frame.pts, colors
            self.last_colors = colors
            self.sink.write(result)

    def close(self) -> None:
        self.sink.close()

    def abort(self) -> None:
        self.sink.abort()


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
    from ..pipeline import Sink, run

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
    wrapped = [_FromFrame(s, chunk.start) for s in sinks]
    with limit_process_threads(threads), Segmenter.from_config(cfg.engine) as segmenter:
        segmenter.set_palette(Palette.from_json(job.palette, source="the shared palette"))
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
            wrapped,  # type: ignore[arg-type]
            view=out.view,
            overlay_alpha=out.overlay_alpha,
        )
    return ChunkOutput(
        number=chunk.number,
        video=job.video,
        stats=job.stats,
        frames=summary.frames_out - (chunk.start - chunk.lead),
        first_pts=wrapped[0].first_pts,
        first_colors=wrapped[0].first_colors,
        last_colors=wrapped[0].last_colors,
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
