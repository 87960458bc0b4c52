"""``vidseg analyze`` (zones, maps, events) and ``vidseg report`` (the HTML report)."""

from __future__ import annotations

import argparse
import logging
import threading
from pathlib import Path

from .flags import add_common, add_serve_flags, add_verbosity, add_window_flags
from .session import config_of, exit_code, opencv_for_run, signals_stop, window_if_asked

__all__ = ["add_analyze", "add_report"]

log = logging.getLogger("vidseg")


def add_analyze(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``vidseg analyze``."""
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
    add_common(analyze)
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
    add_serve_flags(analyze)
    add_window_flags(analyze, watch=True)
    analyze.set_defaults(run=_run_analyze)


def _run_analyze(args: argparse.Namespace) -> int:
    from ..apps.analyze import analyze

    cfg = config_of(args)
    opencv_for_run(args.verbose)
    window = window_if_asked(args)
    stop = threading.Event()
    received: list[int] = []
    with signals_stop(stop, received):
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
    return exit_code(received, summary)


def add_report(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``vidseg report``."""
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
    add_verbosity(report, opencv=False)
    report.set_defaults(run=_run_report)


def _run_report(args: argparse.Namespace) -> int:
    # Imported here so `vidseg --help` does not load matplotlib.
    from ..report import find_events, make_report

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
