"""Command line: parse -> config -> run -> exit code.

Exit codes: 0 success; 1 runtime failure (unreadable or corrupt input, output
cannot be written); 2 bad usage or configuration (unknown flag or config key,
value out of range, unknown view or codec); 130 / 143 stopped by SIGINT /
SIGTERM after finalising what was written (a file input's output is then
incomplete and kept under its partial name).  A live input (camera, stream) has
no end of its own: SIGINT / SIGTERM is how its run ends, every output is
finalised under its real name and the exit code is 0.  An input that ends early
(truncated file, stream lost for good) is finalised under its name with one
WARNING and exit 1.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from . import __version__
from .config import Config, field_specs, load_config, render_defaults
from .errors import (
    ConfigError,
    EncoderNotFoundError,
    SourceOpenError,
    SourceReadError,
    VidsegError,
)

__all__ = ["build_parser", "main"]

log = logging.getLogger("vidseg")

# Short aliases for the flags people type most.
_ALIASES = {"n_clusters": ["--k"]}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per config key; defaults stay in Config (None = not given)."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    for section, f in field_specs():
        group = groups.setdefault(section, parser.add_argument_group(f"{section} options"))
        meta = f.metadata
        names = [_flag(f.name), *_ALIASES.get(f.name, [])]
        # argparse %-formats help strings
        help_text = meta["help"].replace("%", "%%") + f" (default: {f.default})"
        if isinstance(f.default, bool):
            group.add_argument(
                *names,
                dest=f.name,
                default=None,
                action=argparse.BooleanOptionalAction,
                help=help_text,
            )
            continue
        kind = (
            float if isinstance(f.default, float) else (str if isinstance(f.default, str) else int)
        )
        if meta["seconds"]:
            kind = str  # "90s", "10m", "1h": converted and checked by the config

        group.add_argument(
            *names,
            dest=f.name,
            default=None,
            type=kind,
            choices=meta["choices"],
            metavar=f.name.upper(),
            help=help_text,
        )


def build_parser() -> argparse.ArgumentParser:
    """The ``vidseg`` argument parser (one, shared by every command)."""
    parser = argparse.ArgumentParser(
        prog="vidseg", description="Real-time, temporally stable k-means video segmentation."
    )
    parser.add_argument("--version", action="version", version=f"vidseg {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("-v", "--verbose", action="count", default=0, help="debug log output")
        p.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr")
        p.add_argument("--config", type=Path, help="YAML config file (see config.yaml)")
        p.add_argument(
            "--stats",
            type=Path,
            metavar="FILE",
            help="per-cluster statistics table: .csv (one row per frame x "
            "cluster) or .ndjson (one object per frame)",
        )
        p.add_argument(
            "--labels",
            type=Path,
            metavar="DIR",
            help="write label maps (cluster id per pixel) into DIR",
        )
        p.add_argument(
            "--labels-format",
            choices=("png", "npz"),
            default="png",
            help="label maps as 8-bit PNGs or .npz chunks (default: png)",
        )
        p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
        _add_config_flags(p)

    convert = sub.add_parser(
        "convert",
        help="segment a video, camera, stream or image sequence into a video",
        description="Segment INPUT (video file, camera index such as 0, rtsp/http URL, "
        "image directory or glob, or 'demo') into OUTPUT (.mp4 H.264 by default).",
    )
    convert.add_argument("input", help="video file, camera index, stream URL, images, or demo")
    convert.add_argument("output", type=Path, help="output video (.mp4 .mkv .mov .webm .avi)")
    common(convert)

    demo = sub.add_parser(
        "demo",
        help="segment the built-in clip (a pan over a real photo); no camera needed",
        description="Segment the built-in demo clip and write the video, a per-cluster "
        "statistics CSV and a summary of the cluster areas.",
    )
    demo.add_argument(
        "output",
        type=Path,
        nargs="?",
        default=Path("vidseg-demo.mp4"),
        help="output video (default: vidseg-demo.mp4)",
    )
    common(demo)

    sub.add_parser("config", help="print the default configuration (config.yaml)")
    return parser


def _config(args: argparse.Namespace) -> Config:
    cfg = load_config(args.config)
    overrides = {
        f.name: getattr(args, f.name)
        for _, f in field_specs()
        if getattr(args, f.name, None) is not None
    }
    return cfg.with_overrides(overrides)


@contextmanager
def _logging_to_stderr(verbose: int, quiet: bool) -> Iterator[None]:
    """Send vidseg's log records to stderr for the duration of one command.

    The previous state is restored afterwards, so calling :func:`main` in-process
    (tests, notebooks) leaves the caller's logging as it was.
    """
    level = logging.ERROR if quiet else (logging.DEBUG if verbose else logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("vidseg: %(levelname)s: %(message)s"))
    root = logging.getLogger("vidseg")
    saved = (root.handlers[:], root.level, root.propagate)
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    try:
        yield
    finally:
        root.handlers[:], root.level, root.propagate = saved


@contextmanager
def _signals_stop(stop: threading.Event, received: list[int]) -> Iterator[None]:
    """SIGINT/SIGTERM set ``stop`` so the run finalises its outputs instead of dying."""

    def handler(signum: int, frame: FrameType | None) -> None:
        if received:  # a second signal: stop waiting for the clean finish
            raise KeyboardInterrupt
        received.append(signum)
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _convert(args: argparse.Namespace, cfg: Config, source_spec: str) -> int:
    # Imported here so `vidseg --help` and `vidseg config` start fast.
    import cv2

    from .apps.convert import convert

    cv2.setNumThreads(1)  # the runner's threads already keep both cores busy
    stop = threading.Event()
    received: list[int] = []
    try:
        with _signals_stop(stop, received):
            summary = convert(
                source_spec,
                args.output,
                cfg,
                stats=args.stats,
                labels=args.labels,
                labels_format=args.labels_format,
                overwrite=args.overwrite,
                stop=stop,
                demo_summary=args.command == "demo",
            )
    except SourceOpenError:
        if received:  # stopped while waiting for a live source to come up
            log.warning("stopped by %s before the input came up", signal.Signals(received[0]).name)
            return 128 + received[0]
        raise
    except SourceReadError as exc:  # the outputs hold everything read and are finalised
        log.warning("%s", exc)
        return 1
    if received and summary.live:
        log.info(
            "stopped by %s after %d frames; outputs finalised",
            signal.Signals(received[0]).name,
            summary.frames_out,
        )
        return 0
    if received:
        signum = received[0]
        log.warning(
            "stopped by %s after %d frames; partial outputs kept (see above)",
            signal.Signals(signum).name,
            summary.frames_out,
        )
        return 128 + signum
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``vidseg`` command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    with _logging_to_stderr(getattr(args, "verbose", 0), getattr(args, "quiet", False)):
        try:
            if args.command == "config":
                sys.stdout.write(render_defaults())
                return 0
            cfg = _config(args)
            return _convert(args, cfg, "demo" if args.command == "demo" else args.input)
        except (ConfigError, EncoderNotFoundError) as exc:
            print(f"vidseg: error: {exc}", file=sys.stderr)
            return 2
        except VidsegError as exc:
            print(f"vidseg: error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("vidseg: interrupted", file=sys.stderr)
            return 130
