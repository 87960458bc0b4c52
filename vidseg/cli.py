"""Command line: parse -> config -> run -> exit code.

Exit codes are one table, :class:`vidseg.exitcodes.ExitCode`: 0 success; 1
runtime failure (unreadable or corrupt input, no camera, output cannot be
written); 2 bad usage or configuration (unknown flag or config key, value out
of range, unknown codec, unsupported container, codec/container mismatch,
existing output); 130 / 143 stopped by SIGINT / SIGTERM after finalising what
was written (a file input's output is then incomplete and kept under its
partial name).  Errors map to codes by type (``VidsegError.exit_code``).  A
live input (camera, stream) has no end of its own: SIGINT / SIGTERM is how its
run ends, every output is finalised under its real name and the exit code is 0.
An input that ends early (truncated file, stream lost for good) is finalised
under its name with one WARNING and exit 1.

Nothing heavy is imported at module level: ``--help`` and ``config`` answer
without loading NumPy, OpenCV, PyAV or the engine.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from . import __version__
from .config import Config, field_specs, load_config, render_defaults
from .errors import SourceOpenError, SourceReadError, VidsegError
from .exitcodes import EXIT_CODES_HELP, ExitCode

if TYPE_CHECKING:
    from .io.display import Screen
    from .summary import RunSummary

__all__ = ["build_parser", "main"]

log = logging.getLogger("vidseg")

# Short aliases for the flags people type most.
_ALIASES = {"n_clusters": ["--k"]}

_EXAMPLES = """\
examples:
  vidseg convert input.mp4 out.mp4 --k 8 --stats stats.csv   # a file, with statistics
  vidseg convert 0 cam.mp4 --live-pacing throughput          # webcam 0, more fps
  ffmpeg -i in.mkv -f mpegts - | vidseg convert - out.webm   # standard input, VP9 output
  vidseg config > my.yaml && vidseg convert in.mp4 out.mp4 --config my.yaml
"""
_EPILOG = _EXAMPLES + "\n" + EXIT_CODES_HELP


class _Formatter(argparse.HelpFormatter):
    """Wraps descriptions; keeps the examples and the exit-code table as laid out."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith(("examples:", "exit codes:")):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


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
        limits = f"{meta['lo']}..{meta['hi']}, " if meta["lo"] is not None else ""
        help_text = meta["help"].replace("%", "%%") + f" ({limits}default: {f.default})"
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
            # argparse lists the choices as the metavar: {recolor,palette,...}
            metavar=None if meta["choices"] else f.name.upper(),
            help=help_text,
        )


def build_parser() -> argparse.ArgumentParser:
    """The ``vidseg`` argument parser (one, shared by every command)."""
    parser = argparse.ArgumentParser(
        prog="vidseg",
        description="Real-time, temporally stable k-means video segmentation.",
        epilog=_EPILOG,
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"vidseg {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "-v",
            "--verbose",
            action="count",
            default=0,
            help="debug log output (-vv: OpenCV's too)",
        )
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
        p.add_argument(
            "--palette",
            type=Path,
            metavar="FILE",
            help="start from a palette saved by --save-palette (same k and colour space): "
            "cluster ids and colours mean the same across runs",
        )
        p.add_argument(
            "--save-palette",
            type=Path,
            metavar="FILE",
            help="write the final palette (cluster centres by id) as JSON",
        )
        p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
        _add_config_flags(p)

    convert = sub.add_parser(
        "convert",
        help="segment a video, camera, stream or image sequence into a video",
        description="Segment INPUT (video file, camera index such as 0, rtsp/http URL, "
        "image directory or glob, '-' or 'pipe:' for standard input, or 'demo') into "
        "OUTPUT (H.264; VP9 for .webm).",
        epilog=_EPILOG,
        formatter_class=_Formatter,
    )
    convert.add_argument(
        "input", help="video file, camera index, stream URL, images, - (stdin), or demo"
    )
    convert.add_argument("output", type=Path, help="output video (.mp4 .mkv .mov .webm .avi)")
    common(convert)
    _add_serve_flags(convert)
    _add_window_flags(convert, watch=True)

    demo = sub.add_parser(
        "demo",
        help="segment the built-in clip (a pan over a real photo); no camera needed",
        description="Segment the built-in demo clip and write the video, a per-cluster "
        "statistics CSV and a summary of the cluster areas.",
        epilog=EXIT_CODES_HELP,
        formatter_class=_Formatter,
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
    _add_serve(sub)
    _add_report(sub)
    _add_preview(sub, common)
    _add_analyze(sub, common)
    _add_batch(sub)
    return parser


def _add_serve_flags(p: argparse.ArgumentParser) -> None:
    """``--serve [HOST:]PORT`` and ``--token``: show the run on the web page while it goes."""
    p.add_argument(
        "--serve",
        metavar="[HOST:]PORT",
        help="show the run on a web page with live controls (host default 127.0.0.1)",
    )
    p.add_argument(
        "--token",
        help="access token of the web page; required (generated and printed once when "
        "not given) for any host other than 127.0.0.1, ::1 or localhost",
    )


def _add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    serve.add_argument("-v", "--verbose", action="count", default=0, help="debug log output")
    serve.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr")
    serve.add_argument("--config", type=Path, help="YAML config file (see config.yaml)")
    _add_config_flags(serve)


def _run_serve(args: argparse.Namespace, cfg: Config) -> int:
    from .apps.serve import serve

    _opencv_for_run(args.verbose)
    stop = threading.Event()
    received: list[int] = []
    with _signals_stop(stop, received):
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


def _add_report(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    report = sub.add_parser(
        "report",
        help="write a self-contained HTML report of a run's statistics, maps and events",
        description="Write one HTML file (figures embedded, opens offline) plus its PNGs in "
        "<name>_files/ from STATS (the .csv / .ndjson of vidseg convert --stats or vidseg "
        "analyze); STATS's maps (<stem>.maps.npz) are drawn when present.",
    )
    report.add_argument("stats", type=Path, metavar="STATS", help="stats file (.csv, .ndjson)")
    report.add_argument(
        "--events",
        type=Path,
        metavar="FILE",
        help="events file (default: events.ndjson next to STATS, if there is one)",
    )
    report.add_argument(
        "-o", "--output", type=Path, required=True, metavar="HTML", help="report page (.html)"
    )
    report.add_argument("--overwrite", action="store_true", help="replace an existing report")
    report.add_argument("-v", "--verbose", action="count", default=0, help="debug log output")
    report.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr")


def _run_report(args: argparse.Namespace) -> int:
    # Imported here so `vidseg --help` does not load matplotlib.
    from .report import find_events, make_report

    events = args.events
    if events is None:
        events = find_events(args.stats)
        if events is not None:
            log.info("using the events file next to the stats file: %s", events)
    summary = make_report(args.stats, events=events, output=args.output, overwrite=args.overwrite)
    log.info(
        "report: %d frames, %d events, %d figures -> %s (%.1f s)",
        summary.frames,
        summary.events,
        len(summary.files),
        summary.html,
        summary.seconds,
    )
    return 0


def _add_window_flags(p: argparse.ArgumentParser, *, watch: bool) -> None:
    """The preview window's flags; ``watch`` adds ``--preview`` (commands that write files)."""
    if watch:
        p.add_argument(
            "--preview",
            action="store_true",
            help="watch in a window while writing (keys as in `vidseg preview`)",
        )
    p.add_argument(
        "--snapshots",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="where the s key writes snapshots (default: current directory)",
    )


def _add_preview(
    sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]
) -> None:
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
    common(p)
    _add_window_flags(p, watch=False)


def _run_preview(args: argparse.Namespace, cfg: Config) -> int:
    from .io.display import check_display

    screen = check_display()  # before any window: without X the first imshow aborts
    from .apps.preview import preview

    _opencv_for_run(args.verbose)
    stop = threading.Event()
    received: list[int] = []
    with _signals_stop(stop, received):
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


def _add_analyze(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    analyze = sub.add_parser(
        "analyze",
        help="zone statistics, activity maps and events of a video, camera or stream",
        description="Segment SOURCE without encoding video: per-zone statistics (zones "
        "and masks in the config's analysis section), ownership and activity maps "
        "(<stats stem>.maps.npz), events from the rules, and an optional report.",
    )
    analyze.add_argument(
        "input", metavar="SOURCE", help="video file, camera index, stream URL, images, or demo"
    )
    common(analyze)
    analyze.add_argument(
        "--events",
        type=Path,
        metavar="FILE",
        help="events file (NDJSON) when rules are configured (default: events.ndjson "
        "next to the stats file, else in the working directory)",
    )
    analyze.add_argument(
        "--report", type=Path, metavar="FILE", help="HTML report at the end (needs --stats)"
    )
    _add_serve_flags(analyze)
    _add_window_flags(analyze, watch=True)


def _run_analyze(args: argparse.Namespace, cfg: Config) -> int:
    from .apps.analyze import analyze

    _opencv_for_run(args.verbose)
    window = _window_if_asked(args)
    stop = threading.Event()
    received: list[int] = []
    with _signals_stop(stop, received):
        summary = analyze(
            args.input,
            cfg,
            window=window,
            snapshots=args.snapshots,
            stats=args.stats,
            events=args.events,
            report=args.report,
            serve=args.serve,
            token=args.token,
            labels=args.labels,
            labels_format=args.labels_format,
            overwrite=args.overwrite,
            stop=stop,
        )
    return _exit_code(received, summary)


def _add_batch(sub: Any) -> None:
    batch = sub.add_parser(
        "batch",
        help="convert (and analyse) many videos on a Dask cluster, resumably",
        description="Convert every video INPUTS name (files, directories searched "
        "recursively, globs) into DIR, one folder per input, on a local Dask cluster "
        "(loopback only, one worker process per core) or on the one --scheduler names.  "
        "DIR/manifest.json records what is done: a rerun skips it and redoes what changed.",
        epilog="examples:\n"
        "  vidseg batch archive/ --out segmented/             # local cluster\n"
        "  dask scheduler --host 127.0.0.1 --port 8786 &\n"
        "  dask worker tcp://127.0.0.1:8786 --nworkers 2 --nthreads 1 --host 127.0.0.1 &\n"
        "  vidseg batch 'cams/*/*.mp4' --out seg/ --scheduler tcp://127.0.0.1:8786\n",
        formatter_class=_Formatter,
    )
    batch.add_argument("inputs", nargs="+", metavar="INPUTS", help="files, directories, globs")
    batch.add_argument("--out", type=Path, required=True, metavar="DIR", help="output directory")
    batch.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a running Dask scheduler (tcp://host:8786); default: a local cluster",
    )
    batch.add_argument(
        "--workers", type=int, metavar="N", help="local worker processes (default: the cores)"
    )
    batch.add_argument(
        "--analyze",
        action="store_true",
        help="also what `vidseg analyze` gives (implied by an analysis section in the config)",
    )
    batch.add_argument(
        "--labels",
        choices=("png", "npz"),
        metavar="FORMAT",
        help="also write label maps (png or npz) into each input's labels/ folder",
    )
    batch.add_argument(
        "--overwrite", action="store_true", help="redo every input, also those already done"
    )
    batch.add_argument("-v", "--verbose", action="count", default=0, help="debug log output")
    batch.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr")
    batch.add_argument("--config", type=Path, help="YAML config file (see config.yaml)")
    _add_config_flags(batch)


def _run_batch(args: argparse.Namespace, cfg: Config) -> int:
    from .apps.batch import BatchOptions, batch, log_summary
    from .dist.cluster import ClusterConfig

    opts = BatchOptions(
        inputs=args.inputs,
        out=args.out,
        cluster=ClusterConfig(scheduler=args.scheduler, workers=args.workers),
        analyze=args.analyze,
        labels_format=args.labels,
        overwrite=args.overwrite,
        progress=cfg.run.progress and not args.quiet,
    )
    stop = threading.Event()
    received: list[int] = []
    with _signals_stop(stop, received):
        report = batch(opts, cfg, stop=stop)
    log_summary(report)
    if received:
        return 128 + received[0]
    return 1 if report.failed else 0


def _config(args: argparse.Namespace) -> Config:
    cfg = load_config(args.config)
    overrides = {
        f.name: getattr(args, f.name)
        for _, f in field_specs()
        if getattr(args, f.name, None) is not None
    }
    return cfg.with_overrides(overrides)


class _WordsFormatter(logging.Formatter):
    """``vidseg: message`` for information, ``vidseg: warning: message`` otherwise."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if record.levelno == logging.INFO:
            return f"vidseg: {text}"
        return f"vidseg: {record.levelname.lower()}: {text}"


@contextmanager
def _logging_to_stderr(verbose: int, quiet: bool) -> Iterator[None]:
    """Send vidseg's log records to stderr for the duration of one command.

    The previous state is restored afterwards, so calling :func:`main` in-process
    (tests, notebooks) leaves the caller's logging as it was.
    """
    level = logging.ERROR if quiet else (logging.DEBUG if verbose else logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_WordsFormatter())
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


def _exit_code(received: list[int], summary: RunSummary) -> int:
    """0, or 128 + the signal that stopped a file's run (logged with what was kept).

    A live input has no end of its own: a signal is how its run ends, its outputs
    are finalised under their names, and that is success.
    """
    if not received:
        return 0
    signum = received[0]
    name = signal.Signals(signum).name
    if summary.live:
        log.info("stopped by %s after %d frames; outputs finalised", name, summary.frames_out)
        return 0
    log.warning(
        "stopped by %s after %d frames; partial outputs kept (see above)", name, summary.frames_out
    )
    return 128 + signum


def _quiet_opencv(cv2: Any, verbose: int) -> None:
    """Keep OpenCV's own ``[ WARN]`` / ``[ERROR]`` lines off the terminal.

    vidseg reports what went wrong once, in its own words (a missing camera made
    OpenCV print 15 lines first).  ``-vv`` or an ``OPENCV_LOG_LEVEL`` set by the
    user keeps them.
    """
    if verbose < 2 and "OPENCV_LOG_LEVEL" not in os.environ:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


def _opencv_for_run(verbose: int) -> None:
    """OpenCV as every run command wants it: one thread, its own warnings silenced.

    The runner's threads already keep both cores busy; OpenCV is imported here,
    not at module level, so ``--help`` stays fast.
    """
    import cv2

    cv2.setNumThreads(1)
    _quiet_opencv(cv2, verbose)


def _window_if_asked(args: argparse.Namespace) -> Screen | None:
    """The screen for ``--preview``, checked before any window (without X the first
    ``imshow`` aborts the process); None without ``--preview``."""
    if not getattr(args, "preview", False):
        return None
    from .io.display import check_display

    return check_display()


def _convert(args: argparse.Namespace, cfg: Config, source_spec: str) -> int:
    # Imported here so `vidseg --help` and `vidseg config` start fast.
    from .apps.convert import convert

    _opencv_for_run(args.verbose)
    window = _window_if_asked(args)
    stop = threading.Event()
    received: list[int] = []
    try:
        with _signals_stop(stop, received):
            summary = convert(
                source_spec,
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
    return _exit_code(received, summary)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``vidseg`` command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    with _logging_to_stderr(getattr(args, "verbose", 0), getattr(args, "quiet", False)):
        try:
            if args.command == "config":
                sys.stdout.write(render_defaults())
                return 0
            if args.command == "report":
                return _run_report(args)
            cfg = _config(args)
            if args.command == "serve":
                return _run_serve(args, cfg)
            if args.command == "preview":
                return _run_preview(args, cfg)
            if args.command == "analyze":
                return _run_analyze(args, cfg)
            if args.command == "batch":
                return _run_batch(args, cfg)
            return _convert(args, cfg, "demo" if args.command == "demo" else args.input)
        except VidsegError as exc:
            print(f"vidseg: error: {exc}", file=sys.stderr)
            return int(exc.exit_code)
        except KeyboardInterrupt:
            print("vidseg: interrupted", file=sys.stderr)
            return ExitCode.SIGINT
