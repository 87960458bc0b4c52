"""``vidseg convert`` and ``vidseg demo``: segment an input into a video file."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path

from ..errors import SourceOpenError, SourceReadError
from ..exitcodes import EXIT_CODES_HELP
from .chunks import add_chunk_flags, check_chunk_flags, run_chunked
from .flags import EPILOG, Formatter, add_common, add_serve_flags, add_window_flags
from .session import config_of, exit_code, opencv_for_run, signals_stop, window_if_asked

__all__ = ["add_convert", "add_demo"]

log = logging.getLogger("vidseg")


def add_convert(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``vidseg convert``."""
    convert = sub.add_parser(
        "convert",
        help="segment a video, camera, stream or image sequence into a video",
        description="Segment INPUT (video file, camera index such as 0, rtsp/http URL, "
        "image directory or glob, '-' or 'pipe:' for standard input, or 'demo') into "
        "OUTPUT (H.264; VP9 for .webm).",
        epilog=EPILOG,
        formatter_class=Formatter,
    )
    convert.add_argument(
        "input", help="video file, camera index, stream URL, images, - (stdin), or demo"
    )
    convert.add_argument("output", type=Path, help="output video (.mp4 .mkv .mov .webm .avi)")
    add_common(convert)
    add_serve_flags(convert)
    add_window_flags(convert, watch=True)
    add_chunk_flags(convert)
    convert.set_defaults(run=_run)


def add_demo(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``vidseg demo``."""
    demo = sub.add_parser(
        "demo",
        help="segment the built-in clip (a pan over a real photo); no camera needed",
        description="Segment the built-in demo clip and write the video, a per-cluster "
        "statistics CSV and a summary of the cluster areas.",
        epilog=EXIT_CODES_HELP,
        formatter_class=Formatter,
    )
    demo.add_argument(
        "output",
        type=Path,
        nargs="?",
        default=Path("vidseg-demo.mp4"),
        help="output video (default: vidseg-demo.mp4)",
    )
    add_common(demo)
    demo.set_defaults(run=_run, input="demo")


def _run(args: argparse.Namespace) -> int:
    if getattr(args, "chunks", None) is not None:
        return run_chunked(args)
    check_chunk_flags(args)
    # Imported here so `vidseg --help` and `vidseg config` start fast.
    from ..apps.convert import convert

    cfg = config_of(args)
    opencv_for_run(args.verbose)
    window = window_if_asked(args)
    stop = threading.Event()
    received: list[int] = []
    try:
        with signals_stop(stop, received):
            summary = convert(
                args.input,
                args.output,
                cfg,
                window=window,
                snapshots=getattr(args, "snapshots", Path(".")),
                stats=args.stats,
                labels=args.labels,
                labels_format=args.labels_format,
                overwrite=args.overwrite,
                palette=args.palette,
                save_palette=args.save_palette,
                stop=stop,
                demo_summary=args.command == "demo",
                serve=getattr(args, "serve", None),
                token=getattr(args, "token", None),
            )
    except SourceOpenError:
        if received:  # stopped while waiting for a live source to come up
            log.warning("stopped by %s before the input came up", signal.Signals(received[0]).name)
            return 128 + received[0]
        raise
    except SourceReadError as exc:  # the outputs hold everything read and are finalised
        log.warning("%s", exc)
        return 1
    return exit_code(received, summary)
