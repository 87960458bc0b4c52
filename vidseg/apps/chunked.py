"""``vidseg convert BIG.mp4 OUT.mp4 --chunks N``: one long video across Dask workers.

1. Check everything before work: the input is a seekable video file, the
   outputs can be written, the options combine.
2. Index the input's keyframes (:func:`~vidseg.dist.chunks.scan_video`) and
   plan the chunks (:func:`~vidseg.dist.chunks.plan_chunks`).
3. Learn one starting palette from frames sampled across the whole video (or
   take ``--palette``), so every chunk starts from the same centres and a
   cluster id means the same colour in every chunk.
4. Segment the chunks in parallel (:func:`~vidseg.dist.chunk_task.segment_chunk`,
   one Dask task each) into a work directory next to the output,
   ``<stem>.partial.chunks``.
5. Join them by stream copy, with the input's audio, and join the statistics
   (:mod:`vidseg.dist.join`); both are renamed into place when complete.

The work directory is removed on success.  A failure or Ctrl-C leaves it (the
chunk files are under their partial names while being written) and never the
outputs' real names; the next run replaces it.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Config
from ..errors import ConfigError, VidsegError

if TYPE_CHECKING:
    from ..dist.chunk_task import ChunkOutput
    from ..dist.chunks import Chunk, VideoIndex
    from ..dist.cluster import ClusterConfig
    from ..engine.palette_file import Palette

__all__ = ["ChunkedSummary", "boundary_ids", "check_chunkable", "convert_chunked"]

log = logging.getLogger(__name__)

_POLL_S = 0.25  # how often the wait for the chunks looks at the stop event


class ChunksStopped(VidsegError):
    """The chunked conversion was stopped (Ctrl-C); the work directory is kept."""


@dataclass(frozen=True, kw_only=True)
class ChunkedSummary:
    """What a chunked conversion did."""

    frames: int
    chunks: int
    workers: int
    seconds: float
    stopped: bool = False


def check_chunkable(spec: str) -> Path:
    """The input as a path, when it is something ``--chunks`` can split (a video file).

    Raises
    ------
    ConfigError
        Standard input, a camera, a stream, an image sequence or the demo.
    """
    import re
    from urllib.parse import urlsplit

    from ..io.sources.file import is_stdin
    from ..io.sources.live import STREAM_SCHEMES

    kind = None
    if is_stdin(spec):
        kind = "standard input"
    elif spec == "demo":
        kind = "the demo clip"
    elif re.fullmatch(r"[0-9]+", spec.strip()):
        kind = "a camera"
    elif "://" in spec and urlsplit(spec).scheme.lower() in STREAM_SCHEMES:
        kind = "a live stream"
    elif Path(spec).is_dir() or any(c in spec for c in "*?["):
        kind = "an image sequence"
    if kind is not None:
        raise ConfigError(
            f"--chunks needs a video file to seek in, and {spec!r} is {kind}; "
            "convert it without --chunks"
        )
    return Path(spec)


def _check_options(cfg: Config, **given: object) -> None:
    """Options that do not combine with ``--chunks`` (one line, before any work)."""
    run = cfg.run
    given = {
        **given,
        "--max-frames": run.max_frames,
        "--duration": run.duration,
        "--segment-time": run.segment_time,
    }
    bad = [name for name, value in given.items() if value not in (None, False)]
    if bad:
        raise ConfigError(
            f"{', '.join(bad)} cannot be combined with --chunks; leave "
            f"{'it' if len(bad) == 1 else 'them'} out or convert without --chunks"
        )


def convert_chunked(
    source_spec: str,
    output: Path,
    cfg: Config,
    *,
    chunks: int,
    cluster: ClusterConfig,
    stats: Path | None = None,
    overwrite: bool = False,
    palette: Path | None = None,
    stop: threading.Event | None = None,
    overlap_s: float | None = None,
    window_s: float | None = None,
    client: Any | None = None,
    **unsupported: object,
) -> ChunkedSummary:
    """Convert ``source_spec`` into ``output`` (and ``stats``) in ``chunks`` parallel chunks.

    ``unsupported`` names options given on the command line that do not combine
    with chunks (``--labels``, ``--serve`` ...), each with its value.  ``client``
    is an existing Dask client to run the chunks on (a batch task passes the one
    from :func:`distributed.worker_client`); None opens one for ``cluster``.

    Raises
    ------
    ConfigError
        ``chunks`` < 1, an input that cannot be split, options that do not combine.
    VidsegError
        Unreadable or corrupt input, unwritable output, a chunk that failed.
    """
    from ..dist.chunks import check_seekable, handover_frames, plan_chunks, scan_video
    from ..dist.shared_palette import shared_palette
    from ..engine.palette_file import Palette
    from ..io.video_sink import VideoFileSink

    began = time.monotonic()
    if chunks < 1:
        raise ConfigError(f"--chunks must be at least 1, got {chunks}")
    path = check_chunkable(source_spec)
    _check_options(cfg, **unsupported)
    out = cfg.output
    # The sink's constructor checks everything about the output (location, existing
    # file, container, encoder, crf) and creates nothing: the chunks are written so.
    VideoFileSink(output, codec=out.codec, crf=out.crf, preset=out.preset, overwrite=overwrite)
    if stats is not None:
        from ..io.data_sinks import stats_sink

        stats_sink(stats, overwrite=overwrite)  # checks the suffix and the location
    start_palette = Palette.load(palette) if palette is not None else None
    if start_palette is not None:
        start_palette.check_fits(cfg.engine.n_clusters, cfg.engine.color_space, source=str(palette))

    index = scan_video(path)
    seconds = {"overlap_s": overlap_s, "window_s": window_s}
    overlap, window = handover_frames(
        index, chunks, **{k: v for k, v in seconds.items() if v is not None}
    )
    plan = plan_chunks(index, chunks, overlap=overlap, window=window)
    check_seekable(path, plan)
    log.info(
        "%s: %d frames in %d chunk(s) (overlap %d, hand-over window %d frames): %s",
        path,
        index.frames,
        len(plan),
        overlap,
        window,
        ", ".join(f"{c.start}-{c.end - 1}" for c in plan),
    )
    if start_palette is None:
        start_palette = shared_palette(path, index, cfg)
    else:
        log.info("every chunk starts from the palette in %s", palette)
    workdir = output.with_name(f"{output.stem}.partial.chunks")
    if workdir.exists():
        log.warning("replacing the work directory an earlier run left: %s", workdir)
        shutil.rmtree(workdir)
    workdir.mkdir()
    results = _run_chunks(
        path, plan, cfg, start_palette, workdir, output, stats, (cluster, client), stop
    )
    if results is None:
        log.warning("stopped; the chunks done so far are kept in %s", workdir)
        return ChunkedSummary(
            frames=0, chunks=len(plan), workers=0, seconds=time.monotonic() - began, stopped=True
        )
    outputs, workers = results
    frames = _join(outputs, path, output, stats, cfg, index)
    shutil.rmtree(workdir, ignore_errors=True)
    return ChunkedSummary(
        frames=frames, chunks=len(plan), workers=workers, seconds=time.monotonic() - began
    )


def _run_chunks(
    path: Path,
    plan: list[Chunk],
    cfg: Config,
    palette: Palette,
    workdir: Path,
    output: Path,
    stats: Path | None,
    where: tuple[ClusterConfig, Any | None],
    stop: threading.Event | None,
) -> tuple[list[ChunkOutput], int] | None:
    """Run every chunk on the cluster: outputs in order, worker count (None: stopped).

    ``where`` is the cluster to open a client for, and an existing client (or None).
    """
    from distributed import wait

    from ..dist.chunk_task import ChunkJob, chunk_paths, segment_chunk

    text = palette.to_json()
    jobs = []
    for chunk in plan:
        video, chunk_stats = chunk_paths(
            workdir.resolve(), chunk.number, output.suffix, None if stats is None else stats.suffix
        )
        jobs.append(
            ChunkJob(
                source=str(path.resolve()),
                chunk=chunk,
                video=video,
                stats=chunk_stats,
                palette=text,
                cfg=cfg,
            )
        )
    with _dask_quiet(), _client(*where) as client:
        budgets = _budgets(client)
        workers = len(client.scheduler_info()["workers"])
        futures = client.map(segment_chunk, jobs, budgets=budgets, pure=False)
        pending = set(futures)
        done: dict[int, ChunkOutput] = {}
        try:
            while pending:
                if stop is not None and stop.is_set():
                    client.cancel(list(pending))
                    return None
                try:
                    finished, pending = wait(
                        pending, timeout=_POLL_S, return_when="FIRST_COMPLETED"
                    )
                except TimeoutError:  # none finished yet: look at the stop event again
                    continue
                for future in finished:
                    out = future.result()  # a chunk's error is raised here, as vidseg's own
                    done[out.number] = out
                    log.info(
                        "chunk %d/%d done: %d frames in %.1f s (%d thread(s))%s",
                        out.number + 1,
                        len(plan),
                        out.frames,
                        out.seconds,
                        out.threads,
                        _handover_text(out),
                    )
        except BaseException:
            client.cancel(list(pending))
            raise
    return [done[c.number] for c in plan], workers


@contextlib.contextmanager
def _client(cluster: ClusterConfig, client: Any | None) -> Iterator[Any]:
    """``client`` as it is (its owner closes it), or one opened for ``cluster``."""
    if client is not None:
        yield client
        return
    from ..dist.cluster import open_client

    with open_client(cluster) as own:
        yield own


@contextlib.contextmanager
def _dask_quiet() -> Iterator[None]:
    """Dask's own WARNING lines (a cancelled task, a worker killed on close) off stderr.

    vidseg says what happened in its own words; with ``-v`` (DEBUG) Dask's lines stay.
    """
    dask_log = logging.getLogger("distributed")
    before = dask_log.level
    if not log.isEnabledFor(logging.DEBUG):
        dask_log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        dask_log.setLevel(before)


def _handover_text(out: ChunkOutput) -> str:
    """``; hands over at frame N (SLC x%, flicker y)`` for a chunk that handed over."""
    if out.handover is None or out.handover_pair is None:
        return ""
    slc, flicker = out.handover_pair
    return f"; hands over at frame {out.handover} (SLC {100 * slc:.2f}%, flicker {flicker:.3f})"


def _budgets(client: Any) -> dict[str, int]:
    """Threads per task on each worker host: its cores over the tasks its workers run at once."""
    from distributed.comm import get_address_host

    from ..dist.cluster import usable_cores
    from ..dist.threads import budget_for_host

    cores: dict[str, int] = {}
    for address, n in client.run(usable_cores).items():
        cores[get_address_host(address)] = n
    slots: dict[str, int] = {}
    for address, info in client.scheduler_info()["workers"].items():
        host = get_address_host(address)
        slots[host] = slots.get(host, 0) + int(info.get("nthreads", 1))
    return {host: budget_for_host(cores, slots, host) for host in cores}


def boundary_ids(outputs: list[ChunkOutput]) -> list[tuple[int, list[int]]]:
    """Cluster ids renumbered so an id keeps its colour across every hand-over.

    The output switches from one run of the engine to the next at each chunk's
    hand-over frame (or at the next chunk's first frame); the next run's colours
    there are matched to the previous run's just before, under the ids given to
    those.  Returns ``(first frame, new ids)`` pairs for :func:`join_stats`.
    """
    from ..dist.join import match_ids

    k = len(outputs[0].first_colors)
    current = list(range(k))
    found = [(0, current)]
    for prev, nxt in itertools.pairwise(outputs):
        if prev.handover is not None and prev.handover_colors is not None:
            at, (before, after) = prev.handover, prev.handover_colors
        else:
            at, before, after = -1, prev.last_colors, nxt.first_colors
        last = [[0.0, 0.0, 0.0]] * k
        for own, out_id in enumerate(current):
            last[out_id] = list(before[own])
        current = match_ids(last, after)
        found.append((at, current))
    return _placed(found, outputs)


def _placed(
    found: list[tuple[int, list[int]]], outputs: list[ChunkOutput]
) -> list[tuple[int, list[int]]]:
    """Fill in where the runs without a hand-over switch: the next chunk's first frame."""
    starts = [0]
    for out in outputs[:-1]:
        starts.append(starts[-1] + out.frames)
    return [(starts[i] if at < 0 else at, ids) for i, (at, ids) in enumerate(found)]


def _join(
    outputs: list[ChunkOutput],
    path: Path,
    output: Path,
    stats: Path | None,
    cfg: Config,
    index: VideoIndex,
) -> int:
    """Join the chunk videos (with the input's audio) and statistics; the frames written."""
    from ..dist.join import join_stats, join_videos

    total = sum(o.frames for o in outputs)
    if total != index.frames:
        raise VidsegError(
            f"the chunks hold {total} frames, the input {index.frames}; nothing was written"
        )
    time_base = outputs[0].time_base
    assert time_base is not None and all(o.first_pts is not None for o in outputs)
    frames = join_videos(
        [Path(o.video) for o in outputs],
        output,
        first_pts=[o.first_pts for o in outputs],  # type: ignore[misc]
        time_base=time_base,
        audio_from=path if cfg.output.keep_audio else None,
    )
    if stats is not None:
        join_stats(
            [Path(o.stats) for o in outputs if o.stats is not None],
            stats,
            frames=frames,
            ids=boundary_ids(outputs),
        )
        log.info("wrote the statistics of %d frames to %r", frames, str(stats))
    log.info("wrote %d frames to %r", frames, str(output))
    return frames
