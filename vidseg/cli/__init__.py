"""Command line: parse -> config -> run -> exit code.

One module per group of commands (``convert``: convert and demo; ``live``:
preview and serve; ``analysis``: analyze and report; ``batch``); each registers its
parser with ``set_defaults(run=...)``.  ``flags`` holds the options they share
and ``session`` what every run does around its app (config, logging, signals,
exit code).

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
import sys
from collections.abc import Sequence

from .. import __version__
from ..config import render_defaults
from ..errors import VidsegError
from ..exitcodes import ExitCode
from .analysis import add_analyze, add_report
from .batch import add_batch
from .convert import add_convert, add_demo
from .flags import EPILOG, Formatter
from .live import add_preview, add_serve
from .session import logging_to_stderr

__all__ = ["build_parser", "main"]


def _print_config(args: argparse.Namespace) -> int:
    sys.stdout.write(render_defaults())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``vidseg`` argument parser (one, shared by every command)."""
    parser = argparse.ArgumentParser(
        prog="vidseg",
        description="Real-time, temporally stable k-means video segmentation.",
        epilog=EPILOG,
        formatter_class=Formatter,
    )
    parser.add_argument("--version", action="version", version=f"vidseg {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_convert(sub)
    add_demo(sub)
    config = sub.add_parser("config", help="print the default configuration (config.yaml)")
    config.set_defaults(run=_print_config)
    add_serve(sub)
    add_report(sub)
    add_preview(sub)
    add_analyze(sub)
    add_batch(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``vidseg`` command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    with logging_to_stderr(getattr(args, "verbose", 0), getattr(args, "quiet", False)):
        try:
            return int(args.run(args))
        except VidsegError as exc:
            print(f"vidseg: error: {exc}", file=sys.stderr)
            return int(exc.exit_code)
        except KeyboardInterrupt:
            print("vidseg: interrupted", file=sys.stderr)
            return ExitCode.SIGINT
