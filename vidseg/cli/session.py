"""What every run command does around its app: config, logging, signals, exit code."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

from ..config import Config, field_specs, load_config

if TYPE_CHECKING:
    from ..io.display import Screen
    from ..summary import RunSummary

__all__ = [
    "config_of",
    "exit_code",
    "logging_to_stderr",
    "opencv_for_run",
    "signals_stop",
    "window_if_asked",
]

log = logging.getLogger("vidseg")


def config_of(args: argparse.Namespace) -> Config:
    """The config file (or the defaults) with the command line's flags applied."""
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
def logging_to_stderr(verbose: int, quiet: bool) -> Iterator[None]:
    """Send vidseg's log records to stderr for the duration of one command.

    The previous state is restored afterwards, so calling :func:`vidseg.cli.main`
    in-process (tests, notebooks) leaves the caller's logging as it was.
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
def signals_stop(stop: threading.Event, received: list[int]) -> Iterator[None]:
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


def exit_code(received: list[int], summary: RunSummary) -> int:
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


def opencv_for_run(verbose: int) -> None:
    """OpenCV as every run command wants it: one thread, its own warnings silenced.

    The runner's threads already keep both cores busy; OpenCV is imported here,
    not at module level, so ``--help`` stays fast.
    """
    import cv2

    cv2.setNumThreads(1)
    _quiet_opencv(cv2, verbose)


def window_if_asked(args: argparse.Namespace) -> Screen | None:
    """The screen for ``--preview``, checked before any window (without X the first
    ``imshow`` aborts the process); None without ``--preview``."""
    if not getattr(args, "preview", False):
        return None
    from ..io.display import check_display

    return check_display()
