"""``vidseg preview`` (a window) and ``vidseg serve`` (a web page): watch a run live."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path

from .flags import add_common, add_config_flags, add_verbosity, add_window_flags
from .session import config_of, opencv_for_run, signals_stop

__all__ = ["add_preview", "add_serve"]

log = logging.getLogger("vidseg")


def add_preview(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``vidseg preview``."""
    p = sub.add_parser(
        "preview",
        help="watch a camera, file or stream segmented live in a window",
        description="Show SOURCE segmented in real time in a window. Keys: + / - k, "
        "v view, space pause, s snapshot, r re-seed, i display, h keys, q / Esc quit. "
        "Needs a display; without one use `vidseg serve`.",
    )
    p.add_argument(
        "source",
        nargs="?",
        default="0",
        help="anything convert takes: camera index, file, stream URL, images, demo (default: 0)",
    )
    p.add_argument("--fast", action="store_true", help="play files as fast as possible")
    p.add_argument("--loop", action="store_true", help="play a file over and over")
    add_common(p)
    add_window_flags(p, watch=False)
    p.set_defaults(run=_run_preview)


def _run_preview(args: argparse.Namespace) -> int:
    from ..io.display import check_display

    cfg = config_of(args)
    screen = check_display()  # before any window: without X the first imshow aborts
    from ..apps.preview import preview

    opencv_for_run(args.verbose)
    stop = threading.Event()
    received: list[int] = []
    with signals_stop(stop, received):
        preview(
            args.source,
            cfg,
            screen=screen,
            fast=args.fast,
            loop=args.loop,
            snapshots=args.snapshots,
            stats=args.stats,
            labels=args.labels,
            labels_format=args.labels_format,
            overwrite=args.overwrite,
            stop=stop,
        )
    if received:
        log.warning("stopped by %s", signal.Signals(received[0]).name)
        return 128 + received[0]
    return 0


def add_serve(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``vidseg serve``."""
    serve = sub.add_parser(
        "serve",
        help="show a live segmentation on a web page (streams, chart, controls, metrics)",
        description="Segment SOURCE live and serve a page with the original and segmented "
        "streams, a chart of the cluster areas, the palette and live controls, plus "
        "/stats, /events, /metrics and /healthz.  Files play at their own frame rate.",
    )
    serve.add_argument(
        "source",
        nargs="?",
        default="0",
        help="camera index (default 0), stream URL, video file, images, or demo",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="TCP port (default: 8080)")
    serve.add_argument(
        "--token",
        help="access token; required (generated and printed once when not given) for "
        "any host other than 127.0.0.1, ::1 or localhost",
    )
    serve.add_argument("--loop", action="store_true", help="play a file again at its end")
    add_verbosity(serve, opencv=False)
    serve.add_argument("--config", type=Path, help="YAML config file (see config.yaml)")
    add_config_flags(serve)
    serve.set_defaults(run=_run_serve)


def _run_serve(args: argparse.Namespace) -> int:
    from ..apps.serve import serve

    cfg = config_of(args)
    opencv_for_run(args.verbose)
    stop = threading.Event()
    received: list[int] = []
    with signals_stop(stop, received):
        serve(
            args.source,
            cfg,
            host=args.host,
            port=args.port,
            token=args.token,
            loop=args.loop,
            stop=stop,
        )
    return 128 + received[0] if received else 0
