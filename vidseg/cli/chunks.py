"""``vidseg convert IN OUT --chunks N``: one long video across Dask workers."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from ..errors import ConfigError
from .session import config_of, opencv_for_run, signals_stop

__all__ = ["add_chunk_flags", "check_chunk_flags", "run_chunked"]

log = logging.getLogger("vidseg")


def add_chunk_flags(p: argparse.ArgumentParser) -> None:
    """``--chunks N`` with ``--scheduler`` / ``--workers``."""
    group = p.add_argument_group("chunks (one long video across Dask workers)")
    group.add_argument(
        "--chunks",
        type=int,
        metavar="N",
        help="split a video file at keyframes into N time chunks, segment them in "
        "parallel from one shared palette and join them into OUTPUT",
    )
    group.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --chunks: an existing Dask scheduler (tcp://host:8786); default: a "
        "local cluster on 127.0.0.1",
    )
    group.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="with --chunks: worker processes of the local cluster (default: one per core)",
    )


def check_chunk_flags(args: argparse.Namespace) -> None:
    """``--scheduler`` / ``--workers`` mean nothing without ``--chunks``."""
    if getattr(args, "scheduler", None) is not None or getattr(args, "workers", None) is not None:
        raise ConfigError("--scheduler and --workers work with --chunks N; add --chunks")


def run_chunked(args: argparse.Namespace) -> int:
    """Run ``convert`` with ``--chunks``; the exit code."""
    # Imported here so `vidseg --help` loads neither Dask nor the engine.
    from ..apps.chunked import convert_chunked
    from ..dist.cluster import ClusterConfig

    cfg = config_of(args)
    cluster = ClusterConfig(scheduler=args.scheduler, workers=args.workers)
    opencv_for_run(args.verbose)
    stop = threading.Event()
    received: list[int] = []
    with signals_stop(stop, received):
        summary = convert_chunked(
            args.input,
            args.output,
            cfg,
            chunks=args.chunks,
            cluster=cluster,
            stats=args.stats,
            overwrite=args.overwrite,
            palette=args.palette,
            stop=stop,
            **{
                "--labels": args.labels,
                "--save-palette": args.save_palette,
                "--serve": args.serve,
                "--preview": args.preview,
            },
        )
    if summary.stopped:
        name = signal.Signals(received[0]).name if received else "a stop"
        log.warning("stopped by %s; nothing written under the output's name", name)
        return 128 + received[0] if received else 1
    log.info(
        "converted %d frames in %d chunks on %d workers in %.1f s",
        summary.frames,
        summary.chunks,
        summary.workers,
        summary.seconds,
    )
    return 0
